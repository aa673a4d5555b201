"""Applying the reading check's verdict: the reading as the audio supports it.

:func:`core.reading.verify.verify_reading` says which miscues the audio supports. The
assessment (:mod:`core.reading.assess`) works on heard words, so the verdict is
turned back into heard words: the page's words, with the accepted miscues in place,
timed from the transcript. :func:`apply_evidence` then gives each assessed miscue
the calibrated probability and the evidence of the check that produced it.

Times are seconds; word indices are indices into the reference's words.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from core.plugins.types import ReadingEdit, ReadingVerification
from core.reading.align import INSERTION, correct_words, miscue_ops
from core.reading.assess import HeardWord, Miscue
from core.reading.loops import drop_reading_loops
from core.reading.timing import word_times

__all__ = ["apply_evidence", "checked_heard"]


def checked_heard(
    reference: Sequence[str],
    heard: Sequence[HeardWord],
    verification: ReadingVerification,
    duration: float,
    language: str = "en",
) -> list[HeardWord]:
    """The heard words of the reading the check accepted.

    Page words outside every accepted miscue are taken as read as printed, with the
    times (and ASR probability, segment and offset) of the transcript words aligned to
    them; each accepted substitution or insertion contributes its words over its time
    span, with its calibrated probability; an accepted omission contributes nothing.

    Args:
        reference: The page's words, as printed.
        heard: The transcript's words (``core.reading.assess.heard_words``).
        verification: The check's outcome for this transcript and page.
        duration: Length of the recording, seconds.
        language: ISO 639-1 code of the page (how words are compared).

    Returns:
        The heard words in time order, as :func:`core.reading.assess.assess` takes them.
    """

    heard = drop_reading_loops(heard, reference, language)
    texts = [w.text for w in heard]
    correct = correct_words(reference, texts, language)
    ops = miscue_ops(reference, texts, language)
    times = word_times(len(reference), heard, correct, ops, duration)
    anchored = {r: heard[first] for r, first, _ in correct}
    starts = [w.start for w in heard]

    def place(t: float) -> tuple[int, int]:
        """Segment and character offset of the first heard word at or after ``t``."""
        if not heard:
            return 0, 0
        k = min(bisect.bisect_left(starts, t - 1e-6), len(heard) - 1)
        return heard[k].segment, heard[k].char

    def spoken(edit: ReadingEdit) -> list[HeardWord]:
        n = len(edit.words)
        step = (edit.end - edit.start) / max(n, 1)
        segment, char = place(edit.start)
        return [
            HeardWord(w, edit.start + k * step, edit.start + (k + 1) * step,
                      edit.probability, segment, char)
            for k, w in enumerate(edit.words)
        ]

    inserted: dict[int, list[ReadingEdit]] = {}
    replaced: dict[int, ReadingEdit] = {}
    for edit in verification.edits:
        if edit.type == INSERTION:
            inserted.setdefault(edit.ref_start, []).append(edit)
        else:
            replaced[edit.ref_start] = edit
    out: list[HeardWord] = []
    r = 0
    while r <= len(reference):
        for edit in inserted.get(r, ()):
            out += spoken(edit)
        if r == len(reference):
            break
        edit = replaced.get(r)
        if edit is not None:
            out += spoken(edit)
            r = max(edit.ref_end, r + 1)
            continue
        start, end = times[r]
        word = anchored.get(r)
        if word is not None:
            out.append(HeardWord(reference[r], start, end, word.probability,
                                 word.segment, word.char))
        else:
            out.append(HeardWord(reference[r], start, end, None, *place(start)))
        r += 1
    return out


def apply_evidence(miscues: Sequence[Miscue], verification: ReadingVerification) -> None:
    """Give each miscue the probability and evidence of the check behind it (in place).

    A miscue takes the accepted edit of its type that overlaps it (an insertion: at
    the same word); when several adjacent edits were merged into one miscue, the one
    with the largest margin speaks for it.
    """
    for miscue in miscues:
        matching = [e for e in verification.edits if _covers(e, miscue)]
        if not matching:
            continue
        best = max(matching, key=lambda e: e.evidence.log_likelihood_margin)
        miscue.confidence = max(e.probability for e in matching)
        miscue.evidence = best.evidence


def _covers(edit: ReadingEdit, miscue: Miscue) -> bool:
    if edit.type != miscue.type:
        return False
    if edit.type == INSERTION:
        return edit.ref_start == miscue.ref_start
    return edit.ref_start < miscue.ref_end and miscue.ref_start < edit.ref_end
