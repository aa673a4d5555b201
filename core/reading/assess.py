"""Reading assessment: align what was heard with the page, word by word, and score it.

The reference (the page) and the transcript (ASR words with times) are aligned word
by word (:mod:`core.reading.align`: Levenshtein edit operations over spoken tokens,
forms such as "1984" / "nineteen eighty-four" taken as equal); what is not read as
printed is reported as miscues in the usual oral-reading terms:

- **substitution**: a reference word read as another word;
- **omission**: a reference word not read (a skipped line is one omission of many words);
- **insertion**: a word read that is not on the page.

Adjacent reference words with the same miscue type form one miscue.

Times are seconds from the start of the recording; ``ref_char`` is a character
offset into the reference text; ``at_char`` a character offset into the text of the
ASR segment (``segment``) where the miscue is, or for an omission where the next
heard word is (the v1 ``match_phrases`` meaning).

Confidence (0..1) says how sure the service is that a miscue is real. It is a
heuristic, documented in ``docs/accuracy.md`` with its measured effect:

- substitution / insertion: the lowest ASR word probability of the heard words
  (Whisper is unsure exactly where it "hears" something other than the page), times
  the OCR confidence of the expected words when the OCR marked them low-confidence;
- omission: the mean ASR probability of the heard words on both sides of the gap,
  halved when the gap is long enough to have held the missing words
  (``OMISSION_GAP_S_PER_WORD`` each), where the ASR may simply have missed speech.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.plugins.types import AudioChunk, MiscueEvidence, Rectangle
from core.reading.align import INSERTION, OMISSION, SUBSTITUTION, miscue_ops
from core.reading.loops import drop_reading_loops
from core.reading.normalize import spoken_form
from core.results import MiscueType, ReadingSummary

__all__ = [
    "Assessment",
    "HeardWord",
    "Miscue",
    "MiscueType",
    "RefWord",
    "assess",
    "heard_words",
    "reference_words",
    "summarise",
]


#: A silence in which a skipped word could have been spoken but the ASR dropped it:
#: about the duration of one word at 150 words per minute (0.4 s).
OMISSION_GAP_S_PER_WORD = 0.4
#: Probability assumed for ASR words that carry none (plugins without word scores).
UNKNOWN_PROBABILITY = 0.5
_WORD = re.compile(r"\S+")
_NUMBER_TAIL = re.compile(r"^(?:[.,]\d|%)")


@dataclass(frozen=True)
class RefWord:
    """A word of the reference text (the page).

    Attributes:
        text: The word as printed, punctuation included.
        start: Character offset of the word in the reference text.
        end: Offset one past the word's last character.
        boxes: Where it is on the photo (pixels), if the reference came from OCR.
        ocr_confidence: The OCR's confidence 0..1 for the word, if known.
        low_confidence: The OCR marked the word as doubtful.
    """

    text: str
    start: int
    end: int
    boxes: tuple[Rectangle, ...] = ()
    ocr_confidence: float | None = None
    low_confidence: bool = False


@dataclass(frozen=True)
class HeardWord:
    """A word the ASR heard.

    Attributes:
        text: The word as transcribed.
        start: Start time in seconds.
        end: End time in seconds.
        probability: ASR word probability 0..1, or ``None`` if the model gives none.
        segment: Index of the ASR segment the word is in.
        char: Character offset of the word in that segment's text.
    """

    text: str
    start: float
    end: float
    probability: float | None = None
    segment: int = 0
    char: int = 0


@dataclass
class Miscue:
    """One reading error.

    Attributes:
        type: ``"substitution"``, ``"omission"`` or ``"insertion"``.
        ref_start, ref_end: Reference word indices ``[ref_start, ref_end)``; for an
            insertion ``ref_start == ref_end`` is the word it was read before.
        heard_start, heard_end: Heard word indices ``[heard_start, heard_end)``;
            empty for an omission, at the next heard word.
        expected: The reference text of the words (original characters), ``""`` for
            an insertion.
        found: The heard words joined by spaces, ``""`` for an omission.
        ref_char: Character offset of ``expected`` (or of the next word, for an
            insertion) in the reference text.
        start, end: Seconds: the heard words' span; for an omission the silence
            between the heard words on either side.
        confidence: 0..1, see the module docstring.
        segment: ASR segment index of the miscue (of the next heard word for an
            omission; the last segment when nothing was heard after it).
        at_char: Character offset into that segment's text.
        boxes: Photo boxes of the expected words (for an insertion, of the word it
            precedes, or follows at the end of the page); empty without a photo.
        evidence: The reading check's verdict behind the miscue
            (:mod:`core.reading.checked`), when the audio was checked.
    """

    type: MiscueType
    ref_start: int
    ref_end: int
    heard_start: int
    heard_end: int
    expected: str
    found: str
    ref_char: int
    start: float
    end: float
    confidence: float
    segment: int
    at_char: int
    boxes: tuple[Rectangle, ...] = ()
    evidence: MiscueEvidence | None = None


@dataclass
class Assessment:
    """The miscues in reference order, and the summary."""

    miscues: list[Miscue] = field(default_factory=list)
    summary: ReadingSummary | None = None


def assess(
    reference_text: str,
    reference: Sequence[RefWord],
    heard: Sequence[HeardWord],
    duration: float,
    segment_lengths: Sequence[int] = (),
    language: str = "en",
) -> Assessment:
    """Find the miscues in a reading and score it.

    Args:
        reference_text: The page's text; ``RefWord`` offsets point into it.
        reference: The page's words in reading order.
        heard: The ASR's words in time order.
        duration: Length of the recording in seconds (bounds the time span of an
            omission at the very end).
        segment_lengths: Character length of each ASR segment's text; used for the
            ``at_char`` of an omission after the last heard word. May be empty.
        language: ISO 639-1 code of the page ("en", "ru", "ar"...): how words are
            normalised before they are compared (:mod:`core.reading.languages`).

    Returns:
        The miscues in reference order (insertions before the word they precede)
        and the ``ReadingSummary``. Never raises for empty inputs: an empty reading makes
        every reference word an omission; an empty reference makes every heard word
        an insertion. Repetition loops of the decoder are dropped first
        (:func:`core.reading.loops.drop_loops`): a loop is never an insertion.
    """
    heard = drop_reading_loops(heard, [w.text for w in reference], language)
    ops = miscue_ops([w.text for w in reference], [w.text for w in heard], language)

    miscues = [
        _miscue(op, reference_text, reference, heard, duration, segment_lengths) for op in ops
    ]
    return Assessment(miscues=miscues, summary=summarise(reference, heard, miscues, language))


def _probability(word: HeardWord) -> float:
    return UNKNOWN_PROBABILITY if word.probability is None else word.probability


def _miscue(
    op: tuple[str, int, int, int, int],
    reference_text: str,
    reference: Sequence[RefWord],
    heard: Sequence[HeardWord],
    duration: float,
    segment_lengths: Sequence[int],
) -> Miscue:
    kind, rs, re_, hs, he = op
    words = list(reference[rs:re_])
    heard_words = list(heard[hs:he])
    expected = reference_text[words[0].start : words[-1].end] if words else ""
    if words:
        ref_char = words[0].start
    else:
        ref_char = reference[rs].start if rs < len(reference) else len(reference_text)
    if heard_words:
        start, end = heard_words[0].start, heard_words[-1].end
        segment, at_char = heard_words[0].segment, heard_words[0].char
        confidence = min(_probability(w) for w in heard_words)
    else:
        before = heard[hs - 1] if hs > 0 else None
        after = heard[hs] if hs < len(heard) else None
        start = before.end if before else 0.0
        end = after.start if after else max(duration, start)
        if after:
            segment, at_char = after.segment, after.char
        elif before:
            segment = before.segment
            at_char = segment_lengths[segment] if segment < len(segment_lengths) else 0
        else:
            segment, at_char = 0, 0
        sides = [_probability(w) for w in (before, after) if w is not None]
        confidence = sum(sides) / len(sides) if sides else UNKNOWN_PROBABILITY
        if end - start >= OMISSION_GAP_S_PER_WORD * len(words):
            confidence /= 2
    doubtful = [
        w.ocr_confidence for w in words if w.low_confidence and w.ocr_confidence is not None
    ]
    if doubtful:
        confidence *= min(doubtful)
    if words:
        boxes = tuple(b for w in words for b in w.boxes)
    else:
        neighbour = reference[rs] if rs < len(reference) else (reference[-1] if reference else None)
        boxes = neighbour.boxes if neighbour else ()
    return Miscue(
        type=kind,
        ref_start=rs,
        ref_end=re_,
        heard_start=hs,
        heard_end=he,
        expected=expected,
        found=" ".join(w.text for w in heard_words),
        ref_char=ref_char,
        start=round(start, 3),
        end=round(end, 3),
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        segment=segment,
        at_char=at_char,
        boxes=boxes,
    )


def summarise(
    reference: Sequence[RefWord],
    heard: Sequence[HeardWord],
    miscues: Sequence[Miscue],
    language: str = "en",
) -> ReadingSummary:
    """Compute the ``ReadingSummary`` of a reading from its miscues.

    Reference words with no spoken form in ``language`` (a lone dash) are not
    counted. Insertions do not reduce the words correct, as in curriculum-based
    measurement scoring.
    """
    counted = [i for i, w in enumerate(reference) if spoken_form(w.text, language)]
    total = len(counted)
    per_type = {SUBSTITUTION: 0, OMISSION: 0, INSERTION: 0}
    wrong: set[int] = set()
    for m in miscues:
        if m.type == INSERTION:
            per_type[INSERTION] += m.heard_end - m.heard_start
            continue
        span = [
            i for i in range(m.ref_start, m.ref_end) if spoken_form(reference[i].text, language)
        ]
        per_type[m.type] += len(span)
        wrong.update(span)
    correct = total - len(wrong)
    duration = (heard[-1].end - heard[0].start) if heard else 0.0
    duration = max(duration, 0.0)
    return ReadingSummary(
        words_in_reference=total,
        words_correct=correct,
        substitutions=per_type[SUBSTITUTION],
        omissions=per_type[OMISSION],
        insertions=per_type[INSERTION],
        accuracy=round(100.0 * correct / total, 2) if total else 0.0,
        completeness=round(100.0 * (total - per_type[OMISSION]) / total, 2) if total else 0.0,
        reading_duration=round(duration, 3),
        wcpm=round(correct / (duration / 60.0), 1) if duration > 0 else None,
    )


def reference_words(text: str) -> list[RefWord]:
    """Whitespace-separated words of a plain reference text, with their offsets."""
    words = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isspace():
            if start is not None:
                words.append(RefWord(text=text[start:i], start=start, end=i))
                start = None
        elif start is None:
            start = i
    return words


def heard_words(segments: Sequence[AudioChunk]) -> list[HeardWord]:
    """The ASR's words with their times, segment and offset in the segment's text.

    Segments with per-word timestamps give those words. A segment without them
    (a plugin that only returns segment texts) is split at whitespace and its time
    span shared out in proportion to the words' lengths, with no probability.

    Args:
        segments: ASR segments in time order (seconds).

    Returns:
        Heard words in time order; ``char`` is the word's offset in its segment's
        ``text`` (found by searching forward, or the running position when the
        model's word text does not appear verbatim in the segment text).
    """
    heard: list[HeardWord] = []
    for index, segment in enumerate(segments):
        text = segment.text
        if segment.words:
            cursor = 0
            for word in segment.words:
                token = word.word.strip()
                if not token:
                    continue
                found = text.find(token, cursor)
                char = found if found >= 0 else min(cursor, len(text))
                cursor = char + len(token) if found >= 0 else cursor
                previous = heard[-1] if heard and heard[-1].segment == index else None
                if previous and previous.text[-1:].isdigit() and _NUMBER_TAIL.match(token):
                    # Whisper splits "1,664" into the words "1" and ",664".
                    heard[-1] = HeardWord(
                        previous.text + token,
                        previous.start,
                        word.end,
                        _lowest(previous.probability, word.probability),
                        index,
                        previous.char,
                    )
                    continue
                heard.append(
                    HeardWord(token, word.start, word.end, word.probability, index, char)
                )
            continue
        words = [(m.group(), m.start()) for m in _WORD.finditer(text)]
        total = sum(len(w) for w, _ in words) or 1
        span = max(segment.end - segment.start, 0.0)
        elapsed = 0
        for token, char in words:
            start = segment.start + span * elapsed / total
            elapsed += len(token)
            end = segment.start + span * elapsed / total
            heard.append(HeardWord(token, start, end, None, index, char))
    return heard


def _lowest(a: float | None, b: float | None) -> float | None:
    known = [p for p in (a, b) if p is not None]
    return min(known) if known else None
