"""One error body everywhere: ``{"detail": "..."}`` (the spec's shape)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import MediaError
from core.stores.files import UploadTooLarge
from core.stores.objects import StorageUnavailable

__all__ = ["install_error_handlers"]

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors to 4xx and anything unexpected to a bare 500."""

    @app.exception_handler(UploadTooLarge)
    async def _too_large(_: Request, error: UploadTooLarge) -> JSONResponse:
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error"}, 500)
