"""Draw reading miscues on the photo of the page.

Each miscue is a :class:`Mark`: its type and the box(es) of the printed word(s) it
concerns. :func:`annotate_page` outlines the boxes in the type's colour, writes an
optional label above them, and adds a legend strip **below** the image listing
every type with its colour and how many marks it has. The output PNG is therefore
as wide as the input and taller by the strip; the page itself is not covered, and
pixel coordinates on it are unchanged (pixels, origin top-left, x right, y down).

Colours are from the Okabe-Ito palette (M. Okabe and K. Ito, "Color Universal
Design (CUD): How to make figures and presentations that are friendly to colorblind
people", 2002/2008, https://jfly.uni-koeln.de/color/), which stays distinguishable
for the common colour-vision deficiencies; of its eight colours, the three with the
most contrast against white paper are used.

The module is pure: it depends only on Pillow and :mod:`core.plugins.types`.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.plugins.types import Rectangle

__all__ = ["MISCUE_COLOURS", "Mark", "annotate_page", "legend_entries"]

RGB = tuple[int, int, int]

#: Outline colour of each miscue type (Okabe-Ito vermillion, blue, bluish green).
MISCUE_COLOURS: dict[str, RGB] = {
    "substitution": (213, 94, 0),
    "omission": (0, 114, 178),
    "insertion": (0, 158, 115),
}

_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)
_FONT_NAME = "DejaVuSans.ttf"


@dataclass(frozen=True)
class Mark:
    """One miscue to draw.

    Attributes:
        type: ``"substitution"``, ``"omission"`` or ``"insertion"`` (the keys of
            :data:`MISCUE_COLOURS`).
        boxes: Where on the page, in pixels of the input image: the box(es) of the
            word; for an insertion, the box of the word it precedes or follows. A
            mark with no boxes is counted in the legend but not drawn.
        label: Short text written above the first box, e.g. ``'said "horse"'``.
        rtl: The word is right-to-left script (Arabic, Hebrew; see
            :func:`core.page.direction.is_rtl`), so it starts at its box's right
            edge: the label is aligned to that edge instead of the left one.
    """

    type: str
    boxes: tuple[Rectangle, ...]
    label: str | None = None
    rtl: bool = False


def legend_entries(marks: Sequence[Mark]) -> list[tuple[str, RGB, int]]:
    """The legend's rows: ``(type, colour, number of marks)`` for every type.

    Every type of :data:`MISCUE_COLOURS` is listed, in that order, even with a count
    of 0 (so the reader sees there were none).

    Raises:
        ValueError: A mark has a type that is not in :data:`MISCUE_COLOURS`.
    """
    counts = dict.fromkeys(MISCUE_COLOURS, 0)
    for mark in marks:
        if mark.type not in counts:
            known = ", ".join(MISCUE_COLOURS)
            raise ValueError(f"Unknown miscue type {mark.type!r}; expected one of {known}")
        counts[mark.type] += 1
    return [(kind, colour, counts[kind]) for kind, colour in MISCUE_COLOURS.items()]


@functools.lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_FONT_NAME, size)
    except OSError:
        # No DejaVu on this machine: Pillow's bundled font (scalable when FreeType is built in).
        return ImageFont.load_default(size)


def _text_colour(background: RGB) -> RGB:
    """Black or white, whichever reads better on ``background``.

    Uses the WCAG 2 relative luminance: black when it is above 0.179, where both
    give the same contrast ratio.
    """

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in background)
    return _BLACK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else _WHITE


def _load_rgb(image: bytes | Path | Image.Image) -> Image.Image:
    """The image upright (EXIF orientation applied) as RGB, transparency on white."""
    if isinstance(image, Image.Image):
        source = image
    elif isinstance(image, (bytes, bytearray)):
        source = Image.open(io.BytesIO(image))
    else:
        source = Image.open(image)
    # OCR ran on the upload stored upright (core.uploads.images), so boxes are in that frame.
    upright = ImageOps.exif_transpose(source)
    if upright.has_transparency_data:
        # Transparent parts would turn black in a plain convert("RGB").
        page = Image.new("RGBA", upright.size, (*_WHITE, 255))
        page.alpha_composite(upright.convert("RGBA"))
        return page.convert("RGB")
    return upright.convert("RGB")


def _corners(rect: Rectangle) -> list[tuple[int, int]]:
    """The quadrilateral's corners in drawing order (around the edge)."""
    points = (rect.left_top, rect.right_top, rect.right_bottom, rect.left_bottom)
    return [(p.x, p.y) for p in points]


