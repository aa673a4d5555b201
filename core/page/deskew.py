"""Page skew from the pixels, before OCR: measure it, turn the photo upright, map boxes back.

Coordinates are pixels, origin top-left, x to the right, y down, continuous (pixel
``(i, j)`` covers ``[i, i+1) x [j, j+1)``, as OCR boxes' edges are given). Angles are
degrees. A page's *skew* follows :mod:`core.page.skew`: positive when the text lines
rise to the right as seen on the image (the page is turned counter-clockwise). A
*rotation* follows Pillow's ``Image.rotate``: positive turns the image
counter-clockwise, so the rotation that makes a page upright is minus its skew.

Why: OCR engines read lines along the image's x axis. On a page photographed at about
3.5 degrees in a serif font, Tesseract's lines came out interleaved (issue 13); the
box-based estimate of :mod:`core.page.skew` can only reorder the boxes an engine
returns, not make it read the lines it missed. So the image is turned upright first
(:func:`upright_pages`, used by :class:`core.plugins.host.PluginRunner`), the plugin
reads the upright copy, and its boxes are mapped back to the photo's own pixels
(:func:`map_result`), which is what :mod:`core.page.annotate` draws on. The box-based
estimate stays as the second check of the reading order.

The skew is measured by ``deskew.determine_skew`` (Stéphane Brunner's ``deskew``
package, https://github.com/sbrunner/deskew): Canny edges (scikit-image, ``sigma`` 3)
and a Hough line transform; the most frequent angle among its 20 strongest lines
wins. It runs on a grey copy whose longest side is at most :data:`ESTIMATE_MAX_SIDE`
pixels.
EXIF orientation is not looked at here: uploads are stored upright, EXIF rotation
applied (``ImageOps.exif_transpose`` in :mod:`core.uploads.images`), as PNG without
the tag, and that stored file is what model hosts receive.

The module imports neither Ray nor FastAPI.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from deskew import determine_skew
from PIL import Image

from core.plugins.types import ImageProcessingResult, ImageTextBox, Point, Rectangle

__all__ = [
    "ANGLE_STEP_DEG",
    "ESTIMATE_MAX_SIDE",
    "IDENTITY",
    "MAX_ROTATION_DEG",
    "MIN_ROTATION_DEG",
    "Affine",
    "Deskewed",
    "UprightPage",
    "deskew_image",
    "map_point",
    "map_result",
    "measure_skew",
    "rotate",
    "upright_pages",
]

logger = logging.getLogger(__name__)

#: Longest side of the grey copy the skew is measured on, pixels. The angle does not
#: change with scale, and the Hough transform's cost grows with the edge pixels:
#: measured on this 2-core CPU, ``determine_skew`` took 0.1-0.4 s on the benchmark
#: pages (1200 px wide, scaled to 1000) and 0.3 s on a dense 36-line page of
#: 1000 x 936 px. Text must stay legible at this size: 4-line pages scaled to 600 px
#: (14-px letters) were misjudged by 1.4-4.4 degrees in 9 of 360 tries, at 1000 px in
#: none (24 pages x 15 angles up to 25 degrees, all within 0.1 degree); dense pages of
#: 30-odd lines were still measured right with 8-px letters.
ESTIMATE_MAX_SIDE = 1000

#: Resolution of the Hough transform (``determine_skew``'s ``min_deviation``), degrees.
#: Its default, 1 degree, leaves up to half a degree of error; 0.1 took three times as
#: long as 0.2 on a dense page (0.88 s against 0.28 s) for no gain a reader would see
#: (0.1 degree drifts 2 px over a 1000-px line).
ANGLE_STEP_DEG = 0.2

#: Smaller skews are left alone: rotating resamples every pixel (bicubic), softening
#: glyph edges, while a 0.3-degree skew drifts only 5 px over a 1000-px line, a fifth
#: of the height of 24-px text, which neither OCR engine nor :mod:`core.page.skew` minds.
#: It also stays clear of the estimate's own resolution (:data:`ANGLE_STEP_DEG`).
MIN_ROTATION_DEG = 0.3

#: Larger measured skews are not trusted and the image is left alone. On text the
#: estimate held far beyond this: within 0.5 degree up to 44 degrees on 24 rendered
#: pages per angle, and 0 on flat pages with a hatched drawing and a photo-like block
#: beside the text. Past 45 degrees it cannot work: it folds line angles into
#: +-45 degrees, so a page at 50 degrees reads as -40. The limit guards against what is
#: not text: on pure noise it answered 33.4 degrees, and turning a flat page by such an
#: answer ruins its OCR. Hand-held photos of a page are seldom turned by more than a few
#: degrees (the benchmark's distortions: 1-3; issue 13's photo: 3.5).
#: NOTE: the boxes mapped back to the photo are put in reading order by
#: :mod:`core.page.skew`, which searches +-6 degrees (``SKEW_LIMIT``) and needs boxes
#: that neighbour on a line. Read right on the upright copy, Tesseract's word boxes
#: beyond 6 degrees (page CER 0-0.37 at 8 degrees, 0.50-0.80 at 10-15; 1.0 unturned)
#: and EasyOCR's whole-line boxes at any skew (0.300 at 3.5-6 degrees; 0.018 unturned)
#: come out with their lines mixed; hence ``deskew: false`` for EasyOCR in serve.yaml.
MAX_ROTATION_DEG = 15.0

#: An affine map ``(a, b, c, d, e, f)``: ``x = a*u + b*v + c``, ``y = d*u + e*v + f``
#: (Pillow's ``Image.Transform.AFFINE`` data), from a point ``(u, v)`` of one image to
#: ``(x, y)`` of another.
Affine = tuple[float, float, float, float, float, float]

#: The map that leaves every point where it is.
IDENTITY: Affine = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

#: Modes turned as they are; others (palette, 1-bit, CMYK...) are converted first.
_ROTATABLE_MODES = frozenset({"L", "LA", "RGB", "RGBA"})
_WHITE = (255, 255, 255)


def measure_skew(image: Image.Image, max_side: int = ESTIMATE_MAX_SIDE) -> float | None:
    """The page's skew, measured on its pixels with ``deskew.determine_skew``.

    Args:
        image: The page photo, any Pillow mode; transparent parts count as white.
        max_side: The estimate runs on a grey copy scaled down (box filter) so that
            its longest side is at most this many pixels; must be >= 1.

    Returns:
        Degrees, in ``[-45, 45)``, positive when the text lines rise to the right;
        ``None`` when no line was found (a blank or tiny image). Resolution
        :data:`ANGLE_STEP_DEG`.

    Raises:
        ValueError: ``max_side`` < 1.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    grey = _grey(image)
    scale = max_side / max(grey.size)
    if scale < 1:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BOX)
    correction = determine_skew(np.asarray(grey), min_deviation=ANGLE_STEP_DEG)
    # determine_skew answers the counter-clockwise rotation that levels the lines
    # (subtracted from 0.0 rather than negated, so a level page gives 0.0, not -0.0).
    return None if correction is None else 0.0 - float(correction)


