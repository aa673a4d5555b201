"""One error body everywhere: ``{"detail": "..."}`` (the spec's shape)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Scope

from core.errors import MediaError
from core.stores.files import UploadTooLarge
from core.stores.objects import StorageUnavailable
from core.uploads.remote import RemoteTooLarge

__all__ = ["install_error_handlers"]

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors to 4xx and anything unexpected to a bare 500."""

    @app.exception_handler(UploadTooLarge)
    @app.exception_handler(RemoteTooLarge)
    async def _too_large(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)

    @app.exception_handler(MediaError)
    async def _bad_media(_: Request, error: MediaError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status.HTTP_422_UNPROCESSABLE_ENTITY)

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    @app.exception_handler(StorageUnavailable)
    async def _storage_down(request: Request, error: Exception) -> JSONResponse:
        # Redis or the object store restarting or unreachable: the client's request
        # was fine; ask it to
        # retry (RFC 9110 section 15.6.4) instead of reporting an internal error.
        logger.warning("Redis unavailable on %s %s: %r", request.method, request.url.path, error)
        return JSONResponse(
            {"detail": "Service temporarily unavailable, retry shortly"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            # Starlette's Allow lists the first route of the path only; a path with
            # one route per method (GET and DELETE) must list them all (RFC 9110 15.5.6).
            allowed = _allowed_methods(app, request.scope)
            if allowed:
                error.headers = {**(error.headers or {}), "Allow": ", ".join(allowed)}
        return await http_exception_handler(request, error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error"}, 500)


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method the API documents at the request's path (``/openapi.json``)."""
    path = scope.get("path", "")
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)
