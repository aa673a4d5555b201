"""Word-level text comparison for checking reading aloud.

Texts are compared word by word. For matching, a text is "prepared": lower-cased,
apostrophes dropped and every other non-alphanumeric character treated as a word
separator, while an index map keeps the way back to the original characters so
that results can quote and point into the strings exactly as they were given.

Word alignment is Levenshtein (edit-distance) alignment of lists of word strings,
computed by ``rapidfuzz.distance.Levenshtein.editops``; fuzzy substring search is
``rapidfuzz.fuzz.partial_ratio_alignment``. Pure Python apart from rapidfuzz.

The functions that prepare texts take a ``language`` (ISO 639-1, default English).
For other languages than English each character is also folded by that language's
rules (:mod:`core.reading.languages`: Russian ё as е and stress marks dropped, Arabic
tashkeel and tatweel dropped and one alef), and combining marks are part of a word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from core.reading.languages import is_word_char, rules_for

__all__ = [
    "Change",
    "find_phrases",
    "match_phrases",
    "match_words",
    "normalize_words",
    "prepare_text",
]

Change = tuple[int, str, str]
"""``(char_offset, removed_or_found, inserted_or_expected)``."""

# Dropped rather than treated as separators, so that "don't" stays one word ("dont").
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc")

_WORD_RE = re.compile(r"\S+")


def prepare_text(text: str, language: str = "en") -> tuple[str, list[int]]:
    """Normalise a text for word matching and keep a map back to the original.

    Lower-cases; keeps characters for which ``str.isalnum()`` is true; drops
    apostrophes (``'``, ``’``, ``‘``, ``ʼ``); every other character is a word
    separator. Runs of separators become one space; there is no leading or
    trailing space. Other languages than English: see the module docstring.

    Args:
        text: The original text.
        language: ISO 639-1 code of the text.

    Returns:
        ``(prepared, index_map)`` where ``len(index_map) == len(prepared)`` and
        ``index_map[k]`` is the index in ``text`` of the character that produced
        ``prepared[k]``. For a separator space it is the index of the first
        original separator character of the run. A character whose lower-case
        form is longer than one character (e.g. "İ") maps every produced
        character to the same original index.

    Example:
        ``prepare_text("  Every path—is")`` -> ``("every path is", [2, 3, ...])``.
    """
    rules = rules_for(language)
    if rules.code != "en":
        return _prepare_other(text, rules.prepare)
    chars: list[str] = []
    index_map: list[int] = []
    pending_sep: int | None = None
    for i, ch in enumerate(text):
        if ch in _APOSTROPHES:
            # Checked first: "ʼ" (U+02BC) is a modifier letter, so isalnum() is true for it.
            continue
        if ch.isalnum():
            if pending_sep is not None and chars:
                chars.append(" ")
                index_map.append(pending_sep)
            pending_sep = None
            for low in ch.lower():
                chars.append(low)
                index_map.append(i)
        elif pending_sep is None:
            pending_sep = i
    return "".join(chars), index_map


def _prepare_other(text: str, fold: Callable[[str], str]) -> tuple[str, list[int]]:
    """:func:`prepare_text` with each character and the combining marks after it
    folded together by ``fold`` (which may drop marks, "а́" -> "а", or compose
    them, "е" + U+0308 -> "ё" -> "е"); what it gives maps to the character's index."""
    chars: list[str] = []
    index_map: list[int] = []
    pending_sep: int | None = None
    end = 0
    while end < len(text):
        start, end = end, end + 1
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        if text[start] in _APOSTROPHES:
            continue
        for low in fold(text[start:end]):
            if is_word_char(low):
                if pending_sep is not None and chars:
                    chars.append(" ")
                    index_map.append(pending_sep)
                pending_sep = None
                chars.append(low)
                index_map.append(start)
            elif pending_sep is None:
                pending_sep = start
    return "".join(chars), index_map


def normalize_words(text: str, language: str = "en") -> list[str]:
    """Return the words of ``prepare_text(text, language)``, e.g. ``"Don't go!"`` ->
    ``["dont", "go"]``."""
    return prepare_text(text, language)[0].split()


def _prepared_words(prepared: str, index_map: Sequence[int]) -> list[tuple[str, int, int]]:
    """Words of a prepared string as ``(word, orig_start, orig_end)``, end exclusive."""
    return [
        (m.group(), index_map[m.start()], index_map[m.end() - 1] + 1)
        for m in _WORD_RE.finditer(prepared)
    ]


def _edit_runs(src: Sequence[str], dest: Sequence[str]) -> list[list[tuple[str, int, int]]]:
    """Levenshtein editops on word lists, grouped into runs of adjacent operations.

    An operation continues the current run when it starts exactly where the run
    ends in both sequences, i.e. no equal word lies between them.
    """
    runs: list[list[tuple[str, int, int]]] = []
    src_end = dest_end = -1
    for op in Levenshtein.editops(src, dest):
        if not runs or op.src_pos != src_end or op.dest_pos != dest_end:
            runs.append([])
        runs[-1].append((op.tag, op.src_pos, op.dest_pos))
        src_end = op.src_pos + (op.tag != "insert")
        dest_end = op.dest_pos + (op.tag != "delete")
    return runs


def _run_ranges(run: Sequence[tuple[str, int, int]]) -> tuple[int, int, int, int]:
    """``(src_start, src_end, dest_start, dest_end)`` word ranges touched by a run."""
    src = [s for tag, s, _ in run if tag != "insert"]
    dest = [d for tag, _, d in run if tag != "delete"]
    src_start = src[0] if src else run[0][1]
    dest_start = dest[0] if dest else run[0][2]
    return (
        src_start,
        src[-1] + 1 if src else src_start,
        dest_start,
        dest[-1] + 1 if dest else dest_start,
    )


def match_words(first_text: str, second_text: str) -> list[Change]:
    """List the word changes that turn ``first_text`` into ``second_text``.

    Words are whitespace-separated and compared exactly (no normalisation).
    They are aligned by Levenshtein distance over word lists
    (``rapidfuzz.distance.Levenshtein.editops``); consecutive non-equal
    operations with no equal word between them merge into one change.

    Args:
        first_text: The text to change.
        second_text: The target text.

    Returns:
        Changes in order, each ``(index, removed, inserted)``. ``index`` is a
        character offset into ``first_text``: the start of the first removed
        word, or for a pure insertion the start of the word it goes before
        (``len(first_text)`` when appended at the end). ``removed`` is the
        slice of ``first_text`` from the first to the last removed word (inner
        whitespace kept), ``""`` for a pure insertion; ``inserted`` is the same
        for ``second_text``, ``""`` for a pure deletion. Identical texts give
        ``[]``.
    """
    first = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(first_text)]
    second = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(second_text)]
    changes: list[Change] = []
    for run in _edit_runs([w for w, _, _ in first], [w for w, _, _ in second]):
        s1, s2, d1, d2 = _run_ranges(run)
        index = first[s1][1] if s1 < len(first) else len(first_text)
        removed = first_text[first[s1][1] : first[s2 - 1][2]] if s2 > s1 else ""
        inserted = second_text[second[d1][1] : second[d2 - 1][2]] if d2 > d1 else ""
        changes.append((index, removed, inserted))
    return changes