def rotate(
    image: Image.Image, degrees: float, fill: tuple[int, ...] | int | None = None
) -> tuple[Image.Image, Affine]:
    """Turn an image about its centre, enlarging the canvas to keep every pixel.

    The same as ``image.rotate(degrees, expand=True, resample=BICUBIC,
    fillcolor=fill)``, which is Pillow's affine transform with this rotation's
    matrix; calling ``Image.transform`` with the matrix built here makes the returned
    map the one applied, rather than a copy of Pillow's internal arithmetic.

    Args:
        image: Any mode; palette and other modes Pillow cannot resample bicubically
            are converted to RGB (RGBA when the image has transparency) first.
        degrees: Counter-clockwise, as ``Image.rotate``.
        fill: Colour of the corners the turned image does not cover, in the image's
            (converted) mode; ``None`` takes the median colour of the image's border
            (white paper stays white, a desk around a page stays the desk's colour).

    Returns:
        The turned image, about ``w |cos| + h |sin|`` x ``w |sin| + h |cos|`` pixels
        for a ``w`` x ``h`` input (the same size and pixels as ``Image.rotate``'s),
        and the map from its pixels to the input's.
    """
    if image.mode not in _ROTATABLE_MODES:
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if fill is None:
        fill = _border_colour(image)
    theta = math.radians(degrees)
    # Rounded to 15 digits as Image.rotate does, so both give the same pixels.
    cos, sin = round(math.cos(theta), 15), round(math.sin(theta), 15)
    width, height = image.size
    cx, cy = width / 2, height / 2
    # With y pointing down, a counter-clockwise turn by theta moves an offset (p, q)
    # from the centre to (p cos + q sin, -p sin + q cos). Canvas as Image.rotate's:
    # the turned corners' extent, out to whole pixels.
    corners = [(x - cx, y - cy) for x, y in ((0, 0), (width, 0), (width, height), (0, height))]
    xs = [cx + p * cos - q * sin for p, q in corners]
    ys = [cy + p * sin + q * cos for p, q in corners]
    out_w = math.ceil(max(xs)) - math.floor(min(xs))
    out_h = math.ceil(max(ys)) - math.floor(min(ys))
    ox, oy = out_w / 2, out_h / 2
    # A point (u, v) of the output turned back about the centres (the inverse turn).
    to_input: Affine = (
        cos, -sin, cx - cos * ox + sin * oy,
        sin, cos, cy - sin * ox - cos * oy,
    )  # fmt: skip
    turned = image.transform(
        (out_w, out_h),
        Image.Transform.AFFINE,
        to_input,
        resample=Image.Resampling.BICUBIC,
        fillcolor=fill,
    )
    return turned, to_input


