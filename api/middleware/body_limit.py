"""Size limits on what a request may carry: body bytes, multipart parts, text words.

* :class:`BodySizeLimitMiddleware` caps the bytes of every request body, per route,
  while the body streams in (413).
* :data:`UPLOAD_FORM_LIMITS` caps the parts of an upload's multipart form (400);
  FastAPI's own ``form_limits`` route option enforces it during parsing.
* :func:`require_words_within` caps the words of client-supplied texts (422).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import Settings

__all__ = [
    "MULTIPART_OVERHEAD_BYTES",
    "UPLOAD_FORM_LIMITS",
    "UPLOAD_ROUTES",
    "BodyLimit",
    "BodySizeLimitMiddleware",
    "install_body_limits",
    "require_words_within",
]

logger = logging.getLogger(__name__)

#: Bytes an upload's body may carry beyond the file itself: the multipart boundaries
#: and part headers (a few hundred bytes, plus the client's file name, which may be
#: long). The file itself is still held to ``max_upload_bytes`` exactly when stored.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

#: Names of the upload routes (their endpoint functions).
UPLOAD_ROUTES = ("upload_audio_file", "upload_image", "create_transcription")

#: Multipart limits of the upload routes (``form_limits=`` of the route): the one file
#: ``upload_file``, a few stray text fields at most, each at most 64 KiB. Starlette
#: stops parsing at the first part over a limit and FastAPI answers 400 with its
#: message, e.g. "Too many files. Maximum number of files is 1.".
UPLOAD_FORM_LIMITS = {"max_files": 1, "max_fields": 8, "max_part_size": 64 * 1024}


@dataclass(frozen=True)
class BodyLimit:
    """The most bytes a request body may have, and the 413 ``detail`` past it."""

    max_bytes: int
    detail: str


class _BodyTooLarge(Exception):
    """Raised from ``receive`` into the app when the body passes its limit."""


class BodySizeLimitMiddleware:
    """Refuses request bodies over a per-route byte limit with 413 ``{"detail": ...}``.

    Pure ASGI (no ``BaseHTTPMiddleware``), so nothing is buffered here:

    * A ``Content-Length`` over the limit is refused before the app runs and before
      any byte of the body is read (with ``Expect: 100-continue`` the client is not
      even asked to send it).
    * Otherwise (chunked bodies, or a client sending more than it declared) bytes are
      counted as the app receives them. The first chunk past the limit makes
      ``receive`` raise inside the app, which stops whatever was reading the body
      (e.g. the multipart parser spooling an upload); the app's reaction to that
      (FastAPI answers 400 "There was an error parsing the body") is discarded and
      the 413 sent instead.

    Routes are matched on the exact path (without the ASGI ``root_path``).

    NOTE: Starlette's ``RequestBodyLimitMiddleware`` (route ``max_body_size``) is not
    used: it answers ``text/plain`` "Content Too Large" instead of the API's one
    error body, takes its limits when routes are declared (at import, before
    ``Settings`` are read), and lets the app start before refusing a declared size.

    Args:
        app: The ASGI app to guard.
        default: Limit of every path not in ``routes``.
        routes: Limits of particular paths, e.g. the upload routes.
    """

    def __init__(
        self, app: ASGIApp, default: BodyLimit, routes: Mapping[str, BodyLimit] | None = None
    ) -> None:
        self.app = app
        self.default = default
        self.routes = dict(routes or {})

    def limit_for(self, scope: Scope) -> BodyLimit:
        """The limit of the request's path."""
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
        return self.routes.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit.max_bytes:
            await _refuse(limit, scope, receive, send)
            return

        received = 0
        response_started = False
        cut_off = False  # the body passed the limit before any response was sent

        async def limited_receive() -> Message:
            nonlocal received, cut_off
            if cut_off:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    cut_off = not response_started
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if cut_off:
                return  # the app's reaction to the cut-off body; the 413 replaces it
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not cut_off:
                raise
            # _BodyTooLarge itself, or whatever the app made of it (maybe grouped).
            logger.debug("Request body over %d bytes cut off", limit.max_bytes, exc_info=True)
        if cut_off:
            await _refuse(limit, scope, receive, send)


def install_body_limits(app: FastAPI, settings: Settings) -> None:
    """Add :class:`BodySizeLimitMiddleware` to ``app`` (call after its routes are in).

    Uploads may carry ``settings.max_upload_bytes`` plus
    :data:`MULTIPART_OVERHEAD_BYTES`; every other body ``settings.max_body_bytes``.
    """
    upload = BodyLimit(
        settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        f"The file is larger than the limit of {settings.max_upload_bytes} bytes",
    )
    other = BodyLimit(
        settings.max_body_bytes,
        f"The request body is larger than the limit of {settings.max_body_bytes} bytes",
    )
    routes = {app.url_path_for(name): upload for name in UPLOAD_ROUTES}
    app.add_middleware(BodySizeLimitMiddleware, default=other, routes=routes)


def _content_length(scope: Scope) -> int | None:
    """The declared body size in bytes; None if absent or malformed (the server
    refuses malformed ones itself)."""
    value = Headers(scope=scope).get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


async def _refuse(limit: BodyLimit, scope: Scope, receive: Receive, send: Send) -> None:
    # "Connection: close": the server need not read (and discard) the rest of the body.
    response = JSONResponse(
        {"detail": limit.detail},
        413,
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)


def require_words_within(texts: Iterable[str], max_words: int, what: str) -> None:
    """Refuse client-supplied text longer than ``max_words`` words.

    Words are whitespace-separated runs of characters, counted over all of ``texts``.

    Args:
        texts: The strings of the request (e.g. the items of ``text`` or ``phrases``).
        max_words: Most words accepted.
        what: Subject and verb of the message, e.g. ``"The text is"``.

    Raises:
        HTTPException: 422 "{what} too long: N words (maximum M words)".
    """
    words = sum(len(text.split()) for text in texts)
    if words > max_words:
        raise HTTPException(
            422,
            f"{what} too long: {words} words (maximum {max_words} words)",
        )
