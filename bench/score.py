"""Scoring of the reading-assessment benchmark: miscue precision/recall/F1, WER, CER, WCPM.

Truth and predictions are miscues located by *reference token indices*: indices into
``reference.split()`` of the item (the page as written). A predicted miscue matches a
true one of the same type when their reference spans overlap (an insertion, which
has an empty span at the word it precedes, matches within one word). Each true miscue
is matched at most once; unmatched predictions are false positives (false errors),
unmatched truths false negatives.

Pure functions, no I/O: ``bench/run_benchmark.py`` feeds them the service's results.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from core.reading.normalize import spoken_form
from core.reading.text_diff import _edit_runs, _prepared_words, _run_ranges, prepare_text

__all__ = [
    "Counts",
    "Located",
    "baseline_v1",
    "cer",
    "char_to_token",
    "locate",
    "match",
    "ocr_token_map",
    "remap",
    "wer",
]

TYPES = ("substitution", "omission", "insertion")


@dataclass(frozen=True)
class Located:
    """A miscue on the reference: ``[start, end)`` token indices (insertion: start == end)."""

    type: str
    start: int
    end: int
    confidence: float = 1.0


@dataclass
class Counts:
    """True positives, false positives and false negatives, per type."""

    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TYPES, 0))

    def add(self, other: Counts) -> None:
        for kind in TYPES:
            self.tp[kind] += other.tp[kind]
            self.fp[kind] += other.fp[kind]
            self.fn[kind] += other.fn[kind]

    def prf(self, kind: str | None = None) -> tuple[float, float, float]:
        """Precision, recall, F1 for one type or (``None``) overall. 1.0 when undefined
        in the direction of no errors (no predictions and no truths)."""
        kinds = TYPES if kind is None else (kind,)
        tp = sum(self.tp[k] for k in kinds)
        fp = sum(self.fp[k] for k in kinds)
        fn = sum(self.fn[k] for k in kinds)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1

    def false_positives(self) -> int:
        return sum(self.fp.values())


def _overlaps(p: Located, t: Located) -> bool:
    if p.type != t.type:
        return False
    if t.type == "insertion":
        return abs(p.start - t.start) <= 1
    return p.start < t.end and t.start < p.end


def match(predicted: Sequence[Located], truth: Sequence[Located]) -> Counts:
    """Count matches between predicted and true miscues of one item (greedy, in order)."""
    counts = Counts()
    used: set[int] = set()
    for p in predicted:
        hit = next((i for i, t in enumerate(truth) if i not in used and _overlaps(p, t)), None)
        if hit is None:
            counts.fp[p.type] += 1
        else:
            used.add(hit)
            counts.tp[p.type] += 1
    for i, t in enumerate(truth):
        if i not in used:
            counts.fn[t.type] += 1
    return counts


def _token_starts(text: str) -> list[int]:
    starts, inside = [], False
    for i, ch in enumerate(text):
        if not ch.isspace() and not inside:
            starts.append(i)
        inside = not ch.isspace()
    return starts


def char_to_token(text: str, char: int) -> int:
    """Index of the whitespace token of ``text`` containing (or following) ``char``."""
    starts = _token_starts(text)
    return max(bisect.bisect_right(starts, char) - 1, 0) if char < len(text) else len(starts)


def locate(error: dict, text: str) -> Located:
    """Place a service error on the whitespace tokens of ``text``.

    Args:
        error: One entry of the result's ``errors`` (needs ``type``, ``ref_char``,
            ``expected``, ``confidence``).
        text: The text ``ref_char`` points into (the sent text, or ``image.text``).
    """
    start = char_to_token(text, error["ref_char"])
    end = start
    if error["type"] != "insertion":
        end = char_to_token(text, error["ref_char"] + max(len(error["expected"]) - 1, 0)) + 1
    return Located(error["type"], start, end, float(error.get("confidence") or 0.0))


def remap(located: Located, token_map: Sequence[int], reference_tokens: int) -> Located:
    """Move a miscue from OCR-text tokens to reference tokens (``ocr_token_map``)."""

    def at(index: int) -> int:
        return token_map[index] if index < len(token_map) else reference_tokens

    start = at(located.start)
    end = start if located.type == "insertion" else max(at(located.end - 1) + 1, start + 1)
    return Located(located.type, start, end, located.confidence)


def _words(text: str) -> list[str]:
    return [t for w in text.split() for t in spoken_form(w)]


def ocr_token_map(ocr_text: str, reference: str) -> list[int]:
    """For each whitespace token of the OCR text, the reference token it stands for.

    Tokens are aligned by Levenshtein opcodes on lower-cased, punctuation-stripped
    tokens; an OCR token with no counterpart takes the next reference position.
    """
    ocr = [prepare_text(w)[0] for w in ocr_text.split()]
    ref = [prepare_text(w)[0] for w in reference.split()]
    mapping = [0] * len(ocr)
    for op in Levenshtein.opcodes(ocr, ref):
        for k in range(op.src_start, op.src_end):
            if op.tag in ("equal", "replace"):
                mapping[k] = min(op.dest_start + (k - op.src_start), len(ref) - 1)
            else:
                mapping[k] = min(op.dest_start, max(len(ref) - 1, 0))
    return mapping


def wer(hypothesis: str, reference: str) -> tuple[int, int]:
    """Word edits and reference word count, on spoken tokens (``core.reading.normalize``)."""
    ref = _words(reference)
    return Levenshtein.distance(_words(hypothesis), ref), len(ref)


def cer(hypothesis: str, reference: str) -> tuple[int, int]:
    """Character edits and reference length, case-folded, whitespace collapsed."""
    ref = " ".join(reference.lower().split())
    return Levenshtein.distance(" ".join(hypothesis.lower().split()), ref), len(ref)


def baseline_v1(segment_texts: Sequence[str], reference: str) -> list[Located]:
    """The plain v1 diff (``match_phrases``' alignment) placed on the reference.

    The same Levenshtein runs over ``prepare_text`` words as v1, without number,
    contraction or hyphenation handling; a run with read and expected words is a
    substitution, with only expected words an omission, with only read words an
    insertion.
    """
    read = [w for text in segment_texts for w, _, _ in _prepared_words(*prepare_text(text))]
    expected = _prepared_words(*prepare_text(reference))
    located = []
    for run in _edit_runs(read, [w for w, _, _ in expected]):
        s1, s2, d1, d2 = _run_ranges(run)
        kind = "substitution" if s2 > s1 and d2 > d1 else ("omission" if d2 > d1 else "insertion")
        char = expected[d1][1] if d1 < len(expected) else len(reference)
        start = char_to_token(reference, char)
        end = char_to_token(reference, expected[d2 - 1][2] - 1) + 1 if d2 > d1 else start
        located.append(Located(kind, start, end))
    return located
