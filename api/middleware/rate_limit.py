"""Rate limiting of the v1 API: which group a request is in, whose budget it uses.

Pure ASGI middleware (no ``BaseHTTPMiddleware``, so streamed uploads are not
buffered) in front of the routes; the counting is ``core.stores.rate_limits`` (Redis, so the
limits hold across ingress replicas). A refused request gets 429 with the API's
error shape ``{"detail": "..."}`` and ``Retry-After`` in whole seconds (RFC 9110
section 10.2.3); limited responses carry ``X-RateLimit-Limit`` (requests per
window), ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (seconds from now until
the limit has room again).

Groups (method + path of the route; see :func:`route_group`):

* ``auth``: non-GET requests under ``/v1/auth/`` (register, token, refresh, revoke),
  always per client address;
* ``upload``: ``POST .../upload`` and ``.../upload_url``; ``task``: ``POST .../task``
  and ``POST /v1/audio/transcriptions`` (each creates a task);
* ``read``: every other request;
* never limited: ``/v1/health/*``, ``/docs``, ``/redoc``, ``/openapi.json``, the web
  page ``/`` and its files ``/static/*``.

``upload``, ``task`` and ``read`` count per user, the user being the subject of a
*verified* access token; without a valid token they count per client address (the
route answers 401 anyway).

Client address: the connection's peer (``scope["client"]``). ``X-Forwarded-For`` is
used only when the peer is one of ``Settings.trusted_proxies``, through uvicorn's
``ProxyHeadersMiddleware`` (right-most address not in the trusted list), so a client
cannot pick its own address, get a fresh budget per request, or spend someone
else's. One more guard covers Ray Serve's HTTP proxy, which runs uvicorn with its
default ``FORWARDED_ALLOW_IPS`` (``127.0.0.1,::1``) and so rewrites the peer of
loopback connections from the client's own ``X-Forwarded-For`` before this app sees
it: with no trusted proxy configured, a request whose peer address is listed in its
own ``X-Forwarded-For`` is counted in one shared ``forwarded:unverified`` budget.
Set ``FORWARDED_ALLOW_IPS=""`` where Ray starts (``docs/operations.md``).
"""

from __future__ import annotations

import logging
import math
import time

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.deps import token_subject
from api.services import Services
from api.settings import Settings
from core.stores.rate_limits import (
    AUTH,
    FAILURE_LOG_INTERVAL_S,
    READ,
    TASK,
    UPLOAD,
    Decision,
    RateLimiter,
)

__all__ = [
    "UNVERIFIED_FORWARDED",
    "RateLimitMiddleware",
    "client_identity",
    "install_rate_limiting",
    "limits_from_settings",
    "route_group",
]

logger = logging.getLogger(__name__)

#: Paths never limited: probes must work when a client is throttled, and the docs,
#: the web page and its files (``api.routes.web``) are static.
EXEMPT_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/"})
EXEMPT_PREFIXES = ("/v1/health/", "/static/")
AUTH_PREFIX = "/v1/auth/"
#: The one budget of requests whose client address was possibly taken from a
#: client-supplied ``X-Forwarded-For`` by a server in front (see the module doc).
UNVERIFIED_FORWARDED = "forwarded:unverified"


def limits_from_settings(settings: Settings) -> dict[str, str]:
    """Group name -> limit string, from ``Settings.rate_limit_*``."""
    return {
        AUTH: settings.rate_limit_auth,
        UPLOAD: settings.rate_limit_upload,
        TASK: settings.rate_limit_task,
        READ: settings.rate_limit_read,
    }


def route_group(method: str, path: str) -> str | None:
    """The rate-limit group of a request, or None when it is never limited.

    Args:
        method: HTTP method, upper case.
        path: The route path (without the ASGI ``root_path``).
    """
    path = path.rstrip("/") or "/"
    if path in EXEMPT_PATHS or f"{path}/".startswith(EXEMPT_PREFIXES):
        return None
    if path.startswith(AUTH_PREFIX) and method != "GET":
        return AUTH
    if method == "POST" and path.endswith(("/upload", "/upload_url")):
        return UPLOAD
    if method == "POST" and path.endswith(("/task", "/audio/transcriptions")):
        return TASK
    return READ


