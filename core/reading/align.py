"""Word alignment of a reading: which reference words were read, and the edit
operations (miscues) in the gaps between them.

The reference (the page) and the transcript (heard words) are both turned into spoken
tokens (:func:`core.reading.normalize.spoken_form`) and aligned with Levenshtein edit
operations over token lists (``rapidfuzz.distance.Levenshtein.opcodes``). A reference
word is *correct* when all its tokens were heard in place. Between two correct words
lies a *gap*: its reference and heard words are first checked for equivalence of form
(:func:`core.reading.normalize.joined_variants`: "1984" / "one thousand nine hundred
eighty four", "path's" / "path is"), peeled from both ends; what is left becomes
substitutions, omissions and insertions, adjacent words of one type merged.
:mod:`core.reading.assess` turns the operations into timed, located miscues.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import Levenshtein

from core.reading.normalize import joined_variants, spoken_form

__all__ = ["INSERTION", "OMISSION", "SUBSTITUTION", "EditOp", "correct_words", "miscue_ops"]

SUBSTITUTION, OMISSION, INSERTION = "substitution", "omission", "insertion"

#: ``(type, ref_start, ref_end, heard_start, heard_end)``: word index ranges, ends
#: exclusive; an insertion has ``ref_start == ref_end``, an omission an empty heard range.
EditOp = tuple[str, int, int, int, int]

#: At most this many reference / heard words are tried together when peeling a gap.
_PEEL_MAX = 4


def miscue_ops(
    ref_texts: Sequence[str], heard_texts: Sequence[str], language: str = "en"
) -> list[EditOp]:
    """The miscues of a reading as edit operations, in reference order (insertions
    before the word they precede).

    Args:
        ref_texts: The page's words in reading order, as printed.
        heard_texts: The heard words in time order.
        language: ISO 639-1 code of the text, for normalisation
            (:func:`core.reading.normalize.spoken_form`).

    Returns:
        One :data:`EditOp` per miscue; empty when the reading matches the page.
    """
    anchors = _correct_pairs(ref_texts, heard_texts, language)
    ops: list[EditOp] = []
    prev_r, prev_h = -1, -1
    for r, first, last in [*anchors, (len(ref_texts), len(heard_texts), len(heard_texts))]:
        # Several reference words can share one heard word ("1984" / "nineteen eighty-four").
        h1 = max(first, prev_h + 1)
        r0, r1, h0, h1 = _peel(ref_texts, heard_texts, prev_r + 1, r, prev_h + 1, h1, language)
        if r1 > r0 or h1 > h0:
            ops.extend(_merge(_gap_ops(ref_texts, heard_texts, r0, r1, h0, h1, language)))
        prev_r, prev_h = r, max(last, prev_h)
    return ops


def correct_words(
    ref_texts: Sequence[str], heard_texts: Sequence[str], language: str = "en"
) -> list[tuple[int, int, int]]:
    """The reference words read as printed: ``(ref_word, first_heard, last_heard)``,
    increasing in both sequences (a word such as "1984" may span several heard words);
    ``language`` as for :func:`miscue_ops`."""
    return _correct_pairs(ref_texts, heard_texts, language)


def _tokens(words: Sequence[str], language: str) -> tuple[list[str], list[int]]:
    """Spoken tokens of all words and, for each token, the index of its word."""
    tokens: list[str] = []
    owner: list[int] = []
    for i, word in enumerate(words):
        for token in spoken_form(word, language):
            tokens.append(token)
            owner.append(i)
    return tokens, owner


def _correct_pairs(
    ref: Sequence[str], heard: Sequence[str], language: str
) -> list[tuple[int, int, int]]:
    """Anchors ``(ref_word, first_heard, last_heard)`` of reference words read correctly.

    A reference word is correct when each of its tokens is aligned ``equal``; words
    with no spoken token (punctuation) are neither anchors nor miscues.
    """
    ref_tokens, ref_owner = _tokens(ref, language)
    heard_tokens, heard_owner = _tokens(heard, language)
    equal_heard: dict[int, list[int]] = {}
    matched_tokens: dict[int, int] = {}
    for op in Levenshtein.opcodes(ref_tokens, heard_tokens):
        if op.tag != "equal":
            continue
        for k in range(op.src_end - op.src_start):
            word = ref_owner[op.src_start + k]
            matched_tokens[word] = matched_tokens.get(word, 0) + 1
            equal_heard.setdefault(word, []).append(heard_owner[op.dest_start + k])
    counts: dict[int, int] = {}
    for word in ref_owner:
        counts[word] = counts.get(word, 0) + 1
    pairs = []
    last_heard = -1
    for word in sorted(matched_tokens):
        if matched_tokens[word] == counts[word]:
            first, last = min(equal_heard[word]), max(equal_heard[word])
            # Keep anchors monotonic in both sequences.
            if first >= last_heard:
                pairs.append((word, first, last))
                last_heard = last
    return pairs


def _equivalent(ref: Sequence[str], heard: Sequence[str], language: str) -> bool:
    return bool(
        joined_variants(list(ref), language=language)
        & joined_variants(list(heard), language=language)
    )


def _peel(
    ref: Sequence[str], heard: Sequence[str], r0: int, r1: int, h0: int, h1: int, language: str
) -> tuple[int, int, int, int]:
    """Shrink a gap ``ref[r0:r1]`` / ``heard[h0:h1]`` by removing equivalent ends."""
    changed = True
    while changed and (r1 > r0 or h1 > h0):
        changed = False
        if r1 > r0 and h1 > h0 and _equivalent(ref[r0:r1], heard[h0:h1], language):
            return r1, r1, h1, h1
        for nr in range(1, min(_PEEL_MAX, r1 - r0) + 1):
            for nh in range(1, min(_PEEL_MAX, h1 - h0) + 1):
                if _equivalent(ref[r0 : r0 + nr], heard[h0 : h0 + nh], language):
                    r0, h0, changed = r0 + nr, h0 + nh, True
                    break
                if _equivalent(ref[r1 - nr : r1], heard[h1 - nh : h1], language):
                    r1, h1, changed = r1 - nr, h1 - nh, True
                    break
            if changed:
                break
    return r0, r1, h0, h1


def _gap_ops(
    ref: Sequence[str], heard: Sequence[str], r0: int, r1: int, h0: int, h1: int, language: str
) -> list[tuple[str, int, int, int, int]]:
    """Word-level operations inside a gap: ``(type, r_start, r_end, h_start, h_end)``.

    The gap's tokens are re-aligned locally; each reference word is a substitution
    (some of its tokens replaced) or an omission (all deleted); heard words with no
    token aligned to a reference word are insertions.
    """
    ref_tokens, ref_owner = _tokens(ref[r0:r1], language)
    heard_tokens, heard_owner = _tokens(heard[h0:h1], language)
    ref_heard: dict[int, set[int]] = {}
    aligned_heard: set[int] = set()
    for op in Levenshtein.opcodes(ref_tokens, heard_tokens):
        if op.tag in ("replace", "equal"):
            for k in range(op.src_end - op.src_start):
                word, hw = ref_owner[op.src_start + k], heard_owner[op.dest_start + k]
                ref_heard.setdefault(word, set()).add(hw)
                aligned_heard.add(hw)
    ops: list[tuple[str, int, int, int, int]] = []
    next_heard = 0  # heard word (relative) after the last one used so far
    for word in sorted(set(ref_owner)):
        heard_words = sorted(ref_heard.get(word, ()))
        if heard_words:
            ops.append(
                (
                    SUBSTITUTION,
                    r0 + word,
                    r0 + word + 1,
                    h0 + heard_words[0],
                    h0 + heard_words[-1] + 1,
                )
            )
            next_heard = max(next_heard, heard_words[-1] + 1)
        else:
            ops.append((OMISSION, r0 + word, r0 + word + 1, h0 + next_heard, h0 + next_heard))
    firsts = sorted((min(hws), word) for word, hws in ref_heard.items())
    for hw in range(h1 - h0):
        if hw in aligned_heard:
            continue
        # Read before the first reference word aligned after it (or at the gap's end).
        word = next((w for first, w in firsts if first > hw), r1 - r0)
        ops.append((INSERTION, r0 + word, r0 + word, h0 + hw, h0 + hw + 1))
    ops.sort(key=lambda op: (op[1], op[0] != INSERTION, op[3]))
    return ops


def _merge(ops: list[tuple[str, int, int, int, int]]) -> list[tuple[str, int, int, int, int]]:
    """Join operations of the same type that are adjacent in both sequences."""
    merged: list[tuple[str, int, int, int, int]] = []
    for op in ops:
        if merged:
            kind, rs, re_, hs, he = merged[-1]
            if op[0] == kind and op[1] == re_ and op[3] == he:
                merged[-1] = (kind, rs, op[2], hs, op[4])
                continue
        merged.append(op)
    return merged