def map_point(transform: Affine, x: float, y: float) -> tuple[float, float]:
    """``(x, y)`` mapped by ``transform``, in pixels."""
    a, b, c, d, e, f = transform
    return a * x + b * y + c, d * x + e * y + f


def map_result(result: ImageProcessingResult, transform: Affine) -> ImageProcessingResult:
    """An OCR result with every box corner mapped by ``transform``.

    Boxes keep their text, confidence, order and corner names (a box's ``left_top`` is
    still its text's top-left corner, wherever the turn puts it), so a box that was
    axis-aligned on the upright copy becomes a turned quadrilateral on the photo, as
    the text is. Corners are rounded to whole pixels (:class:`Point`) and not clamped:
    a box read in a corner the turn added may lie partly outside the photo.

    Args:
        result: Boxes in the pixels of one image (e.g. the upright copy).
        transform: Map to the pixels of another (e.g. ``Deskewed.to_original``).

    Returns:
        A new result; ``result`` itself when ``transform`` is :data:`IDENTITY`.
    """
    if transform == IDENTITY:
        return result

    def moved(point: Point) -> Point:
        x, y = map_point(transform, point.x, point.y)
        return Point(x=x, y=y)

    boxes = [
        ImageTextBox(
            text=box.text,
            coordinates=Rectangle(
                left_top=moved(box.coordinates.left_top),
                right_top=moved(box.coordinates.right_top),
                left_bottom=moved(box.coordinates.left_bottom),
                right_bottom=moved(box.coordinates.right_bottom),
            ),
            confidence=box.confidence,
        )
        for box in result.boxes
    ]
    return ImageProcessingResult(text=result.text, boxes=boxes)


@dataclass(frozen=True)
class Deskewed:
    """A page photo made upright, and the way back to the photo's pixels.

    Attributes:
        image: The upright image; the input itself when it was not turned.
        skew_deg: The measured skew, degrees (see :func:`measure_skew`); ``None``
            when nothing was measured.
        rotation_deg: The counter-clockwise turn applied, degrees; 0.0 when the image
            was left alone (skew unmeasured, or outside the limits).
        to_original: Map from ``image``'s pixels to the input's (:data:`IDENTITY`
            when not turned).
    """

    image: Image.Image
    skew_deg: float | None
    rotation_deg: float
    to_original: Affine

    @property
    def rotated(self) -> bool:
        """Whether the image was turned."""
        return self.rotation_deg != 0.0

    def restore(self, result: ImageProcessingResult) -> ImageProcessingResult:
        """A result read on ``image`` with its boxes in the input's pixels."""
        return map_result(result, self.to_original)


