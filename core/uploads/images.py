"""Image uploads: validate by content and store as PNG.

Raster images are decoded with Pillow; SVG is checked with defusedxml and rasterised
with CairoSVG in safe mode, which reads no file or URL: only ``data:`` URLs, whose
embedded images share the upload's pixel budget. Sizes are in pixels, file contents
in bytes.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cairosvg.surface import PNGSurface
from cairosvg.url import safe_fetch
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from PIL import Image, ImageOps

from core.errors import MediaError

__all__ = [
    "ALLOWED_IMAGE_EXTENSIONS",
    "DEFAULT_MAX_PIXELS",
    "NOT_IMAGE_MESSAGE",
    "RASTER_FORMATS",
    "convert_upload_to_png",
]

StrPath = str | os.PathLike[str]

#: Upload suffixes of the API spec; only a hint (``core.uploads.hints.format_hint``), never
#: the gate: Pillow's format detection on the content decides.
ALLOWED_IMAGE_EXTENSIONS = frozenset(
    {".avif", ".bmp", ".gif", ".ico", ".jpeg", ".jpg", ".png", ".svg", ".tif", ".tiff", ".webp"}
)

#: Pillow plugins allowed to open uploads: the raster formats of ALLOWED_IMAGE_EXTENSIONS.
#: The JPEG plugin also opens MPO, the multi-picture JPEG many phone cameras write.
#: Restricting the plugins keeps e.g. EPS (which runs Ghostscript) away from user content.
RASTER_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "ICO", "TIFF", "WEBP", "AVIF")

#: Default pixel budget (width * height): 50 MP, above any phone camera (~48 MP) and
#: below Pillow's own decompression-bomb warning level (~89 MP).
DEFAULT_MAX_PIXELS = 50_000_000

NOT_IMAGE_MESSAGE = "Only image files uploads are allowed"
_SVG_RENDER_MESSAGE = "The SVG image could not be rendered"

# An SVG is XML; no raster format's magic number starts with "<" (after BOM/whitespace).
_XML_START = b"<"
_SVG_ROOTS = frozenset({"svg", "{http://www.w3.org/2000/svg}svg"})
#: cairo image surfaces are limited to 32767 pixels per side (CAIRO_STATUS_INVALID_SIZE).
_CAIRO_MAX_SIDE = 32767


def _too_large(width: int, height: int, max_pixels: int) -> MediaError:
    return MediaError(
        f"The image is too large: {width}x{height} pixels (maximum {max_pixels} pixels)"
    )


def _write_atomic(dst: Path, write: Callable[[str], None]) -> None:
    """Run ``write(tmp_path)`` on a temp file beside ``dst``, then rename it to ``dst``.

    Keeps readers from ever seeing a partial ``dst``; the temp file is removed on error.
    """
    fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.stem}.", suffix=".part")
    os.close(fd)
    try:
        write(tmp_name)
        os.replace(tmp_name, dst)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class _SvgSize(Exception):
    """Carries the raster size CairoSVG computed, in pixels (floats, unrounded)."""

    def __init__(self, width: float, height: float) -> None:
        super().__init__(width, height)
        self.width, self.height = width, height


class _MeasuringSurface(PNGSurface):
    """A PNGSurface that stops right before allocating its pixels.

    CairoSVG resolves width/height units, percentages and the viewBox itself; hooking
    the allocation gives exactly the size it would render at, without rendering.
    """

    def _create_surface(self, width: float, height: float) -> tuple[object, int, int]:
        raise _SvgSize(width, height)


class _EmbeddedImages:
    """CairoSVG ``url_fetcher``: ``data:`` URLs only, embedded rasters within a budget.

    CairoSVG's safe mode already answers every other URL (``file:``, ``http:``...)
    with an empty SVG (:func:`cairosvg.url.safe_fetch`) and this keeps doing so. But
    it decodes embedded rasters in full, PNGs with cairo (4 bytes per pixel, no
    limit): a 20000x20000 PNG compresses to a few KB and would take 1.6 GB. Their
    header sizes are checked here against the pixel budget left, before CairoSVG
    decodes them, and only :data:`RASTER_FORMATS` are let through (CairoSVG hands
    anything else to Pillow, whose EPS plugin runs Ghostscript). Gzip-compressed SVG
    (svgz) is refused: CairoSVG would inflate it without a limit.
    """

    def __init__(self, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        self.left = max_pixels

    def __call__(self, url: str, resource_type: str) -> bytes:
        data = safe_fetch(url, resource_type)
        if not url.startswith("data:"):
            return data  # the empty SVG: nothing was read
        if data.startswith(b"\x1f\x8b"):
            raise MediaError("SVG files may not embed compressed SVG images")
        if resource_type == "text/css" or _looks_like_svg(data):
            return data  # parsed by CairoSVG with defusedxml; drawn within the canvas
        too_large = f"(maximum {self.max_pixels} pixels for all of them)"
        try:
            # The upload's raster formats only: e.g. EPS would run Ghostscript when drawn.
            with Image.open(io.BytesIO(data), formats=RASTER_FORMATS) as im:  # header only
                width, height = im.size
        except Image.DecompressionBombError as exc:
            raise MediaError(f"An image embedded in the SVG is too large {too_large}") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise MediaError("An image embedded in the SVG could not be read") from exc
        if width * height > self.left:
            raise MediaError(
                f"An image embedded in the SVG is too large: {width}x{height} pixels {too_large}"
            )
        self.left -= width * height
        return data


def _looks_like_svg(data: bytes) -> bool:
    """CairoSVG's own test for an embedded SVG document (``cairosvg.image``)."""
    return data.startswith((b"<svg ", b"<?xml", b"<!DOC")) or b"<svg" in data


