"""The FastAPI application of the v1 API, built around injected services."""

from __future__ import annotations

import re
import time

from fastapi import APIRouter, FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.error_handlers import install_error_handlers
from api.middleware.body_limit import install_body_limits
from api.middleware.rate_limit import install_rate_limiting
from api.openapi import install_shared_responses
from api.routes import audio, auth, comparison, health, image, task
from api.services import Services
from serve_app.metrics import Metrics, NullMetrics

__all__ = ["RequestMetricsMiddleware", "create_app"]

DESCRIPTION = """Checks a person's reading aloud. Upload a photo of a page and a recording
of reading it, create a comparison task, poll its status, and get back which words
were misread, skipped or added, with their time in the recording."""


class RequestMetricsMiddleware:
    """Counts responses by route template, method and status, and times them.

    Pure ASGI (no ``BaseHTTPMiddleware``) so streamed uploads are not buffered. The
    route label is a path template of the API (``/v1/task/status``), never the raw
    path, so ids and junk URLs cannot blow up the number of series; other paths are
    labelled ``unmatched``. Templates come from the OpenAPI schema, which does not
    depend on how FastAPI nests routers internally.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, api: FastAPI) -> None:
        self.app = app
        self.metrics = metrics
        self._api = api
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def template(self, path: str) -> str:
        """The API path template matching ``path``, or ``"unmatched"``."""
        if self._templates is None:
            paths = [*self._api.openapi()["paths"], "/docs", "/redoc", "/openapi.json"]
            self._templates = [(compile_path(p)[0], p) for p in paths]
        for regex, template in self._templates:
            if regex.match(path):
                return template
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            template = self.template(scope.get("path", ""))
            self.metrics.http_request(
                template, scope.get("method", ""), status, time.perf_counter() - started
            )


def create_app(services: Services, metrics: Metrics | None = None) -> FastAPI:
    """Build the API.

    Args:
        services: Redis, storage, the model catalogue, readiness.
        metrics: Where request metrics go (``serve_app.metrics``); none by default.
    """
    app = FastAPI(title="Follow My Reading", version="1.0.0", description=DESCRIPTION)
    app.state.services = services
    v1 = APIRouter(prefix="/v1")
    for area in (audio, image, auth, comparison, task, health):
        v1.include_router(area.router)
    app.include_router(v1)
    # 401, 413, 429, 503... come from dependencies and middleware: documented once.
    install_shared_responses(app)
    install_error_handlers(app)
    # Innermost of the middleware: 413s go through rate limiting and metrics too.
    install_body_limits(app, services.settings)
    # Before the metrics middleware, so that 429s are counted too.
    install_rate_limiting(app, services)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics or NullMetrics(), api=app)
    return app