def deskew_image(
    image: Image.Image,
    *,
    min_deg: float = MIN_ROTATION_DEG,
    max_deg: float = MAX_ROTATION_DEG,
    max_side: int = ESTIMATE_MAX_SIDE,
) -> Deskewed:
    """Measure a page photo's skew and turn it upright when the skew is worth it.

    Args:
        image: The page photo, any Pillow mode (see :func:`rotate`).
        min_deg: Skews of smaller magnitude are left alone (:data:`MIN_ROTATION_DEG`).
        max_deg: Skews of larger magnitude are not trusted and left alone
            (:data:`MAX_ROTATION_DEG`).
        max_side: See :func:`measure_skew`.

    Returns:
        The upright image with its map back to ``image``'s pixels; the input itself
        and :data:`IDENTITY` when ``min_deg <= |skew| <= max_deg`` does not hold.

    Raises:
        ValueError: ``max_side`` < 1.
    """
    skew = measure_skew(image, max_side)
    if skew is None or not min_deg <= abs(skew) <= max_deg:
        return Deskewed(image, skew, 0.0, IDENTITY)
    upright, to_original = rotate(image, -skew)
    return Deskewed(upright, skew, -skew, to_original)


@dataclass(frozen=True)
class UprightPage:
    """The file a plugin should read for one input image, and the way back.

    Attributes:
        path: The upright copy, or the input path itself when it was not turned.
        skew_deg: The measured skew, degrees; ``None`` when deskewing was off, nothing
            was measured, or the file could not be opened (the plugin then reads the
            original and reports the error itself).
        to_original: Map from ``path``'s pixels to the input's.
    """

    path: str
    skew_deg: float | None = None
    to_original: Affine = IDENTITY

    def restore(self, result: ImageProcessingResult) -> ImageProcessingResult:
        """A result read on ``path`` with its boxes in the input image's pixels."""
        return map_result(result, self.to_original)


@contextmanager
def upright_pages(paths: Sequence[str], enabled: bool = True) -> Iterator[list[UprightPage]]:
    """Upright copies of image files, for the time a plugin reads them.

    Each image that :func:`deskew_image` turns is written as a PNG (lossless,
    fastest compression) into a temporary folder removed on exit; the others are
    read from their own path. Cost on this 2-core CPU: 0.2 s for a benchmark page of
    1200 x 500 px (turned or not), 0.5 s for a turned 1300 x 1960 px page, 2.3 s for a
    turned 23-megapixel photo (measuring 0.3 s, turning 1.1 s, writing 0.7 s).

    Args:
        paths: Image files.
        enabled: ``False`` yields every path as it is, without opening it.

    Yields:
        One :class:`UprightPage` per path, in order.

    Raises:
        OSError: the temporary folder or a copy could not be written.
    """
    with ExitStack() as stack:
        pages: list[UprightPage] = []
        folder: Path | None = None
        for index, path in enumerate(paths):
            deskewed = _deskew_file(path) if enabled else None
            if deskewed is None or not deskewed.rotated:
                pages.append(UprightPage(path, None if deskewed is None else deskewed.skew_deg))
                continue
            if folder is None:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="upright-")))
            copy = folder / f"{index}.png"
            deskewed.image.save(copy, format="PNG", compress_level=1)
            pages.append(UprightPage(str(copy), deskewed.skew_deg, deskewed.to_original))
        yield pages


def _deskew_file(path: str) -> Deskewed | None:
    try:
        with Image.open(path) as image:
            image.load()
            deskewed = deskew_image(image)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        # Not an image Pillow reads: the plugin reads the original and says why.
        logger.warning("Not deskewed, %s could not be read: %s", path, error)
        return None
    if deskewed.rotated:
        logger.debug("Deskewed %s: skew %.2f degrees", path, deskewed.skew_deg)
    return deskewed


def _grey(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit grey, transparent parts composited on white."""
    if image.has_transparency_data:
        flat = Image.new("RGBA", image.size, _WHITE)
        flat.alpha_composite(image.convert("RGBA"))
        return flat.convert("L")
    return image.convert("L")


def _border_colour(image: Image.Image) -> tuple[int, ...] | int:
    """Median colour of the image's outermost rows and columns, per band."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    median = tuple(int(v) for v in np.median(edge, axis=0))
    return median[0] if len(median) == 1 else median
