"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with their assets served by the API itself.

FastAPI's own docs pages load Swagger UI and ReDoc from a public CDN, so offline they
are blank. These routes build the same pages with FastAPI's helpers, pointing at the
bundles vendored in ``api/web/vendor/`` (served by ``api.routes.web``; versions and
licences in ``api/web/vendor/README.md``), and without ReDoc's Google Fonts. The app
is built with ``docs_url=None, redoc_url=None`` so that these replace FastAPI's.

The pages are FastAPI's, inline scripts included, so their Content-Security-Policy
restricts images only (:data:`DOCS_POLICY`): ReDoc's sidebar shows a "Redocly" logo
from its CDN, which the browser then never asks for (ReDoc hides it when it cannot
load), and no image leaves the origin.

Paths, the OAuth2 redirect page and the ``root_path`` handling are FastAPI's: under
Ray Serve's ``route_prefix`` (e.g. ``/s3``) the pages load ``/s3/openapi.json`` and
``/s3/static/...``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from api.routes.web import root_path

__all__ = ["DOCS_POLICY", "DOCS_URL", "OAUTH2_REDIRECT_URL", "REDOC_URL", "router"]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
_SWAGGER = "/static/vendor/swagger-ui"
_REDOC = "/static/vendor/redoc"
DOCS_POLICY = "img-src 'self' data: blob:"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL, response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the app's OpenAPI schema, from the vendored bundle."""
    root = root_path(request)
    app = request.app
    return _restricted(get_swagger_ui_html(
        openapi_url=root + app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{_SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{_SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{_SWAGGER}/favicon-32x32.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        init_oauth=app.swagger_ui_init_oauth,
        # No badge image from the public validator service.
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
    ))


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page, as FastAPI serves it."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC_URL, response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the app's OpenAPI schema, from the vendored bundle, with system fonts."""
    app = request.app
    return _restricted(get_redoc_html(
        openapi_url=root_path(request) + app.openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root_path(request)}{_REDOC}/redoc.standalone.js",
        redoc_favicon_url=f"{root_path(request)}{_SWAGGER}/favicon-32x32.png",
        with_google_fonts=False,
    ))


def _restricted(page: HTMLResponse) -> HTMLResponse:
    """The page with :data:`DOCS_POLICY` and ``nosniff``."""
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page
