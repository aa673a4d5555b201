"""One error body everywhere: ``{"detail": "..."}`` (the spec's shape)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from core.errors import MediaError
from core.storage import UploadTooLarge

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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error"}, 500)