def _lists_address(forwarded_for: list[str], host: str) -> bool:
    """Whether ``host`` is one of the ``X-Forwarded-For`` entries (maybe with a port)."""
    for value in forwarded_for:
        for entry in value.split(","):
            entry = entry.strip()
            if entry in (host, f"[{host}]") or entry.startswith((f"{host}:", f"[{host}]:")):
                return True
    return False


def client_identity(scope: Scope, trusts_proxies: bool) -> str:
    """The budget of an anonymous request: ``ip:<address>`` of its client.

    Args:
        scope: The ASGI scope, after ``ProxyHeadersMiddleware`` (if any) has run.
        trusts_proxies: Whether ``Settings.trusted_proxies`` is set. When it is not,
            a peer address that its own ``X-Forwarded-For`` lists was likely set by
            uvicorn from that header, so the request gets :data:`UNVERIFIED_FORWARDED`.
    """
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if not trusts_proxies:
        forwarded_for = Headers(scope=scope).getlist("x-forwarded-for")
        if forwarded_for and _lists_address(forwarded_for, host):
            return UNVERIFIED_FORWARDED
    return f"ip:{host}"


class RateLimitMiddleware:
    """Counts each limited request and answers 429 once a budget is spent.

    Failing open: when Redis is unreachable ``core.stores.rate_limits`` lets requests through
    (logged as a warning); any other error of the limiter does too (logged with its
    traceback), so the limiter never turns a request into a 500.

    Args:
        app: The wrapped ASGI app.
        services: Settings (limits, trusted proxies), Redis and the token secret.
        limiter: The limiter to use; by default one on ``services.redis`` with the
            limits of ``services.settings``, made at the first limited request.
    """

    def __init__(self, app: ASGIApp, services: Services, limiter: RateLimiter | None = None):
        self.app = app
        self._services = services
        self._limiter = limiter
        self._trusts_proxies = bool(services.settings.trusted_proxies)
        self._warned_unverified = False
        self._last_error_log: float | None = None

    @property
    def limiter(self) -> RateLimiter:
        if self._limiter is None:
            settings = self._services.settings
            self._limiter = RateLimiter(
                self._services.redis, settings.key_prefix, limits_from_settings(settings)
            )
        return self._limiter

    def identity(self, scope: Scope, group: str) -> str:
        """Whose budget a request uses: its user (verified token) or its client address."""
        if group != AUTH:
            authorization = Headers(scope=scope).get("authorization", "")
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                username = token_subject(scope, token.strip(), self._services)
                if username is not None:
                    return f"user:{username}"
        identity = client_identity(scope, self._trusts_proxies)
        if identity == UNVERIFIED_FORWARDED and not self._warned_unverified:
            self._warned_unverified = True
            logger.warning(
                "A request's client address is listed in its own X-Forwarded-For: the "
                "server in front (Ray Serve's HTTP proxy, uvicorn) probably took it from "
                "that client-supplied header. Such requests share one rate-limit budget. "
                "Set FORWARDED_ALLOW_IPS='' where Ray starts (docs/operations.md)."
            )
        return identity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        group = route_group(scope.get("method", "GET"), path)
        if group is None:
            await self.app(scope, receive, send)
            return
        try:
            decision = await self.limiter.hit(group, self.identity(scope, group))
        except Exception:
            self._log_error()
            await self.app(scope, receive, send)
            return
        if not decision.enforced:
            await self.app(scope, receive, send)
            return
        headers = _headers(decision)
        if not decision.allowed:
            headers["Retry-After"] = str(decision.retry_after_s)
            response = JSONResponse(
                {
                    "detail": f"Too many {group} requests: limit is {decision.limit} per "
                    f"window; retry after {decision.retry_after_s} s"
                },
                status_code=429,
                headers=headers,
            )
            await response(scope, receive, send)
            return
        raw = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *raw]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _log_error(self) -> None:
        now = time.monotonic()
        if self._last_error_log is None or now - self._last_error_log >= FAILURE_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.exception("Rate limiting failed; the request is let through")


def _headers(decision: Decision) -> dict[str, str]:
    reset_in = max(0, math.ceil(decision.reset - time.time()))
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(reset_in),
    }


def install_rate_limiting(app: FastAPI, services: Services) -> None:
    """Add trusted-proxy handling and (unless disabled) rate limiting to ``app``.

    Call before adding middleware that must see every response, 429s included (the
    last added middleware is the outermost).
    """
    settings = services.settings
    if settings.rate_limit_enabled:
        app.add_middleware(RateLimitMiddleware, services=services)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
