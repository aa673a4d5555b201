"""The reference text, piece by piece, as it was read: what a display colours.

:func:`mark_reading` splits the page's text (``ImageComparison.reference_text``, or
the text of an audio/text comparison joined with spaces) at each miscue's
``ref_char``: runs read correctly, the words substituted (with what was heard), the
words skipped, and the words inserted, at their place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from fmr_client.models import Miscue

__all__ = ["Piece", "PieceKind", "mark_reading"]

PieceKind = Literal["correct", "substitution", "omission", "insertion", "space"]


@dataclass(frozen=True)
class Piece:
    """A piece of the reading.

    Attributes:
        text: The reference's words (for an insertion, the words heard).
        kind: ``correct``, ``substitution``, ``omission``, ``insertion`` or
            ``space`` (the whitespace between words, as in the reference).
        heard: For a substitution, what was heard instead.
        miscue: The miscue behind the piece, if any.
    """

    text: str
    kind: PieceKind
    heard: str | None = None
    miscue: Miscue | None = None


def mark_reading(reference: str, errors: Iterable[Miscue]) -> list[Piece]:
    """The reference text cut into pieces by the miscues (see :class:`Piece`).

    Miscues without ``ref_char`` (results of an older service), or overlapping an
    earlier one, are left out; the text is kept whole either way: joining the pieces
    but those of insertions (the words, and the space after them) gives ``reference``.
    """
    marks = sorted(
        (e for e in errors if e.ref_char is not None and e.type is not None),
        key=lambda e: (e.ref_char, e.type != "insertion"),
    )
    pieces: list[Piece] = []
    position = 0
    for miscue in marks:
        start = miscue.ref_char
        assert start is not None
        if start < position or start > len(reference):
            continue
        _plain(reference[position:start], pieces)
        if miscue.type == "insertion":
            pieces.append(Piece(miscue.found, "insertion", miscue.found, miscue))
            if start < len(reference) and not reference[start].isspace():
                pieces.append(Piece(" ", "space", miscue=miscue))
            position = start
            continue
        end = min(start + len(miscue.expected), len(reference))
        heard = miscue.found if miscue.type == "substitution" else None
        pieces.append(Piece(reference[start:end], miscue.type, heard, miscue))
        position = end
    _plain(reference[position:], pieces)
    return pieces


def _plain(text: str, pieces: list[Piece]) -> None:
    """Append ``text`` read correctly: words and the whitespace between them."""
    word = []
    for char in text:
        if char.isspace():
            if word:
                pieces.append(Piece("".join(word), "correct"))
                word = []
            if pieces and pieces[-1].kind == "space":
                pieces[-1] = Piece(pieces[-1].text + char, "space")
            else:
                pieces.append(Piece(char, "space"))
        else:
            word.append(char)
    if word:
        pieces.append(Piece("".join(word), "correct"))