def _draw_label(
    draw: ImageDraw.ImageDraw,
    rect: Rectangle,
    text: str,
    colour: RGB,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    gap: int,
    rtl: bool = False,
) -> None:
    """A tag filled with ``colour`` just above ``rect`` (below it at the image top).

    The tag starts at the box's left edge, or ends at its right edge when ``rtl``
    (kept on the image when the box is narrower than the tag).
    """
    left, top, right, bottom = rect.bounds()
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    pad = max(1, gap)
    width, height = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    if rtl:
        left = max(0, right - width)
    y = top - gap - height
    if y < 0:
        y = bottom + gap
    draw.rectangle((left, y, left + width, y + height), fill=colour)
    draw.text((left + pad - x0, y + pad - y0), text, fill=_text_colour(colour), font=font)


def _legend_strip(
    width: int,
    entries: list[tuple[str, RGB, int]],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> Image.Image:
    """A white strip with a swatch and ``"type: count"`` per entry, wrapped to ``width``."""
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    texts = [f"{kind}: {count}" for kind, _, count in entries]
    boxes = [probe.textbbox((0, 0), text, font=font) for text in texts]
    line = max(b[3] for b in boxes)
    swatch = line
    margin = max(4, line // 2)
    # Lay entries out left to right, starting a new row when one would not fit.
    placed: list[tuple[int, int]] = []
    x, row = margin, 0
    for box in boxes:
        entry_width = swatch + margin // 2 + box[2]
        if x > margin and x + entry_width > width - margin:
            x, row = margin, row + 1
        placed.append((x, margin + row * (line + margin)))
        x += entry_width + 2 * margin
    strip = Image.new("RGB", (width, margin + (row + 1) * (line + margin)), _WHITE)
    draw = ImageDraw.Draw(strip)
    draw.line((0, 0, width, 0), fill=(128, 128, 128), width=1)  # separates it from the page
    for (kind_x, y), (_, colour, _), text in zip(placed, entries, texts, strict=True):
        draw.rectangle((kind_x, y, kind_x + swatch - 1, y + swatch - 1), fill=colour)
        draw.text((kind_x + swatch + margin // 2, y), text, fill=_BLACK, font=font)
    return strip


def annotate_page(image: bytes | Path | Image.Image, marks: Sequence[Mark]) -> bytes:
    """Draw the miscues on the page image and add a legend below it.

    Each mark's boxes are outlined (inside the box edge) in the colour of its type
    (:data:`MISCUE_COLOURS`), with a line width of ``max(2, round(width / 400))``
    pixels; a label, when given, is written on a tag of that colour above the
    mark's first box, starting at its left edge (ending at its right edge for a
    right-to-left word, :attr:`Mark.rtl`). Text is laid out by Pillow, with
    libraqm when available, which shapes Arabic and orders mixed-direction labels.
    The legend is a white strip added below the image listing each type, its colour
    swatch and its number of marks (:func:`legend_entries`).

    Args:
        image: The page: encoded image bytes, a path to an image file, or a PIL
            image (not modified). Any mode; transparency is flattened onto white,
            and an EXIF orientation is applied, as :mod:`core.uploads.images` does on upload.
        marks: The miscues; box coordinates in pixels of the (upright) image.

    Returns:
        PNG bytes of an RGB image as wide as the input and taller by the legend
        strip; the page occupies the top rows unchanged apart from the marks.

    Raises:
        ValueError: A mark has an unknown type (checked before anything is read).
        PIL.UnidentifiedImageError: ``image`` bytes or file are not an image.
        OSError: The file cannot be read.
    """
    entries = legend_entries(marks)
    page = _load_rgb(image)
    width, height = page.size
    line_width = max(2, round(width / 400))
    font = _font(max(12, round(width / 80)))

    draw = ImageDraw.Draw(page)
    for mark in marks:
        for rect in mark.boxes:
            draw.polygon(_corners(rect), outline=MISCUE_COLOURS[mark.type], width=line_width)
    # Labels after all outlines, so no outline is drawn over a label.
    for mark in marks:
        if mark.label and mark.boxes:
            colour = MISCUE_COLOURS[mark.type]
            _draw_label(draw, mark.boxes[0], mark.label, colour, font, line_width, mark.rtl)

    strip = _legend_strip(width, entries, font)
    out = Image.new("RGB", (width, height + strip.height), _WHITE)
    out.paste(page, (0, 0))
    out.paste(strip, (0, height))
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")
    return buffer.getvalue()
