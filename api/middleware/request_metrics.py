"""Request metrics: responses counted by route template, method and status, and timed."""

from __future__ import annotations

import re
import time

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics

__all__ = ["RequestMetricsMiddleware"]


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
