"""The FastAPI application of the v1 API, built around injected services."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from serve_app.api import audio, auth, comparison, image, task
from serve_app.errors import install_error_handlers
from serve_app.services import Services

__all__ = ["create_app"]

DESCRIPTION = """Checks a person's reading aloud. Upload a photo of a page and a recording
of reading it, create a comparison task, poll its status, and get back which words
were misread, skipped or added, with their time in the recording."""


def create_app(services: Services) -> FastAPI:
    """Build the API; ``services`` carries Redis, storage, the model catalogue."""
    app = FastAPI(title="Follow My Reading", version="1.0.0", description=DESCRIPTION)
    app.state.services = services
    v1 = APIRouter(prefix="/v1")
    for area in (audio, image, auth, comparison, task):
        v1.include_router(area.router)
    app.include_router(v1)
    install_error_handlers(app)
    return app
