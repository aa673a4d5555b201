"""Plant reading miscues (substitutions, omissions, insertions) into a reference text.

Positions are indices into ``reference.split()`` (whitespace tokens). A miscue is
recorded as::

    {"type": "substitution" | "omission" | "insertion",
     "ref_start": i, "ref_end": j, "expected": "...", "found": "..."}

``expected`` is reference tokens ``i..j-1`` joined by a space with leading/trailing
punctuation stripped; ``found`` is what is spoken instead ("" for an omission). An
insertion has ``ref_start == ref_end == i``: the word is spoken before reference token
``i``. A repetition is an insertion whose ``found`` equals the preceding reference word;
it is recorded after the original (``ref_start`` = index of the word after it).

The word lists (what may be substituted and by what, what is never touched, what is
inserted) are in ``bench/miscue_words.py``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rapidfuzz.distance import Levenshtein

from bench.miscue_words import (
    COMMON_WORDS,
    HOMOPHONES,
    INSERT_WORDS,
    MISREADINGS,
    NO_SUBSTITUTION,
    NUMBER_WORDS,
    REPEAT,
)

SUBSTITUTION = "substitution"
OMISSION = "omission"
INSERTION = "insertion"
MISCUE_TYPES = (SUBSTITUTION, OMISSION, INSERTION)

#: Smallest number of untouched reference tokens between two miscues.
MIN_GAP = 3

_SPLIT_TOKEN = re.compile(r"^(\W*)(.*?)(\W*)$")


@dataclass(frozen=True)
class Miscue:
    """One planted miscue; see the module docstring for the fields' meaning."""

    type: str
    ref_start: int
    ref_end: int
    expected: str
    found: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready dict in the manifest's field order."""
        return asdict(self)


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


def substitute_for(word: str, rng: random.Random) -> str | None:
    """A real word to say instead of ``word`` (lower-case, no punctuation), or None.

    Prefers ``MISREADINGS``; otherwise picks from ``COMMON_WORDS`` a word with the same
    first letter, a length within one and an edit distance of at most two.
    """
    lower = word.lower()
    if lower in MISREADINGS:
        return rng.choice(MISREADINGS[lower])
    candidates = [
        w
        for w in COMMON_WORDS
        if w != lower
        and w[0] == lower[0]
        and abs(len(w) - len(lower)) <= 1
        and Levenshtein.distance(w, lower) <= 2
        and w not in NUMBER_WORDS
        and not homophones(w, lower)
    ]
    return rng.choice(candidates) if candidates else None


def homophones(a: str, b: str) -> bool:
    """Whether two lower-case words are listed in ``HOMOPHONES`` as sounding alike."""
    return any(a in group and b in group for group in HOMOPHONES)


def _candidates(tokens: Sequence[str], kind: str) -> list[tuple[int, int]]:
    """All (start, end) spans where a miscue of ``kind`` may go, ignoring other miscues."""
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
        else:
            spans.append((i, i + 1))
            nxt = tokens[i + 1] if i + 2 < n else ""
            if nxt and not split_token(tokens[i])[2] and not is_number(nxt):
                if not split_token(nxt)[0] and any(c.isalpha() for c in nxt):
                    spans.append((i, i + 2))
    return spans


def _fits(span: tuple[int, int], placed: Sequence[tuple[int, int]]) -> bool:
    """Whether ``span`` keeps at least ``MIN_GAP`` untouched tokens from every placed span."""
    start, end = span
    return all(start - p_end >= MIN_GAP or p_start - end >= MIN_GAP for p_start, p_end in placed)


def plant(reference: str, kinds: Sequence[str], rng: random.Random) -> list[Miscue]:
    """Place one miscue of each kind in ``kinds`` into ``reference``.

    Omissions drop one word, or two adjacent words one time in four. Raises
    ``ValueError`` if the kinds cannot all be placed (never happens for 40–70-word
    passages and at most three miscues).
    """
    tokens = reference.split()
    for _attempt in range(200):
        miscues: list[Miscue] = []
        placed: list[tuple[int, int]] = []
        for kind in kinds:
            options = [s for s in _candidates(tokens, kind) if _fits(s, placed)]
            if kind == OMISSION:
                singles = [s for s in options if s[1] - s[0] == 1]
                doubles = [s for s in options if s[1] - s[0] == 2]
                options = doubles if doubles and rng.random() < 0.25 else singles
            rng.shuffle(options)
            miscue = None
            for span in options:
                miscue = _make(tokens, kind, span, rng)
                if miscue is not None:
                    break
            if miscue is None:
                break
            miscues.append(miscue)
            placed.append((miscue.ref_start, miscue.ref_end))
        else:
            return sorted(miscues, key=lambda m: (m.ref_start, m.ref_end))
    raise ValueError(f"cannot place {list(kinds)} in {reference!r}")


def _make(
    tokens: Sequence[str], kind: str, span: tuple[int, int], rng: random.Random
) -> Miscue | None:
    """Build a miscue of ``kind`` at ``span``, or None if no word fits there."""
    start, end = span
    expected = " ".join(core_of(t) for t in tokens[start:end])
    if kind == OMISSION:
        return Miscue(OMISSION, start, end, expected, "")
    if kind == SUBSTITUTION:
        found = substitute_for(expected, rng)
        if found is None or found.lower() == expected.lower():
            return None
        if expected[0].isupper():
            found = found[0].upper() + found[1:]
        return Miscue(SUBSTITUTION, start, end, expected, found)
    prev, nxt = core_of(tokens[start - 1]), core_of(tokens[start])
    choice = rng.choice((*INSERT_WORDS, REPEAT))
    found = prev if choice == REPEAT else choice
    if choice != REPEAT and found.lower() in (prev.lower(), nxt.lower()):
        return None  # "the the" would be an ambiguous repetition
    return Miscue(INSERTION, start, start, "", found)


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


def plan_kinds(n_items: int, rng: random.Random, clean_fraction: float = 0.25) -> list[list[str]]:
    """Decide, for ``n_items`` items, which miscue kinds each gets.

    ``round(clean_fraction * n_items)`` items get none; the rest get 1–3. The kinds are
    dealt from a shuffled deck holding the three kinds in equal numbers (±1), so they
    are balanced over the set.
    """
    clean = set(rng.sample(range(n_items), round(clean_fraction * n_items)))
    counts = [0 if i in clean else rng.choice((1, 2, 3)) for i in range(n_items)]
    total = sum(counts)
    deck = [MISCUE_TYPES[k % 3] for k in range(total)]
    rng.shuffle(deck)
    plan: list[list[str]] = []
    for count in counts:
        plan.append(deck[:count])
        deck = deck[count:]
    return plan
