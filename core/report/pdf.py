"""Print a report's HTML to PDF with WeasyPrint, fetching nothing but ``data:`` URIs.

The HTML holds untrusted text (page, OCR and transcript). It is autoescaped
(:mod:`core.report.render`), and whatever markup might get through all the same
still cannot make the renderer read a file or reach the network: the URL fetcher
given to WeasyPrint decodes ``data:`` URIs itself and refuses every other URL
(``http(s):``, ``file:``, ``ftp:``...), and the document has no base URL.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0``, ``libpangoft2-1.0-0``). It is
imported at the first PDF, so a machine without Pango still serves the HTML report.
Renders run one at a time per process: WeasyPrint makes no promise about threads,
and :func:`html_to_pdf` is called from worker threads.

Depends only on WeasyPrint and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import functools
import threading
import urllib.parse
from typing import Any

__all__ = ["RefusedURL", "data_only_fetcher", "decode_data_url", "html_to_pdf"]

_RENDER_LOCK = threading.Lock()


class RefusedURL(ValueError):
    """A document asked for a URL other than a ``data:`` URI."""


def decode_data_url(url: str) -> tuple[str, bytes]:
    """The media type and bytes of a ``data:`` URI (RFC 2397).

    Args:
        url: ``data:[<media type>][;base64],<data>``.

    Returns:
        ``(media type, bytes)``; the media type defaults to ``text/plain``.

    Raises:
        RefusedURL: ``url`` is not a ``data:`` URI, or has no comma or bad base64.
    """
    if not url[:5].lower() == "data:":
        raise RefusedURL(f"Only data: URLs are loaded, not {url[:40]!r}")
    header, comma, payload = url[5:].partition(",")
    if not comma:
        raise RefusedURL("A data: URL without a comma")
    media_type, _, parameters = header.partition(";")
    try:
        if parameters.lower().rstrip().endswith("base64"):
            data = base64.b64decode(urllib.parse.unquote(payload), validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as error:
        raise RefusedURL(f"A data: URL with bad base64: {error}") from None
    return media_type.strip() or "text/plain", data


@functools.lru_cache(maxsize=1)
def _weasyprint() -> Any:
    """WeasyPrint, imported once. Its import sets Pillow's process-wide
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` to True (``weasyprint/images.py``), which would
    make this process accept truncated image uploads (:mod:`core.uploads.images`): the
    flag is put back. Reports only embed complete PNGs of their own.

    Raises:
        OSError: Pango is missing.
    """
    from PIL import ImageFile

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint
    import weasyprint.urls

    ImageFile.LOAD_TRUNCATED_IMAGES = before
    return weasyprint


@functools.lru_cache(maxsize=1)
def _fetcher_class() -> type[Any]:
    weasyprint = _weasyprint()
    URLFetcher, URLFetcherResponse = (  # noqa: N806 - classes
        weasyprint.urls.URLFetcher, weasyprint.urls.URLFetcherResponse
    )

    class DataOnlyFetcher(URLFetcher):
        """WeasyPrint's fetcher, limited to ``data:`` URIs decoded in-process."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            # Never the base class's urllib opener: it would follow file: and http:.
            media_type, data = decode_data_url(url)
            return URLFetcherResponse(url, body=data, headers={"Content-Type": media_type})

    return DataOnlyFetcher


def data_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that loads ``data:`` URIs and raises :class:`RefusedURL`
    for every other URL (WeasyPrint then leaves the resource out and logs a warning).

    Raises:
        OSError: Pango is missing (WeasyPrint cannot be imported).
    """
    return _fetcher_class()()


def html_to_pdf(html: str) -> bytes:
    """Print an HTML document to PDF (A4 unless its CSS says otherwise).

    Blocking and CPU-bound (about a second for a one-page report): call it in a
    worker thread from async code. Renders are serialised within the process.

    Args:
        html: The document. Relative URLs in it resolve to nothing (no base URL);
            only ``data:`` URIs are loaded.

    Returns:
        The PDF's bytes.

    Raises:
        OSError: Pango is missing (WeasyPrint cannot be imported).
    """
    document = _weasyprint().HTML(string=html, base_url=None, url_fetcher=data_only_fetcher())
    with _RENDER_LOCK:
        return document.write_pdf()
