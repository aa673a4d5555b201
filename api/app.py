"""The FastAPI application of the v1 API, built around injected services."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.error_handlers import install_error_handlers
from api.metrics import Metrics, NullMetrics
from api.middleware.body_limit import install_body_limits
from api.middleware.rate_limit import install_rate_limiting
from api.middleware.request_id import RequestIdMiddleware
from api.middleware.request_metrics import RequestMetricsMiddleware
from api.openapi import install_shared_responses
from api.routes import (
    archive,
    audio,
    auth,
    comparison,
    docs,
    health,
    image,
    openai_audio,
    report,
    stream,
    task,
    web,
)
from api.services import Services

__all__ = ["create_app"]

DESCRIPTION = """Checks a person's reading aloud. Upload a photo of a page and a recording
of reading it, create a comparison task, poll its status, and get back which words
were misread, skipped or added, with their time in the recording."""


def create_app(
    services: Services, metrics: Metrics | None = None, echo_request_id: bool = True
) -> FastAPI:
    """Build the API.

    Args:
        services: Redis, storage, the model catalogue, readiness.
        metrics: Where request metrics go (``serve_app.metrics.ServiceMetrics`` in a
            replica); none by default.
        echo_request_id: Answer with the ``X-Request-ID`` (off behind a proxy that
            does it, as Ray Serve's does: ``api.middleware.request_id``).
    """
    # /docs and /redoc load their assets from the service itself (api.routes.docs).
    app = FastAPI(
        title="Follow My Reading", version="1.0.0", description=DESCRIPTION,
        docs_url=None, redoc_url=None,
    )
    app.state.services = services
    v1 = APIRouter(prefix="/v1")
    areas = (audio, openai_audio, stream, image, auth, comparison, report, task, archive, health)
    for area in areas:
        v1.include_router(area.router)
    app.include_router(v1)
    # The web page at / and its static files, and the docs; none is in the schema.
    app.include_router(web.router)
    app.include_router(docs.router)
    # 401, 413, 429, 503... come from dependencies and middleware: documented once.
    install_shared_responses(app)
    install_error_handlers(app)
    # Innermost of the middleware: 413s go through rate limiting and metrics too.
    install_body_limits(app, services.settings)
    # Before the metrics middleware, so that 429s are counted too.
    install_rate_limiting(app, services)
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics or NullMetrics(), api=app)
    # Outermost: every answer, the middleware's own 413s and 429s included, has the id.
    app.add_middleware(RequestIdMiddleware, echo=echo_request_id)
    return app
