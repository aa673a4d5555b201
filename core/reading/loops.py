"""Repetition loops in a transcript: the decoder writing one phrase over and over.

Whisper, primed with the page text, sometimes fills a silence or noise at the end of
a recording with the same few words dozens of times (seen: a five-word phrase 31
times after a clean 8-s reading). Aligned with the page, such a loop would be
reported as one long insertion: a miscue nobody made. :func:`drop_loops` removes the
copies the page does not have before the reading is assessed.

A *loop* is a run of at least ``min_repeats`` back-to-back copies of the same
``n``-word phrase (``n`` up to ``max_n``), words compared by their spoken form
(:func:`core.reading.normalize.spoken_form`, so "Path," equals "path"). A loop keeps
as many copies as the page prints in a row at most (often one, "no, no, no" three);
a phrase that is not on the page at all loses every copy. Shorter repetitions, as a
reader makes them ("the the"), are left for the alignment to judge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from core.reading.normalize import spoken_form

__all__ = ["MAX_PHRASE_WORDS", "MIN_REPEATS", "drop_loops", "drop_reading_loops"]

#: Back-to-back copies of one phrase that make a loop. Readers repeat a word or a
#: phrase once, sometimes twice; three copies and more is the decoder looping.
MIN_REPEATS = 3
#: Longest phrase, in words, looked for as the unit of a loop.
MAX_PHRASE_WORDS = 8

T = TypeVar("T")
Key = tuple[str, ...]


def _copies(keys: Sequence[Key], start: int, n: int) -> int:
    """How many back-to-back copies of ``keys[start:start + n]`` begin at ``start``."""
    phrase = keys[start : start + n]
    count = 1
    while keys[start + count * n : start + (count + 1) * n] == phrase:
        count += 1
    return count


def _most_copies_on_page(reference: Sequence[Key], phrase: Sequence[Key]) -> int:
    """The most back-to-back copies of ``phrase`` anywhere in the reference (0: absent)."""
    n, best = len(phrase), 0
    for start in range(len(reference) - n + 1):
        if list(reference[start : start + n]) == list(phrase):
            best = max(best, _copies(reference, start, n))
    return best


def drop_loops(
    heard: Sequence[T],
    key: Callable[[T], Key],
    reference: Sequence[Key],
    min_repeats: int = MIN_REPEATS,
    max_n: int = MAX_PHRASE_WORDS,
) -> list[T]:
    """The heard words without the loop copies the page does not have.

    Args:
        heard: Heard words in time order.
        key: A word's comparison key (its spoken form as a tuple of tokens).
        reference: The page's words' keys, in reading order.
        min_repeats: Back-to-back copies that make a loop (at least 2).
        max_n: Longest phrase looked for, in words.

    Returns:
        The words kept, in order. Without loops, the same words.
    """
    keys = [key(word) for word in heard]
    kept: list[T] = []
    i = 0
    while i < len(keys):
        best_n, best_count = 0, 1
        for n in range(1, max_n + 1):
            if i + n * min_repeats > len(keys):
                break
            count = _copies(keys, i, n)
            if count >= min_repeats and n * count > best_n * best_count:
                best_n, best_count = n, count
        if best_n == 0 or not any(keys[i : i + best_n]):
            kept.append(heard[i])
            i += 1
            continue
        allowed = min(best_count, _most_copies_on_page(reference, keys[i : i + best_n]))
        kept.extend(heard[i : i + best_n * allowed])
        i += best_n * best_count
    return kept


class _Texted(Protocol):
    text: str


W = TypeVar("W", bound=_Texted)


def drop_reading_loops(
    heard: Sequence[W], reference: Sequence[str], language: str = "en"
) -> list[W]:
    """:func:`drop_loops` for heard words against the page's words (printed texts),
    compared by spoken form in ``language`` (ISO 639-1,
    :func:`core.reading.normalize.spoken_form`). Returns the words kept, in order."""

    def key(text: str) -> Key:
        return tuple(spoken_form(text, language))

    return drop_loops(heard, lambda word: key(word.text), [key(text) for text in reference])
