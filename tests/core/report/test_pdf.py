"""core.report.pdf: HTML to PDF with WeasyPrint, loading nothing but data: URIs."""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from core.report.pdf import RefusedURL, data_only_fetcher, decode_data_url, html_to_pdf


def png(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_data_urls_are_decoded():
    assert decode_data_url("data:,Hello%2C%20World") == ("text/plain", b"Hello, World")
    assert decode_data_url("DATA:text/css;charset=utf-8;base64,cCB7fQ==") == (
        "text/css", b"p {}"
    )
    encoded = base64.b64encode(png()).decode()
    assert decode_data_url(f"data:image/png;base64,{encoded}") == ("image/png", png())


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x.png", "https://example.org/a.css", "file:///etc/passwd",
    "ftp://example.org/x", "javascript:alert(1)", "data:image/png;base64,@@@", "data:no-comma",
])
def test_every_other_url_is_refused(url: str):
    with pytest.raises(RefusedURL):
        decode_data_url(url)
    with pytest.raises(RefusedURL):
        data_only_fetcher().fetch(url)


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every request it gets."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png("blue"))

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def test_a_document_asking_for_urls_and_files_gets_only_its_data_uris(
    server: tuple[str, list[str]], tmp_path: Path
):
    base, requests = server
    secret = tmp_path / "secret.png"
    secret.write_bytes(png("green"))
    inline = base64.b64encode(png()).decode()
    html = f"""<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="{base}/linked.css">
      <style>@import url("{base}/imported.css");
        @font-face {{ font-family: X; src: url("{base}/font.ttf"); }}
        body {{ background: url("{base}/background.png"); }}</style></head>
      <body><p>Report</p>
      <img src="{base}/remote.png"><img src="{secret.as_uri()}"><img src="{secret}">
      <img src="secret.png"><iframe src="{base}/frame.html"></iframe>
      <object data="{base}/object.png"></object>
      <img src="data:image/png;base64,{inline}"></body></html>"""
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF-")
    assert requests == []
    [page] = PdfReader(io.BytesIO(pdf)).pages
    assert "Report" in page.extract_text()
    assert len(page.images) == 1  # the data: URI's, and not the file's


def test_renders_from_threads_do_not_interfere():
    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda n=n: results.append(html_to_pdf(f"<p>page {n}</p>")))
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = sorted(PdfReader(io.BytesIO(pdf)).pages[0].extract_text() for pdf in results)
    assert texts == ["page 0", "page 1", "page 2"]


def test_rendering_leaves_truncated_image_uploads_refused(tmp_path: Path):
    """WeasyPrint's import turns on Pillow's LOAD_TRUNCATED_IMAGES for the whole
    process; the ingress validates uploads in the same process as it renders."""
    from PIL import ImageFile

    from core.errors import MediaError
    from core.uploads.images import convert_upload_to_png

    html_to_pdf("<p>hello</p>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    truncated = tmp_path / "page.png"
    truncated.write_bytes(png()[:60])
    with pytest.raises(MediaError):
        convert_upload_to_png(str(truncated), tmp_path / "out.png", max_pixels=10_000)
