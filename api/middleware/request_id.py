"""``X-Request-ID``: a trace id for every request, echoed in every response.

A client's ``X-Request-ID`` is kept when it is a plausible id (1-128 characters of
letters, digits and ``-_.:``); otherwise, or when absent, a new UUID4 is generated.
The id is put in ``scope["state"]`` (``request.state.trace_id``: tasks record it, so
the request archive can find them by it) and in the response headers of every
answer, errors, 413s and 429s of the other middleware included (it is the outermost).
"""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HEADER", "RequestIdMiddleware", "trace_id_of"]

HEADER = "X-Request-ID"
_STATE_KEY = "trace_id"
# No spaces or control characters: the id is logged and echoed in a header.
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def trace_id_of(scope: Scope) -> str | None:
    """The request's trace id (set by :class:`RequestIdMiddleware`), if any."""
    return scope.get("state", {}).get(_STATE_KEY)


class RequestIdMiddleware:
    """Pure ASGI middleware giving each HTTP request and WebSocket a trace id.

    Args:
        app: The app.
        echo: Put the id in the response headers. Off behind Ray Serve's HTTP proxy,
            which already sends every request on with an ``X-Request-ID`` (the
            client's, or one it generated) and echoes it in the response: a second
            copy would make the header a list.
    """

    def __init__(self, app: ASGIApp, echo: bool = True) -> None:
        self.app = app
        self.echo = echo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER)
        trace_id = given if given is not None and _VALID.fullmatch(given) else str(uuid.uuid4())
        scope.setdefault("state", {})[_STATE_KEY] = trace_id
        if not self.echo:
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = trace_id
            await send(message)

        await self.app(scope, receive, send_with_id)
