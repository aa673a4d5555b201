"""The web page, its static files and the offline API docs, in-process.

What the browser test (``tests/serve_app/integration/test_web_page.py``) cannot see
cheaply: every header of every file, the fixed list of files, that nothing in the
page or the docs names another origin, the mount under a ``root_path``, the rate
limiter leaving the files alone, and the schema staying without these routes.
"""

from __future__ import annotations

import re

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from api.routes.web import CONTENT_SECURITY_POLICY, SECURITY_HEADERS, STATIC_FILES, WEB_DIR

#: The only absolute URL the page's own files may hold: the SVG namespace name (an
#: identifier, never fetched).
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
PAGE_FILES = sorted(p for p in WEB_DIR.iterdir() if p.is_file())


def test_the_page_has_its_security_headers_and_no_cookie(api):
    response = api.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "set-cookie" not in response.headers
    policy = dict(
        directive.strip().split(" ", 1) for directive in CONTENT_SECURITY_POLICY.split(";")
    )
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert policy["img-src"] == "'self' blob: data:" and policy["media-src"] == "'self' blob:"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "http" not in CONTENT_SECURITY_POLICY


def test_the_page_has_no_inline_script_style_or_handler(api):
    page = api.client.get("/").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", page))
    assert not re.search(r"\son[a-z]+\s*=", page, flags=re.I)  # onclick=...
    assert not re.search(r"\sstyle\s*=", page, flags=re.I)
    assert "<style" not in page
    # The login form posts (no password in a URL) and the page names its scripts.
    assert re.search(r'<form id="login-form" method="post"', page)
    assert 'type="password"' in page
    assert 'src="/static/app.js"' in page and 'data-root=""' in page


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_file_of_the_page_names_another_origin(path):
    text = path.read_text(encoding="utf-8").replace(SVG_NAMESPACE, "")
    assert "cdn" not in text.lower()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, flags=re.I), path.name
    # Text goes into the DOM as text: no HTML parsing of what the API returned.
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write|\beval\(",
                         text)


@pytest.mark.parametrize("name", sorted(STATIC_FILES))
def test_every_static_file_is_served_with_the_headers(api, name):
    response = api.client.get(f"/static/{name}")
    assert response.status_code == 200, name
    assert response.content == STATIC_FILES[name].read_bytes()
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expected = {".js": "text/javascript", ".css": "text/css", ".png": "image/png",
                ".svg": "image/svg+xml"}.get(STATIC_FILES[name].suffix, "text/plain")
    assert response.headers["content-type"].startswith(expected), name


@pytest.mark.parametrize(
    "name",
    ["index.html", "../routes/web.py", "..%2Froutes%2Fweb.py", "vendor/README.md",
     "vendor%2F..%2F..%2Fapp.py", "missing.js", ""],
)
def test_only_the_listed_files_are_served(api, name):
    assert api.client.get(f"/static/{name}").status_code == 404


def test_the_vendored_docs_assets_come_with_their_licences():
    vendor = WEB_DIR / "vendor"
    assert "Apache License" in (vendor / "swagger-ui" / "LICENSE").read_text()
    assert "MIT License" in (vendor / "redoc" / "LICENSE").read_text()
    for name in ("swagger-ui/swagger-ui-bundle.js", "redoc/redoc.standalone.js"):
        assert (vendor / name).stat().st_size > 500_000, name


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", ["/static/vendor/swagger-ui/swagger-ui-bundle.js",
                   "/static/vendor/swagger-ui/swagger-ui.css", "/openapi.json"]),
        ("/redoc", ["/static/vendor/redoc/redoc.standalone.js", "/openapi.json"]),
    ],
)
def test_the_docs_load_their_assets_from_the_service(api, path, assets):
    response = api.client.get(path)
    assert response.status_code == 200
    page = response.text
    assert "cdn" not in page.lower() and "https://" not in page
    assert "fonts.googleapis" not in page
    for asset in assets:
        assert asset in page, asset
    for url in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert url.startswith("/static/vendor/"), url
        assert api.client.get(url).status_code == 200, url
    assert response.headers["content-security-policy"] == "img-src 'self' data: blob:"
    assert api.client.get("/docs/oauth2-redirect").status_code == 200


def test_the_schema_has_no_page_static_or_docs_route(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    assert all(path.startswith("/v1/") for path in paths)


def test_the_page_and_its_files_are_never_rate_limited(make_api):
    api = make_api(rate_limit_read="1/minute")
    for _ in range(4):
        for path in ("/", "/static/app.js", "/docs", "/static/vendor/redoc/LICENSE"):
            response = api.client.get(path)
            assert response.status_code == 200, path
            assert "X-RateLimit-Limit" not in response.headers
    # The same client is limited on the API.
    assert api.client.get("/v1/auth/users/me").status_code == 401
    assert api.client.get("/v1/auth/users/me").status_code == 429


def _mounted_at(prefix: str):
    """Wrap an app as Ray Serve mounts it under ``route_prefix``: the path keeps the
    prefix, ``root_path`` names it."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def mounted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                scope = {**scope, "root_path": prefix, "path": prefix + scope["path"]}
            await app(scope, receive, send)

        return mounted

    return wrap


def test_under_a_route_prefix_every_url_keeps_it(make_api):
    api = make_api(wrap=_mounted_at("/s3"))
    page = api.client.get("/").text
    assert 'data-root="/s3"' in page and 'src="/s3/static/app.js"' in page
    assert 'href="/s3/static/style.css"' in page
    docs = api.client.get("/docs").text
    assert "/s3/openapi.json" in docs
    assert "/s3/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "/s3/docs/oauth2-redirect" in docs
    redoc = api.client.get("/redoc").text
    assert "/s3/static/vendor/redoc/redoc.standalone.js" in redoc
