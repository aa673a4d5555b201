"""The reference text word by word, each word marked as read correctly or as a miscue.

A comparison's errors point into the reference text with ``ref_char``: the offset of
``expected`` in ``image.text`` (audio/image) or in the ``text`` items joined with
single spaces (audio/text); for an insertion, the offset of the word it was read
before (the text's length at the end). :func:`marked_text` cuts the text at those
spans: the words outside them are correct, a span is one substitution or omission
(a skipped line is one omission of several words), and insertions sit between words.

Results computed before ``ref_char`` existed, or whose offsets do not fit the text
(``expected`` is not at ``ref_char``), are placed by looking ``expected`` up in the
text after the previous miscue. A miscue that cannot be placed, or that overlaps one
already placed, is left out of the text (the report's table still lists it).

The module is pure: it depends only on the standard library and :mod:`core.results`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from core.results import MiscueReport

__all__ = ["MarkedWord", "WordStatus", "kind_of", "marked_text"]

WordStatus = Literal["correct", "substitution", "omission", "insertion"]

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class MarkedWord:
    """One piece of the marked text.

    Attributes:
        text: The printed word; for a substitution or an omission, the printed
            word(s) of the miscue (several words for a skipped line); for an
            insertion, the word(s) heard that are not on the page.
        status: ``"correct"``, ``"substitution"``, ``"omission"`` or ``"insertion"``.
        heard: What was heard instead, for a substitution (``""`` otherwise).
        number: The miscue's 1-based position in the errors given (the report's
            table row), ``None`` for a correct word.
        space_before: Whether a space separates this piece from the previous one
            (always false for the first piece).
    """

    text: str
    status: WordStatus
    heard: str = ""
    number: int | None = None
    space_before: bool = True


@dataclass(frozen=True)
class _Span:
    start: int
    end: int  # == start for an insertion
    index: int  # in the errors given


def kind_of(error: MiscueReport) -> WordStatus:
    """The error's type; for results from before ``type`` existed, inferred from which
    of ``expected`` and ``found`` is empty."""
    if error.type is not None:
        return error.type
    if not error.expected:
        return "insertion"
    return "omission" if not error.found else "substitution"


def _whole_words(text: str, expected: str, start: int) -> int:
    """Offset of the first occurrence of ``expected`` as whole words from ``start``, or -1."""
    match = re.compile(rf"(?<!\S){re.escape(expected)}(?!\S)").search(text, start)
    return match.start() if match else -1


def _word_start(text: str, at: int) -> int:
    """``at``, moved back to the start of the word it falls inside (if it does)."""
    while 0 < at < len(text) and not text[at - 1].isspace() and not text[at].isspace():
        at -= 1
    return at


def _located(text: str, errors: Sequence[MiscueReport]) -> list[_Span]:
    """Where each placeable error is in ``text``; overlapping spans keep the first."""
    spans: list[_Span] = []
    cursor = 0  # the look-up of an error without a usable ref_char starts here
    for index, error in enumerate(errors):
        expected, at = error.expected or "", error.ref_char
        if kind_of(error) == "insertion":
            if at is not None and 0 <= at <= len(text) and error.found:
                spans.append(_Span(_word_start(text, at), _word_start(text, at), index))
            continue
        if not expected.strip():
            continue
        if at is None or text[at : at + len(expected)] != expected:
            # A missing or stale offset: the next occurrence after the previous miscue.
            at = _whole_words(text, expected, cursor)
            if at < 0:
                continue
        spans.append(_Span(at, at + len(expected), index))
        cursor = at + len(expected)
    kept: list[_Span] = []
    last = -1  # index in kept of the last miscue with words (spans come sorted by start)
    # Insertions first at a position: they were read before the word that starts there.
    for span in sorted(spans, key=lambda s: (s.start, s.end != s.start, s.index)):
        if last >= 0 and span.start < kept[last].end:
            if span.end == span.start:  # read inside a miscue's words: shown before them
                kept.insert(last, _Span(kept[last].start, kept[last].start, span.index))
                last += 1
            continue  # overlaps a miscue already placed: listed in the table only
        kept.append(span)
        if span.end > span.start:
            last = len(kept) - 1
    return kept


def marked_text(text: str, errors: Sequence[MiscueReport]) -> list[MarkedWord]:
    """The reference text as words and miscues, in reading order.

    Args:
        text: The reference text the errors' ``ref_char`` offsets point into
            (``image.text``, or the ``text`` items joined with single spaces).
        errors: The comparison's errors, in the order the report lists them; each
            piece's ``number`` is its error's position in this sequence, from 1.

    Returns:
        The pieces: correct words one by one (split at whitespace), each
        substitution and omission as one piece holding its printed words, and each
        insertion as a piece of its own before the word it was read before.
        Concatenating the non-insertion pieces' texts, with a space where
        ``space_before`` is set, gives the text back up to whitespace runs.
    """
    pieces: list[MarkedWord] = []
    gap = False  # whitespace seen since the last piece

    def words(start: int, end: int) -> None:
        nonlocal gap
        position = start
        for match in _WORD.finditer(text, start, end):
            gap = gap or match.start() > position
            add(MarkedWord(match.group(), "correct", space_before=gap))
            position = match.end()
        gap = gap or position < end

    def add(piece: MarkedWord) -> None:
        nonlocal gap
        previous = pieces[-1] if pieces else None
        # An insertion has no whitespace of its own in the text: it is set apart by spaces.
        apart = gap or piece.status == "insertion" or (
            previous is not None and previous.status == "insertion"
        )
        pieces.append(MarkedWord(piece.text, piece.status, piece.heard, piece.number,
                                 space_before=previous is not None and apart))
        gap = False

    position = 0
    for span in _located(text, errors):
        words(position, span.start)
        position = max(position, span.start)
        error = errors[span.index]
        if span.end == span.start:
            add(MarkedWord(error.found, "insertion", error.found, span.index + 1))
            continue
        status = kind_of(error)
        heard = error.found if status == "substitution" else ""
        add(MarkedWord(text[span.start : span.end], status, heard, span.index + 1))
        position = span.end
    words(position, len(text))
    return pieces