def _svg_to_png(data: bytes, dst: Path, max_pixels: int) -> tuple[int, int]:
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MediaError("SVG files may not declare entities or external references") from exc
    except ParseError as exc:
        raise MediaError(NOT_IMAGE_MESSAGE) from exc
    if root.tag not in _SVG_ROOTS:
        raise MediaError(NOT_IMAGE_MESSAGE)

    try:
        _MeasuringSurface.convert(
            bytestring=data, unsafe=False, url_fetcher=_EmbeddedImages(max_pixels)
        )
    except _SvgSize as size:
        width, height = size.width, size.height
    except MediaError:
        raise
    except Exception as exc:  # CairoSVG raises assorted errors on malformed documents
        raise MediaError(_SVG_RENDER_MESSAGE) from exc
    else:  # the allocation hook always fires; unreachable unless CairoSVG changes
        raise MediaError(_SVG_RENDER_MESSAGE)
    if not (math.isfinite(width) and math.isfinite(height)) or width < 1 or height < 1:
        raise MediaError("The SVG image has no usable width and height")
    # Vector art scales losslessly, so shrink it into the budgets instead of refusing.
    scale = min(
        1.0,
        math.sqrt(max_pixels / (width * height)),
        _CAIRO_MAX_SIDE / width,
        _CAIRO_MAX_SIDE / height,
    )
    out_w, out_h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    # Raising a sub-pixel side to 1 px can break the budget for extreme aspect ratios.
    out_w = min(out_w, max(1, max_pixels // out_h))
    out_h = min(out_h, max(1, max_pixels // out_w))

    try:
        # svg2png has no url_fetcher parameter; the surface's convert passes it on.
        png = PNGSurface.convert(
            bytestring=data,
            unsafe=False,
            url_fetcher=_EmbeddedImages(max_pixels),
            output_width=out_w,
            output_height=out_h,
        )
    except MediaError:
        raise  # from _EmbeddedImages
    except Exception as exc:  # see above
        raise MediaError(_SVG_RENDER_MESSAGE) from exc

    def write(tmp: str) -> None:
        Path(tmp).write_bytes(png)

    _write_atomic(dst, write)
    return out_w, out_h


def _to_8bit_rgb(im: Image.Image) -> Image.Image:
    """``im`` as 8-bit RGB, or RGBA when it has transparency (alpha or a tRNS colour)."""
    if im.mode.startswith("I;16") or im.mode == "I":
        # 16-bit grey (scanners): Pillow's convert() clips to 255, which whitens the page.
        im = im.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    return im.convert("RGBA" if im.has_transparency_data else "RGB")


def _raster_to_png(src: str, dst: Path, max_pixels: int) -> tuple[int, int]:
    try:
        with Image.open(src, formats=RASTER_FORMATS) as im:
            # Image.open has parsed only the header: refuse bombs before decoding pixels.
            width, height = im.size
            if width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            im.seek(0)  # first frame of animations and multi-page TIFFs
            im.load()
            # ICO/TIFF can carry an embedded image bigger than the header said.
            if im.size[0] * im.size[1] > max_pixels:
                raise _too_large(*im.size, max_pixels)
            upright = ImageOps.exif_transpose(im)  # phone photos store rotation in EXIF
            result = _to_8bit_rgb(upright)
    except MediaError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's global limit (2 x MAX_IMAGE_PIXELS) fired inside Image.open.
        raise MediaError(f"The image is too large (maximum {max_pixels} pixels)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # UnidentifiedImageError (an OSError) for non-images; OSError/SyntaxError/EOFError
        # for truncated or corrupt data; ValueError for unsupported modes.
        raise MediaError(NOT_IMAGE_MESSAGE) from exc

    _write_atomic(dst, lambda tmp: result.save(tmp, format="PNG"))
    return result.size


def convert_upload_to_png(
    src: StrPath, dst: StrPath, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[int, int]:
    """Validate an uploaded image by content and store it as PNG.

    SVG (XML with an ``svg`` root) is parsed with defusedxml, refusing entity
    declarations and external references (a plain ``<!DOCTYPE svg ...>`` is accepted, as
    editors emit it), then rendered by CairoSVG in safe mode, which never reads files or
    URLs (they render as nothing) and runs no script. Images embedded as ``data:`` URLs
    may hold ``max_pixels`` pixels in all. Its size is taken from the declared
    width/height/viewBox and, above ``max_pixels``, the drawing is scaled down to fit.
    Raster images must be one of :data:`RASTER_FORMATS`; the first frame is kept, EXIF
    rotation applied, and the result stored as RGB, or RGBA when the image has
    transparency.

    Args:
        src: Uploaded file; its name/suffix is not trusted.
        dst: Destination PNG path; its folder must exist. Overwritten if present.
        max_pixels: Largest accepted raster image, as width * height pixels. Checked on
            the header before any pixel is decoded. Must be >= 1.

    Returns:
        ``(width, height)`` of the stored PNG, in pixels.

    Raises:
        MediaError: Not an image ("Only image files uploads are allowed"), truncated or
            corrupt, too large, or an SVG with entities/external references or with
            embedded images over the pixel budget.
        OSError: ``src`` is missing or ``dst``'s folder is not writable (server faults).
        ValueError: ``max_pixels`` < 1.
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels}")
    src_path, dst_path = os.fspath(src), Path(dst)
    if not os.path.isfile(src_path):
        raise FileNotFoundError(f"No such upload file: {src_path}")
    with open(src_path, "rb") as fh:
        head = fh.read(4096)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_XML_START):
        return _svg_to_png(Path(src_path).read_bytes(), dst_path, max_pixels)
    return _raster_to_png(src_path, dst_path, max_pixels)
