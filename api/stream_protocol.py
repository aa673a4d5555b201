"""The WebSocket stream's first message and its ways of ending (``api.routes.stream``).

:class:`StreamClose` ends a stream with an error message and a close code;
:func:`start_message` parses the first text message (the token, or a JSON ``start``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError

from api.schemas.stream import StreamStart

__all__ = ["REASON_BYTES", "StreamClose", "bearer_token", "model_failure", "start_message"]

logger = logging.getLogger("api.routes.stream")

#: Bytes of a close frame's reason (RFC 6455: 125 bytes of payload less the code).
REASON_BYTES = 123


class StreamClose(Exception):
    """End the stream: an error message (unless ``code`` is None), then the close."""

    def __init__(self, close_code: int, code: str | None = None, message: str = "") -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message



def model_failure(error: Exception) -> StreamClose:
    """The close for a failed model call: the gateway's ``LookupError`` and
    ``RuntimeError`` carry messages safe for users; anything else is logged."""
    if isinstance(error, (LookupError, RuntimeError)) and str(error):
        return StreamClose(1011, "model_error", str(error))
    logger.error("Live transcription: the model call failed", exc_info=error)
    return StreamClose(1011, "model_error", "The model failed")


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def start_message(text: str | None) -> dict[str, Any]:
    """The fields of a first text message: JSON :class:`StreamStart` (or
    ``{"type": "finalize"}``), or a bare token."""
    if text is None:
        raise StreamClose(1008, "unauthorized", "Send the access token as the first text message")
    text = text.strip()
    if not text.startswith("{"):
        return {"token": text}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise StreamClose(1003, "bad_request", "The message is not valid JSON") from None
    if not isinstance(data, dict):
        raise StreamClose(1003, "bad_request", "The message is not a JSON object")
    if data.get("type") == "finalize":
        return {"type": "finalize"}
    try:
        start = StreamStart.model_validate(data)
    except ValidationError as error:
        issue = error.errors()[0]
        where = ".".join(str(part) for part in issue["loc"])
        raise StreamClose(1008, "bad_request", f"{where}: {issue['msg']}") from None
    return start.model_dump(exclude_unset=True)