def match_phrases(
    phrases: Sequence[str], text: str, language: str = "en"
) -> list[list[Change]]:
    """Find reading errors, distributed over the phrases that were read.

    Case and non-alphanumeric symbols are ignored (see ``prepare_text``). The
    words of all phrases, in order, are aligned against the words of ``text``
    with ``rapidfuzz.distance.Levenshtein.editops``. Operations adjacent in
    both word sequences form one error as long as their read words lie in the
    same phrase; a run crossing a phrase boundary is split there.

    An omission (expected words, nothing read in their place) belongs to the
    phrase of the next read word, at that word's start; if nothing was read
    after it, it goes to the last phrase at ``len(phrases[-1])``.

    Args:
        phrases: What was read, one string per audio segment, in order.
        text: The correct text.
        language: ISO 639-1 code of the texts (see ``prepare_text``).

    Returns:
        One list per phrase (same length and order as ``phrases``) of
        ``(at_char, found, expected)``. ``at_char`` is a character offset into
        that phrase's own string. ``found`` is the original slice of the phrase
        from the first to the last wrongly read word (``""`` for an omission);
        ``expected`` is the original slice of ``text`` from the first to the
        last expected word (``""`` for an extra word). ``[]`` if ``phrases`` is
        empty.
    """
    if not phrases:
        return []
    # Read tokens as (word, phrase_index, start, end); offsets into that phrase.
    read: list[tuple[str, int, int, int]] = []
    for p, phrase in enumerate(phrases):
        read.extend(
            (w, p, s, e) for w, s, e in _prepared_words(*prepare_text(phrase, language))
        )
    expected_words = _prepared_words(*prepare_text(text, language))

    errors: list[list[Change]] = [[] for _ in phrases]
    for run in _edit_runs([t[0] for t in read], [w for w, _, _ in expected_words]):
        for part in _split_at_phrases(run, read):
            errors_for, change = _phrase_error(part, read, expected_words, phrases, text)
            errors[errors_for].append(change)
    return errors


