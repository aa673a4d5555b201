"""Plant reading miscues (substitutions, omissions, insertions) into a reference text.

Positions are indices into ``reference.split()`` (whitespace tokens). A miscue is
recorded as::

    {"type": "substitution" | "omission" | "insertion",
     "ref_start": i, "ref_end": j, "expected": "...", "found": "...", "detail": "..."}

``expected`` is reference tokens ``i..j-1`` joined by a space with leading/trailing
punctuation stripped; ``found`` is what is spoken instead ("" for an omission). An
insertion has ``ref_start == ref_end == i``: the word is spoken before reference token
``i``. A repetition is an insertion whose ``found`` equals the preceding reference word;
it is recorded after the original (``ref_start`` = index of the word after it).

``detail`` says what kind of slip it is, as readers make them (``DETAILS``):

* substitution: ``visual`` (a word that looks like it: was→saw, from→form),
  ``sound`` (a common word whose pronunciation is one phoneme away in the CMU
  Pronouncing Dictionary, spelled unlike it, never a homophone: river→liver),
  ``morphology`` (an ending added or dropped: walked→walk, state→states);
* omission: ``function_word`` (a small word: the, a, of, to, and, in ...), ``word``
  (any other word), ``two_words`` (two adjacent words);
* insertion: ``function_word`` (the, a, of, to, and, in), ``word`` (very, really, just,
  also), ``repetition`` (the previous word again).

The word lists (what may be substituted and by what, what is never touched, what is
inserted) are in ``bench/miscue_words.py``; the substitute words of each detail are
chosen by ``bench/substitutes.py``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bench.miscue_words import (
    FUNCTION_WORDS,
    INSERT_ADVERBS,
    INSERT_FUNCTION_WORDS,
    NO_SUBSTITUTION,
    NUMBER_WORDS,
)
from bench.substitutes import MORPHOLOGY, SOUND, VISUAL, substitute_for

SUBSTITUTION = "substitution"
OMISSION = "omission"
INSERTION = "insertion"
MISCUE_TYPES = (SUBSTITUTION, OMISSION, INSERTION)

FUNCTION_WORD, WORD, TWO_WORDS, REPETITION = "function_word", "word", "two_words", "repetition"
#: The details of each miscue type (see the module docstring), dealt in equal numbers.
DETAILS: dict[str, tuple[str, ...]] = {
    SUBSTITUTION: (VISUAL, SOUND, MORPHOLOGY),
    OMISSION: (FUNCTION_WORD, WORD, TWO_WORDS),
    INSERTION: (FUNCTION_WORD, WORD, REPETITION),
}
#: What to plant: a type, or a (type, detail) pair.
Kind = tuple[str, str]

#: Smallest number of untouched reference tokens between two miscues.
MIN_GAP = 3
_ARTICLES = frozenset({"a", "an", "the"})

_SPLIT_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$")


@dataclass(frozen=True)
class Miscue:
    """One planted miscue; see the module docstring for the fields' meaning."""

    type: str
    ref_start: int
    ref_end: int
    expected: str
    found: str
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict in the manifest's field order (no ``detail`` when it is empty)."""
        record: dict[str, object] = {
            "type": self.type,
            "ref_start": self.ref_start,
            "ref_end": self.ref_end,
            "expected": self.expected,
            "found": self.found,
        }
        if self.detail:
            record["detail"] = self.detail
        return record


def split_token(token: str) -> tuple[str, str, str]:
    """Split a whitespace token into (leading punctuation, core, trailing punctuation)."""
    match = _SPLIT_TOKEN.match(token)
    assert match is not None  # the pattern matches every string
    return match.group(1), match.group(2), match.group(3)


def core_of(token: str) -> str:
    """The token with leading and trailing punctuation stripped."""
    return split_token(token)[1]


def is_number(token: str) -> bool:
    """Whether a token is a number: contains a digit, or is a number word or ordinal."""
    core = core_of(token)
    return any(ch.isdigit() for ch in core) or core.lower() in NUMBER_WORDS


def _sentence_start(tokens: Sequence[str], i: int) -> bool:
    """Whether token ``i`` starts a sentence (first token, or previous ends with . ! ?)."""
    return i == 0 or tokens[i - 1].endswith((".", "!", "?"))


def _candidates(tokens: Sequence[str], kind: str, detail: str) -> list[tuple[int, int]]:
    """All (start, end) spans where a miscue of ``kind``/``detail`` may go, ignoring other
    miscues (and whether a substitute word exists)."""
    n = len(tokens)
    spans: list[tuple[int, int]] = []
    if kind == INSERTION:
        for i in range(2, n - 1):
            prev, nxt = tokens[i - 1], tokens[i]
            if split_token(prev)[2] or is_number(prev) or is_number(nxt):
                continue  # only mid-clause, away from numbers
            spans.append((i, i))
        return spans
    for i in range(1, n - 1):
        prefix, core, _ = split_token(tokens[i])
        if prefix or not core or is_number(tokens[i]) or not any(c.isalpha() for c in core):
            continue
        if kind == SUBSTITUTION:
            # Capitalised words are names ("New York") unless they start a sentence and
            # are not followed by another capitalised word.
            proper = core[0].isupper() and (
                not _sentence_start(tokens, i) or tokens[i + 1][:1].isupper()
            )
            if (
                core.isalpha()
                and len(core) >= 3
                and not proper
                and core.lower() not in NO_SUBSTITUTION
            ):
                spans.append((i, i + 1))
        elif detail == TWO_WORDS:
            nxt = tokens[i + 1] if i + 2 < n else ""
            if nxt and not split_token(tokens[i])[2] and not is_number(nxt):
                if not split_token(nxt)[0] and any(c.isalpha() for c in nxt):
                    spans.append((i, i + 2))
        elif (core.lower() in FUNCTION_WORDS) == (detail == FUNCTION_WORD):
            spans.append((i, i + 1))
    return spans


