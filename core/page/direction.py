"""Writing direction of OCR text: which text reads right to left, and in what order.

Arabic and Hebrew are read right to left: the first word of a line is its rightmost
box. Direction is decided from the Unicode bidirectional types of the characters
(``unicodedata.bidirectional``; Unicode Standard Annex #9, "Unicode Bidirectional
Algorithm", https://www.unicode.org/reports/tr9/): ``R`` (Hebrew, ...) and ``AL``
(Arabic letters) are strong right-to-left, ``L`` (Latin, Cyrillic, ...) strong
left-to-right; digits, punctuation, spaces and marks are weak or neutral and count
for neither.

A right-to-left line may hold left-to-right runs (a Latin name, "Harry Potter"):
those words are read left to right inside the run while the line reads right to
left (UAX #9 rule L2). :func:`rtl_order` does this at the level of whole boxes or
words. It simplifies UAX #9: a box with no strong character (a number, a dash)
joins a left-to-right run only when the nearest strong boxes on both sides are
left-to-right (rule N1), so a number following a Latin word but followed by Arabic
is read as part of the right-to-left flow (rule W7 would attach it to the Latin
word).

The module is pure: it depends only on the standard library.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

__all__ = ["BIDI_CONTROLS", "is_rtl", "rtl_order", "strip_bidi_controls", "text_direction"]

_RTL_TYPES = frozenset({"R", "AL"})

#: Invisible bidirectional formatting characters (LRM, RLM, ALM, embeddings,
#: overrides, isolates). Tesseract puts RLM after Latin words on Arabic lines.
BIDI_CONTROLS = frozenset(
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _strong_counts(text: str) -> tuple[int, int]:
    """``(left-to-right, right-to-left)`` strong characters in ``text``."""
    ltr = rtl = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            ltr += 1
        elif kind in _RTL_TYPES:
            rtl += 1
    return ltr, rtl


def text_direction(text: str) -> Literal["ltr", "rtl"] | None:
    """The direction most of the text's strong characters have.

    Returns:
        ``"rtl"`` when it has more strong right-to-left characters (bidi type ``R``
        or ``AL``) than left-to-right ones (``L``), ``"ltr"`` when it has more
        left-to-right ones, ``None`` on a tie (e.g. only digits or punctuation).
    """
    ltr, rtl = _strong_counts(text)
    if rtl > ltr:
        return "rtl"
    if ltr > rtl:
        return "ltr"
    return None


def is_rtl(text: str) -> bool:
    """Whether the text is mostly right-to-left script (Arabic, Hebrew, ...).

    True when it has more strong right-to-left characters than left-to-right ones
    (see :func:`text_direction`); text with no strong character is not.
    """
    return text_direction(text) == "rtl"


def strip_bidi_controls(text: str) -> str:
    """``text`` without the invisible characters of :data:`BIDI_CONTROLS`."""
    return "".join(char for char in text if char not in BIDI_CONTROLS)


def rtl_order(texts: Sequence[str]) -> list[int]:
    """Switch the items of a right-to-left line between image order and reading order.

    Given the texts of a right-to-left line's boxes (or words) left to right as they
    sit on the image, returns their indices in reading order: right to left, except
    that runs of left-to-right items stay left to right (see the module docstring).
    The mapping is its own inverse, so given the texts in reading order it returns
    their indices left to right on the image.

    Args:
        texts: One text per item, in either order.

    Returns:
        A permutation of ``range(len(texts))``.
    """
    kinds = [text_direction(text) for text in texts]
    in_run = [kind == "ltr" for kind in kinds]
    for i, kind in enumerate(kinds):
        if kind is None:
            before = next((k for k in reversed(kinds[:i]) if k is not None), None)
            after = next((k for k in kinds[i + 1 :] if k is not None), None)
            in_run[i] = before == after == "ltr"
    order = list(range(len(texts)))[::-1]
    result: list[int] = []
    run: list[int] = []
    for index in order:
        if in_run[index]:
            run.append(index)
            continue
        result.extend(reversed(run))
        run = []
        result.append(index)
    result.extend(reversed(run))
    return result
