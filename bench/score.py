"""Scoring of the reading-assessment benchmark: miscue precision/recall/F1, WER, CER, WCPM.

Truth and predictions are miscues located by *reference token indices*: indices into
``reference.split()`` of the item (the page as written). A predicted miscue matches a
true one of the same type when their reference spans overlap (an insertion, which
has an empty span at the word it precedes, matches within one word). Each true miscue
is matched at most once; unmatched predictions are false positives (false errors),
unmatched truths false negatives. An item is *exactly right* when its predictions
match its truth with no false positive and no false negative.

Intervals are 95 % percentile bootstrap intervals over items: the items are resampled
with replacement (``BOOTSTRAP_RESAMPLES`` times, numpy generator seeded with
``BOOTSTRAP_SEED``, so the same items always give the same interval) and every figure is
recomputed on each resample (Efron & Tibshirani, *An Introduction to the Bootstrap*,
1993, ch. 13). Items, not miscues, are resampled, since miscues of one recording are
not independent.

Pure functions, no I/O: ``bench/run_benchmark.py`` feeds them the service's results.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz.distance import Levenshtein

from core.reading.normalize import spoken_form
from core.reading.text_diff import _edit_runs, _prepared_words, _run_ranges, prepare_text

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "FIGURES",
    "Counts",
    "ItemCounts",
    "Located",
    "baseline_v1",
    "bootstrap",
    "cer",
    "char_to_token",
    "figures",
    "locate",
    "match",
    "ocr_token_map",
    "remap",
    "wer",
]

TYPES = ("substitution", "omission", "insertion")
#: Resamples and generator seed of the bootstrap intervals.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261203
#: The figures ``figures`` and ``bootstrap`` return: overall precision, recall, F1; the
#: same per type ("substitution.f1" ...); false errors per clean reading; fraction of
#: items exactly right.
FIGURES = (
    "precision",
    "recall",
    "f1",
    *(f"{kind}.{name}" for kind in TYPES for name in ("precision", "recall", "f1")),
    "false_errors_per_clean",
    "exactly_right",
)


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

    def as_dict(self) -> dict[str, dict[str, int]]:
        """``{"tp": {type: n}, "fp": ..., "fn": ...}``, for JSON."""
        return {"tp": dict(self.tp), "fp": dict(self.fp), "fn": dict(self.fn)}

    @classmethod
    def from_dict(cls, record: dict[str, dict[str, int]]) -> Counts:
        """The inverse of ``as_dict``."""
        return cls(dict(record["tp"]), dict(record["fp"]), dict(record["fn"]))

    def exactly_right(self) -> bool:
        """No false positive and no false negative: the predictions match the truth."""
        return not any(self.fp.values()) and not any(self.fn.values())


@dataclass(frozen=True)
class ItemCounts:
    """One item's matching counts (``match``) and whether it was read without a miscue."""

    counts: Counts
    clean: bool


def _table(items: Sequence[ItemCounts]) -> np.ndarray:
    """One row per item: tp, fp, fn per type, then clean (0/1), clean false positives,
    exactly right (0/1)."""
    rows = [
        [
            *(c.counts.tp[k] for k in TYPES),
            *(c.counts.fp[k] for k in TYPES),
            *(c.counts.fn[k] for k in TYPES),
            int(c.clean),
            c.counts.false_positives() if c.clean else 0,
            int(c.counts.exactly_right()),
        ]
        for c in items
    ]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), 3 * len(TYPES) + 3)


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, ...]:
    """``Counts.prf`` on arrays of totals (1.0 where undefined for lack of errors)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 1.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return precision, recall, f1


def _figures(sums: np.ndarray, n_items: int) -> dict[str, np.ndarray]:
    """Every figure of ``FIGURES`` from column totals of ``_table`` (one row per resample).

    False errors per clean reading is NaN where there is no clean item.
    """
    t = len(TYPES)
    tp, fp, fn = sums[:, :t], sums[:, t : 2 * t], sums[:, 2 * t : 3 * t]
    clean, clean_fp, exact = sums[:, 3 * t], sums[:, 3 * t + 1], sums[:, 3 * t + 2]
    out: dict[str, np.ndarray] = {}
    for name, value in zip(
        ("precision", "recall", "f1"), _prf(tp.sum(1), fp.sum(1), fn.sum(1)), strict=True
    ):
        out[name] = value
    for k, kind in enumerate(TYPES):
        values = _prf(tp[:, k], fp[:, k], fn[:, k])
        for name, value in zip(("precision", "recall", "f1"), values, strict=True):
            out[f"{kind}.{name}"] = value
    with np.errstate(divide="ignore", invalid="ignore"):
        out["false_errors_per_clean"] = np.where(clean > 0, clean_fp / clean, np.nan)
    out["exactly_right"] = exact / n_items if n_items else np.full(len(sums), np.nan)
    return out


def figures(items: Sequence[ItemCounts]) -> dict[str, float]:
    """The ``FIGURES`` over a set of items, as totals (not means of per-item figures).

    False errors per clean reading is 0.0 when no item is clean; the fraction exactly
    right is 0.0 for no items.
    """
    table = _table(items)
    values = _figures(table.sum(0, keepdims=True), len(items))
    point = {name: float(v[0]) for name, v in values.items()}
    point["false_errors_per_clean"] = float(np.nan_to_num(point["false_errors_per_clean"]))
    point["exactly_right"] = float(np.nan_to_num(point["exactly_right"]))
    return point


def bootstrap(
    items: Sequence[ItemCounts],
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap interval of every figure of ``FIGURES``, resampling items.

    Args:
        items: Per-item counts (``match`` on each item).
        resamples: Number of resamples of ``len(items)`` items drawn with replacement.
        level: Coverage of the interval (0.95: the 2.5th to 97.5th percentile).
        seed: Seed of numpy's ``default_rng``: the same items give the same interval.

    Returns:
        ``{figure: (low, high)}``; None for a figure undefined in every resample (no
        items, or no clean item for false errors per clean reading).
    """
    if not items:
        return dict.fromkeys(FIGURES)
    table = _table(items)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(items), size=(resamples, len(items)))
    values = _figures(table[picks].sum(1), len(items))
    tail = (1 - level) / 2 * 100
    intervals: dict[str, tuple[float, float] | None] = {}
    for name in FIGURES:
        v = values[name][~np.isnan(values[name])]
        low, high = np.percentile(v, (tail, 100 - tail)) if len(v) else (np.nan, np.nan)
        intervals[name] = None if np.isnan(low) else (float(low), float(high))
    return intervals


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