def _split_at_phrases(
    run: Sequence[tuple[str, int, int]], read: Sequence[tuple[str, int, int, int]]
) -> list[list[tuple[str, int, int]]]:
    """Split a run so that each part's read words come from one phrase.

    Inserts (omissions) stay with the part they are in; an omission that
    precedes read words in the run therefore lands in the phrase of the next
    read word, which is where a lone omission would be attached anyway.
    """
    parts: list[list[tuple[str, int, int]]] = [[]]
    phrase: int | None = None
    for op in run:
        tag, src_pos, _ = op
        if tag != "insert":
            if phrase is not None and read[src_pos][1] != phrase:
                parts.append([])
            phrase = read[src_pos][1]
        parts[-1].append(op)
    return parts


def _phrase_error(
    part: Sequence[tuple[str, int, int]],
    read: Sequence[tuple[str, int, int, int]],
    expected_words: Sequence[tuple[str, int, int]],
    phrases: Sequence[str],
    text: str,
) -> tuple[int, Change]:
    """Turn one split run into ``(phrase_index, (at_char, found, expected))``."""
    s1, s2, d1, d2 = _run_ranges(part)
    expected = text[expected_words[d1][1] : expected_words[d2 - 1][2]] if d2 > d1 else ""
    if s2 > s1:
        _, phrase, start, _ = read[s1]
        found = phrases[phrase][start : read[s2 - 1][3]]
        return phrase, (start, found, expected)
    if s1 < len(read):
        return read[s1][1], (read[s1][2], "", expected)
    # The reader stopped early: nothing read after the omission.
    return len(phrases) - 1, (len(phrases[-1]), "", expected)


def find_phrases(
    phrases: Sequence[str],
    to_find: str,
    margin: float = 1.05,
    score_cutoff: float = 0.0,
    language: str = "en",
) -> list[int]:
    """Return the indices of the phrases in which ``to_find`` (fuzzily) appears.

    ``to_find`` and ``" ".join(phrases)`` are prepared with ``prepare_text``
    and the best fuzzy match is located with
    ``rapidfuzz.fuzz.partial_ratio_alignment``. The matched window in the
    joined text is widened to ``ceil(len(prepared_to_find) * margin)``
    characters (equally on both sides, clamped), to allow for contractions,
    then snapped to whole words: an edge word covered by less than half of
    its characters is dropped, a word covered by at least half is included
    whole. The window is mapped back to the original joined text.

    Args:
        phrases: Phrase strings, e.g. ASR segments or single words.
        to_find: The text to look for.
        margin: Window length as a multiple of the prepared ``to_find`` length.
        score_cutoff: Minimum ``partial_ratio`` score, 0..100.
        language: ISO 639-1 code of the texts (see ``prepare_text``).

    Returns:
        Increasing indices of every phrase whose span in the joined text
        overlaps the window; ``[]`` if either prepared string is empty, the
        score is below ``score_cutoff`` or no word survives snapping.
    """
    joined = " ".join(phrases)
    needle, _ = prepare_text(to_find, language)
    haystack, index_map = prepare_text(joined, language)
    if not needle or not haystack:
        return []
    alignment = fuzz.partial_ratio_alignment(needle, haystack, score_cutoff=score_cutoff)
    if alignment is None or alignment.score < score_cutoff:
        return []

    start, end = alignment.dest_start, alignment.dest_end
    extra = math.ceil(len(needle) * margin) - (end - start)
    if extra > 0:
        start = max(0, start - extra // 2)
        end = min(len(haystack), end + extra - extra // 2)

    kept = [
        (s, e)
        for s, e in ((m.start(), m.end()) for m in _WORD_RE.finditer(haystack))
        if 2 * (min(end, e) - max(start, s)) >= e - s
    ]
    if not kept:
        return []
    orig_start, orig_end = index_map[kept[0][0]], index_map[kept[-1][1] - 1] + 1

    found: list[int] = []
    offset = 0
    for i, phrase in enumerate(phrases):
        if offset < orig_end and orig_start < offset + len(phrase):
            found.append(i)
        offset += len(phrase) + 1
    return found
