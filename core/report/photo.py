"""A comparison's errors as marks on the photo of the page (:mod:`core.page.annotate`).

Shared by the annotated photo (``GET /v1/comparison/audio/image/annotated``) and the
report, so that both draw the same boxes with the same labels.

The module is pure: it depends only on Pillow, :mod:`core.page` and :mod:`core.results`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from core.page.annotate import Mark, annotate_page
from core.page.direction import is_rtl
from core.results import MiscueReport

__all__ = ["annotated_photo", "fit_for_print", "miscue_label", "miscue_marks"]


def miscue_label(error: MiscueReport) -> str:
    """The tag written above a miscue's box: ``skipped``, ``added "…"`` or ``read "…"``."""
    if error.type == "omission":
        return "skipped"
    if error.type == "insertion":
        return f'added "{error.found}"'
    return f'read "{error.found}"'


def miscue_marks(errors: Sequence[MiscueReport]) -> list[Mark]:
    """One mark per error that has a type and boxes on the photo (pixels), in order.

    Errors without ``type`` (results from before it existed) or ``boxes`` (audio/text,
    or words the OCR gave no box for) are not drawn.
    """
    return [
        Mark(type=e.type, boxes=tuple(e.boxes), label=miscue_label(e),
             rtl=is_rtl(e.expected or e.found))
        for e in errors
        if e.type and e.boxes
    ]


def annotated_photo(photo: bytes | Path, errors: Sequence[MiscueReport]) -> bytes:
    """The photo with the errors drawn on it and the legend below, as PNG bytes.

    Blocking (decodes and encodes the image): call it in a worker thread from async code.

    Args:
        photo: The stored upload (PNG bytes or its path).
        errors: The errors to draw (already filtered by confidence, if wanted).

    Raises:
        PIL.UnidentifiedImageError: The photo is not an image.
        OSError: The file cannot be read.
    """
    return annotate_page(photo, miscue_marks(errors))


def fit_for_print(png: bytes, max_width: int = 1800) -> bytes:
    """``png`` scaled down to at most ``max_width`` pixels wide (PNG bytes again).

    An A4 page's text column is about 180 mm: 1800 pixels print it at 250 dpi, so
    wider photos only make the report heavier. Narrower ones are returned as they are.

    Raises:
        PIL.UnidentifiedImageError: ``png`` is not an image.
    """
    with Image.open(io.BytesIO(png)) as image:
        if image.width <= max_width:
            return png
        height = max(1, round(image.height * max_width / image.width))
        smaller = image.convert("RGB").resize((max_width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    smaller.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