def _fits(span: tuple[int, int], placed: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` keeps at least ``MIN_GAP`` untouched tokens from every placed span."""
    start, end = span
    return all(start - p_end >= MIN_GAP or p_start - end >= MIN_GAP for p_start, p_end in placed)


def _as_kind(kind: str | Kind, rng: random.Random) -> Kind:
    return (kind, rng.choice(DETAILS[kind])) if isinstance(kind, str) else kind


def plant(reference: str, kinds: Sequence[str | Kind], rng: random.Random) -> list[Miscue]:
    """Place one miscue of each kind in ``kinds`` into ``reference``.

    A kind is a (type, detail) pair, or a type alone (any detail). When the passage
    has no room for the detail asked for, another detail of the same type is planted
    (the miscue records the one used). Raises ``ValueError`` if the kinds cannot all be
    placed (never happens for 40–70-word passages and at most three miscues).
    """
    tokens = reference.split()
    wanted = [_as_kind(kind, rng) for kind in kinds]
    for _attempt in range(200):
        miscues: list[Miscue] = []
        placed: list[tuple[int, int]] = []
        for kind, detail in wanted:
            miscue = None
            others = [d for d in DETAILS[kind] if d != detail]
            for choice in (detail, *others):
                options = [s for s in _candidates(tokens, kind, choice) if _fits(s, placed)]
                rng.shuffle(options)
                for span in options:
                    miscue = _make(tokens, kind, choice, span, rng)
                    if miscue is not None:
                        break
                if miscue is not None:
                    break
            if miscue is None:
                break
            miscues.append(miscue)
            placed.append((miscue.ref_start, miscue.ref_end))
        else:
            return sorted(miscues, key=lambda m: (m.ref_start, m.ref_end))
    raise ValueError(f"cannot place {wanted} in {reference!r}")


def _make(
    tokens: Sequence[str], kind: str, detail: str, span: tuple[int, int], rng: random.Random
) -> Miscue | None:
    """Build a miscue of ``kind``/``detail`` at ``span``, or None if no word fits there."""
    start, end = span
    expected = " ".join(core_of(t) for t in tokens[start:end])
    if kind == OMISSION:
        return Miscue(OMISSION, start, end, expected, "", detail)
    if kind == SUBSTITUTION:
        found = substitute_for(expected, rng, detail)
        if found is None or found.lower() == expected.lower():
            return None
        if expected[0].isupper():
            found = found[0].upper() + found[1:]
        return Miscue(SUBSTITUTION, start, end, expected, found, detail)
    prev, nxt = core_of(tokens[start - 1]), core_of(tokens[start])
    if detail == REPETITION:
        return Miscue(INSERTION, start, start, "", prev, detail)
    found = rng.choice(INSERT_FUNCTION_WORDS if detail == FUNCTION_WORD else INSERT_ADVERBS)
    neighbours = {prev.lower(), nxt.lower()}
    if found in neighbours:
        return None  # "the the" would be an ambiguous repetition
    if found in _ARTICLES and neighbours & _ARTICLES:
        return None  # "a the"
    return Miscue(INSERTION, start, start, "", found, detail)


def apply(reference: str, miscues: Sequence[Miscue]) -> str:
    """The text as spoken: ``reference`` with ``miscues`` applied.

    Punctuation on a substituted token is kept around the new word; punctuation that
    ended an omitted span moves to the previous spoken word, so that the TTS still
    pauses there ("the big house, and" minus "house" -> "the big, and").
    """
    tokens = reference.split()
    by_start = {m.ref_start: m for m in miscues}
    spoken: list[str] = []
    i = 0
    while i <= len(tokens):
        miscue = by_start.get(i)
        if miscue is not None and miscue.type == INSERTION:
            spoken.append(miscue.found)
        if i == len(tokens):
            break
        if miscue is not None and miscue.type == SUBSTITUTION:
            prefix, _, suffix = split_token(tokens[i])
            spoken.append(prefix + miscue.found + suffix)
            i += 1
        elif miscue is not None and miscue.type == OMISSION:
            trailing = split_token(tokens[miscue.ref_end - 1])[2]
            if trailing and spoken and not split_token(spoken[-1])[2]:
                spoken[-1] += trailing
            i = miscue.ref_end
        else:
            spoken.append(tokens[i])
            i += 1
    return " ".join(spoken)


def words_not_read(miscues: Sequence[Miscue]) -> int:
    """Reference words not read correctly: substituted plus omitted tokens."""
    return sum(m.ref_end - m.ref_start for m in miscues if m.type != INSERTION)


def plan_miscues(
    n_items: int, rng: random.Random, clean_fraction: float = 0.25
) -> list[list[Kind]]:
    """Decide, for ``n_items`` items, which miscue kinds (type, detail) each gets.

    ``round(clean_fraction * n_items)`` items get none; the rest get 1–3. The kinds are
    dealt from a shuffled deck holding the three types in equal numbers (±1) and, within
    a type, its three details in equal numbers (±1), so both are balanced over the set.
    """
    clean = set(rng.sample(range(n_items), round(clean_fraction * n_items)))
    counts = [0 if i in clean else rng.choice((1, 2, 3)) for i in range(n_items)]
    deck: list[Kind] = []
    for k in range(sum(counts)):
        kind = MISCUE_TYPES[k % 3]
        deck.append((kind, DETAILS[kind][(k // 3) % 3]))
    rng.shuffle(deck)
    plan: list[list[Kind]] = []
    for count in counts:
        plan.append(deck[:count])
        deck = deck[count:]
    return plan
