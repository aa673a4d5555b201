"""The words printed on a page, in reading order, each with where it is on the image.

OCR boxes hold a word (Tesseract) or a phrase or whole line (EasyOCR). To point at a
single misread word, the page text is rebuilt here as a list of words, each knowing
its character span in the page text and its box(es) on the image:

1. Boxes are put in reading order by :func:`core.page.layout.order_boxes` (columns, then
   lines), which also says where each printed line ends.
2. Each box is split into words by :func:`split_box`, which estimates every word's
   box from the box's geometry (right to left for Arabic or Hebrew text).
3. A word broken by a hyphen at the end of a line ("exam-" / "ple") is joined back
   into one word with two boxes.

Coordinates are pixels in the uploaded image, origin top-left, x to the right,
y down. Punctuation stays attached to words as printed ("path." stays "path.");
normalisation for matching is :mod:`core.reading.text_diff`'s job.

The module is pure: it depends only on :mod:`core.page.direction`, :mod:`core.page.layout`
and :mod:`core.plugins.types`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageFont

from core.page.direction import is_rtl, rtl_order
from core.page.layout import join_ordered, order_boxes
from core.plugins.types import ImageProcessingResult, ImageTextBox, Point, Rectangle

__all__ = ["HYPHENS", "PageText", "PageWord", "line_words", "read_page", "split_box"]

#: Characters that hyphenate a word at a line end: hyphen-minus, hyphen (U+2010),
#: soft hyphen (U+00AD) and non-breaking hyphen (U+2011).
HYPHENS = frozenset("-\u2010\u00ad\u2011")

_SOFT_HYPHEN = "\u00ad"


@dataclass(frozen=True)
class PageWord:
    """One word on the page.

    Attributes:
        text: The word as printed, punctuation kept, a line-end hyphenation joined
            ("exam-" + "ple" gives "example").
        start: Offset of the word's first character in :attr:`PageText.text`.
        end: Offset just past its last character (exclusive).
        boxes: Its box on the image, in pixels: one per printed piece, so two for a
            word hyphenated across a line end (first piece first).
        confidence: The lowest OCR confidence (0..1) of the boxes it came from that
            report one; None when none does.
        low_confidence: ``confidence`` is known and below the threshold given to
            :func:`line_words`.
    """

    text: str
    start: int
    end: int
    boxes: tuple[Rectangle, ...]
    confidence: float | None
    low_confidence: bool


@dataclass(frozen=True)
class PageText:
    """The page's words in reading order.

    Attributes:
        text: The words' texts joined by single spaces; ``text[w.start:w.end] == w.text``
            for every word ``w``.
        words: The words in reading order.
    """

    text: str
    words: list[PageWord]


def _lerp(a: Point, b: Point, t: float) -> tuple[float, float]:
    """The point a fraction ``t`` of the way from ``a`` to ``b``, in (float) pixels."""
    return a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t


def split_box(box: ImageTextBox) -> list[tuple[str, Rectangle]]:
    """Split a box holding several words into one estimated box per word.

    The words are joined with single spaces and each character's share of the box
    is its advance width in a reference proportional font (DejaVu Sans, measured
    with Pillow's ``ImageFont.getlength``; every character the same width when
    that font is not installed): a word spanning ``[s, e)`` of the string's total
    width ``n`` gets the part of the box from ``s / n`` to ``e / n`` of the way
    along it. The fractions are applied along the top edge (``left_top`` to
    ``right_top``) and the bottom edge (``left_bottom`` to ``right_bottom``)
    separately, so a rotated or skewed quadrilateral gives word quadrilaterals with
    the same slant. In a box of mostly right-to-left text (Arabic, Hebrew;
    :func:`core.page.direction.is_rtl`) the first word is placed at the right end and
    the words go leftwards, runs of left-to-right words (a Latin name) staying left
    to right (:func:`core.page.direction.rtl_order`). Limits: the page's font is not
    the reference font, and OCR padding around the text is shared out as if it were
    text, so edges can be off by part of a character; use it to point at a word, not
    to crop it.

    Args:
        box: An OCR box; coordinates in pixels, origin top-left, y down.

    Returns:
        ``(word, rectangle)`` pairs in the box's reading order: left to right along
        it, or as placed above for right-to-left text. A box with one word
        gives that word (surrounding whitespace removed) with the box's own
        rectangle; a box with no text gives an empty list. Corners are rounded to
        whole pixels.
    """
    words = box.text.split()
    if len(words) <= 1:
        return [(word, box.coordinates) for word in words]
    rect = box.coordinates
    space = _width(" ")
    total = sum(_width(w) for w in words) + space * (len(words) - 1)
    # Words are laid out left to right in the order they sit on the image.
    placed = rtl_order(words) if is_rtl(box.text) else list(range(len(words)))
    pieces: list[tuple[str, Rectangle] | None] = [None] * len(words)
    start = 0.0
    for index in placed:
        word = words[index]
        end = start + _width(word)
        left_top = _lerp(rect.left_top, rect.right_top, start / total)
        right_top = _lerp(rect.left_top, rect.right_top, end / total)
        left_bottom = _lerp(rect.left_bottom, rect.right_bottom, start / total)
        right_bottom = _lerp(rect.left_bottom, rect.right_bottom, end / total)
        corners = (left_top, right_top, left_bottom, right_bottom)
        lt, rt, lb, rb = (Point(x=x, y=y) for x, y in corners)
        rectangle = Rectangle(left_top=lt, right_top=rt, left_bottom=lb, right_bottom=rb)
        pieces[index] = (word, rectangle)
        start = end + space
    return [piece for piece in pieces if piece is not None]


@lru_cache(maxsize=1)
def _reference_font() -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", 100)
    except OSError:  # font not installed: equal character widths
        return None


@lru_cache(maxsize=4096)
def _width(text: str) -> float:
    """Advance width of ``text`` in the reference font (arbitrary units)."""
    font = _reference_font()
    return font.getlength(text) if font is not None else float(len(text))


@dataclass
class _Word:
    """A word being built: its text, boxes and the known confidences of its boxes."""

    text: str
    boxes: list[Rectangle]
    confidences: list[float]


def _ends_hyphenated(word: str) -> bool:
    # "exam-" yes; a lone dash "-" or "--" is punctuation, not a broken word.
    return len(word) >= 2 and word[-1] in HYPHENS and word[-2].isalnum()


def _join_hyphenated(first: str, second: str) -> str | None:
    """The word ``first`` (ending in a hyphen) and ``second`` make, or None if two words.

    A lower-case continuation means the hyphen only broke the word ("exam-" + "ple"
    is "example"); an upper-case or digit one means the hyphen is part of it
    ("Anglo-" + "Saxon" is "Anglo-Saxon"). A soft hyphen is never printed inside a
    word, so it is always dropped.
    """
    head = second[0]
    if head.islower() or (first[-1] == _SOFT_HYPHEN and (head.isupper() or head.isdigit())):
        return first[:-1] + second
    if head.isupper() or head.isdigit():
        return first + second
    return None


def read_page(
    result: ImageProcessingResult, low_confidence: float = 0.5
) -> tuple[ImageProcessingResult, PageText]:
    """Put an OCR result in reading order once, and rebuild the page's words from it.

    Args:
        result: A plugin's image result, boxes in any order; pixels, origin top-left.
        low_confidence: See :func:`line_words`.

    Returns:
        The result with its boxes in reading order (:func:`core.page.layout.order_boxes`)
        and its text rebuilt from them (:func:`core.page.layout.join_ordered`), and
        the page's words (:func:`line_words`). A result without boxes keeps the
        plugin's own text and gives ``PageText("", [])``.
    """
    if not result.boxes:
        return result, PageText("", [])
    lines = order_boxes(result.boxes)
    ordered = [box for line in lines for box in line]
    page = line_words(lines, low_confidence)
    return ImageProcessingResult(text=join_ordered(ordered), boxes=ordered), page


def line_words(lines: list[list[ImageTextBox]], low_confidence: float = 0.5) -> PageText:
    """Rebuild the page's words in reading order from OCR boxes grouped in lines.

    Boxes (ordered by :func:`core.page.layout.order_boxes`: XY-cut columns, then line
    clustering, right to left in Arabic or Hebrew lines) are split into words by
    :func:`split_box`, and a word ending a line in a hyphen (see :data:`HYPHENS`; at
    least one letter or digit before it) is joined with the first word of the next
    line: without the hyphen when that word starts with a lower-case letter ("exam-" +
    "ple" -> "example"), keeping it when it starts with an upper-case letter or a
    digit ("Anglo-" + "Saxon" -> "Anglo-Saxon"); otherwise they stay two words. Soft
    hyphens are always dropped.
    Boxes with empty text are skipped.

    Args:
        lines: OCR boxes in reading order, grouped by printed line, as
            :func:`core.page.layout.order_boxes` returns them; pixels, origin top-left.
        low_confidence: Words whose confidence is below this (0..1) are marked
            ``low_confidence``.

    Returns:
        The page text (words joined by single spaces) and its words with character
        offsets into it. No boxes gives ``PageText("", [])``.
    """
    built: list[_Word] = []
    for line in lines:
        first_in_line = True
        for box in line:
            known = [] if box.confidence is None else [box.confidence]
            for word, rect in split_box(box):
                joined = None
                if first_in_line and built and _ends_hyphenated(built[-1].text):
                    joined = _join_hyphenated(built[-1].text, word)
                first_in_line = False
                if joined is None:
                    built.append(_Word(word, [rect], list(known)))
                else:
                    previous = built[-1]
                    previous.text = joined
                    previous.boxes.append(rect)
                    previous.confidences.extend(known)

    words: list[PageWord] = []
    offset = 0
    for word in built:
        confidence = min(word.confidences) if word.confidences else None
        words.append(
            PageWord(
                text=word.text,
                start=offset,
                end=offset + len(word.text),
                boxes=tuple(word.boxes),
                confidence=confidence,
                low_confidence=confidence is not None and confidence < low_confidence,
            )
        )
        offset += len(word.text) + 1  # the joining space
    return PageText(text=" ".join(word.text for word in built), words=words)
