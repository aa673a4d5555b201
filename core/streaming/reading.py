"""The reading check of a live stream: miscues reported as the reader gets past them.

The committed words of a stream (:mod:`core.streaming.policy`: they never change) are
assessed against the page with the service's one alignment
(:func:`core.reading.assess.assess`: spoken-form normalisation, Levenshtein alignment
of tokens, equivalent forms peeled, loops of the decoder dropped). A miscue is
reported once the reader has *reached past it*: its reference words lie before the
last reference word read correctly so far (the last anchor of
:func:`core.reading.align.correct_words`), so words not yet read are never reported
as omissions and a substitution waits until the next correct word confirms where the
reader is. Everything before that word is then settled for good (the *frontier*):
a miscue is never sent twice nor retracted, even if later words would align the
earlier ones differently. At the end (:meth:`IncrementalReadingCheck.finish`) the
miscues past the frontier are reported too, trailing omissions included, with the
reading's summary computed from exactly the miscues that were reported.

Times are seconds from the start of the stream; reference indices count the
whitespace-separated words of the reference text (:func:`core.reading.assess.reference_words`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core.reading.align import INSERTION, correct_words
from core.reading.assess import (
    HeardWord,
    Miscue,
    assess,
    reference_words,
    summarise,
)
from core.reading.loops import drop_reading_loops
from core.results import ReadingSummary
from core.streaming.policy import TimedWord

__all__ = ["IncrementalReadingCheck"]


class IncrementalReadingCheck:
    """Miscues of a reading that grows word by word.

    Args:
        reference_text: The page's text.
        language: ISO 639-1 code of the text (normalisation rules).
    """

    def __init__(self, reference_text: str, language: str = "en") -> None:
        self.reference_text = reference_text
        self.language = language
        self.reference = reference_words(reference_text)
        self._texts = [w.text for w in self.reference]
        #: Reference words before this index are settled: their miscues were sent.
        self.frontier = 0
        #: Every miscue reported so far, in the order sent.
        self.reported: list[Miscue] = []

    def update(self, heard: Sequence[TimedWord]) -> list[Miscue]:
        """The miscues newly settled by the committed words so far.

        Args:
            heard: All committed words of the stream, in time order.

        Returns:
            Miscues not reported before, in reference order; possibly empty.
        """
        words = _heard(heard)
        if not words or not self.reference:
            return []
        kept = drop_reading_loops(words, self._texts, self.language)
        anchors = correct_words(self._texts, [w.text for w in kept], self.language)
        if not anchors or anchors[-1][0] < self.frontier:
            return []
        reached = anchors[-1][0]
        assessment = assess(
            self.reference_text, self.reference, words, words[-1].end, language=self.language
        )
        new = []
        for miscue in assessment.miscues:
            settled = (
                miscue.ref_start <= reached
                if miscue.type == INSERTION
                else miscue.ref_end <= reached
            )
            clipped = self._clip(miscue) if settled else None
            if clipped is not None:
                new.append(clipped)
        self.frontier = reached + 1
        self.reported.extend(new)
        return new

    def finish(
        self, heard: Sequence[TimedWord], duration: float
    ) -> tuple[list[Miscue], ReadingSummary]:
        """The end of the reading: the miscues past the frontier (trailing omissions
        included) and the summary of the whole reading.

        Args:
            heard: All committed words of the stream, in time order.
            duration: Length of the stream's audio in seconds (bounds the time span
                of an omission at the very end).

        Returns:
            ``(miscues not reported before, summary)``; the summary counts exactly
            the miscues reported over the whole stream.
        """
        words = _heard(heard)
        new: list[Miscue] = []
        if self.reference:
            assessment = assess(
                self.reference_text, self.reference, words, duration, language=self.language
            )
            new = [m for m in map(self._clip, assessment.miscues) if m is not None]
            self.frontier = len(self.reference) + 1
            self.reported.extend(new)
        kept = drop_reading_loops(words, self._texts, self.language)
        return new, summarise(self.reference, kept, self.reported, self.language)

    def _clip(self, miscue: Miscue) -> Miscue | None:
        """The part of a miscue past the frontier; None when it is all settled."""
        if miscue.ref_start >= self.frontier:
            return miscue
        if miscue.type == INSERTION or miscue.ref_end <= self.frontier:
            return None
        first, last = self.reference[self.frontier], self.reference[miscue.ref_end - 1]
        return replace(
            miscue,
            ref_start=self.frontier,
            expected=self.reference_text[first.start : last.end],
            ref_char=first.start,
        )


def _heard(words: Sequence[TimedWord]) -> list[HeardWord]:
    return [HeardWord(w.text, w.start, w.end, w.probability) for w in words]
