"""The web page at ``/`` and its static files: the browser front end of the v1 API.

The page (``api/web/``) is plain HTML, CSS and JavaScript with no build step; it
talks to the v1 API with ``fetch`` like any other client. Files are served from a
fixed list (:data:`STATIC_FILES`), never from a path the client names, so nothing
outside ``api/web/`` can be read. Every answer carries :data:`SECURITY_HEADERS`: a
Content-Security-Policy that lets the page load scripts, styles, images, media and
API calls from its own origin only (plus ``blob:`` / ``data:`` images and ``blob:``
media, which is how the annotated photo, the recording and the cut segments are
shown), no inline scripts, no framing.

None of these routes is in the OpenAPI schema, and none is rate limited
(``api.middleware.rate_limit.EXEMPT_PATHS``): they are files from disk, cheaper to
serve than to count.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "STATIC_FILES", "WEB_DIR", "router"]

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
VENDOR_DIR = WEB_DIR / "vendor"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # The page records from the microphone; it never uses the camera through
    # getUserMedia (a photo comes from the file input, which may open the camera app).
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
    # Revalidate every time (ETag / Last-Modified): a deploy is seen at the next load.
    "Cache-Control": "no-cache",
}

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}

#: URL path under ``/static/`` -> file. The page's own files, and the vendored
#: Swagger UI and ReDoc bundles of ``/docs`` and ``/redoc`` with their licences.
STATIC_FILES: dict[str, Path] = {
    "app.js": WEB_DIR / "app.js",
    "api.js": WEB_DIR / "api.js",
    "render.js": WEB_DIR / "render.js",
    "style.css": WEB_DIR / "style.css",
    "icon.svg": WEB_DIR / "icon.svg",
    **{
        f"vendor/swagger-ui/{name}": VENDOR_DIR / "swagger-ui" / name
        for name in (
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "favicon-32x32.png",
            "LICENSE",
            "NOTICE",
            "swagger-ui-bundle.js.LICENSE.txt",
        )
    },
    **{
        f"vendor/redoc/{name}": VENDOR_DIR / "redoc" / name
        for name in ("redoc.standalone.js", "LICENSE", "redoc.standalone.js.LICENSE.txt")
    },
}

router = APIRouter(include_in_schema=False)


def root_path(request: Request) -> str:
    """The ASGI ``root_path`` without a trailing slash (``/s3`` for an app mounted
    there by Ray Serve's ``route_prefix``; ``""`` at ``/``)."""
    return request.scope.get("root_path", "").rstrip("/")


@router.get("/", response_class=HTMLResponse)
async def web_page(request: Request) -> HTMLResponse:
    """The page. Its root path goes into ``data-root`` so that the script finds the
    API, and the static files, wherever the app is mounted."""
    page = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{root}}", html.escape(root_path(request), quote=True))
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.get("/static/{name:path}")
async def static_file(name: str) -> FileResponse:
    """One file of :data:`STATIC_FILES`; 404 for any other name."""
    path = STATIC_FILES.get(name)
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    media_type = _MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8")
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)
