"""Words a reader may say instead of a printed word: the candidates of the reading check.

Readers' substitutions are mostly real words that look or sound like the printed one
("state" read "stale", "from" read "form"), or the same word with an ending added or
dropped ("walked" read "walk"); their insertions and omissions are mostly small
function words. This module proposes those candidates; the ASR model, teacher-forced
over the audio, decides (:mod:`core.reading.verify`).

The word list is ``wordfreq``'s English list (its most frequent
:data:`LEXICON_SIZE` words; wordfreq 3.x, data from Wikipedia, subtitles, news, books,
web text and more, https://github.com/rspeer/wordfreq). Distances are
``rapidfuzz``'s: optimal string alignment (an adjacent transposition, "form"/"from",
costs 1) and Levenshtein; sound-alikes are words with the same Metaphone key
(``jellyfish``) within a Levenshtein distance of 2 ("through"/"threw").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

__all__ = [
    "FUNCTION_WORDS", "LEXICON_SIZE", "Lexicon", "default_lexicon", "frequency_gain",
    "similarity", "styled",
]

#: Words taken from wordfreq's list, most frequent first: large enough for the
#: words of school texts, small enough to search in about 2 ms per word.
LEXICON_SIZE = 40_000
#: Small words readers add or skip (the most frequent English function words).
FUNCTION_WORDS = (
    "the", "a", "an", "and", "of", "to", "in", "is", "it", "that", "on", "for", "with",
    "as", "at", "by", "this", "was", "so", "but", "or", "are", "be", "has", "had",
)  # fmt: skip
#: Endings added or dropped in morphology slips.
_ENDINGS = ("s", "es", "ed", "d", "ing", "ly", "er", "est")
_LETTERS = re.compile(r"^[a-z]+(?:'[a-z]+)?$")
_WORD_CORE = re.compile(r"^(\W*)(.*?)(\W*)$")
_STRIP = ".,;:!?\"'()[]"


class Lexicon:
    """Near-words of English words.

    Args:
        words: The vocabulary, most frequent first (lower case). Default: wordfreq's
            :data:`LEXICON_SIZE` most frequent English words.
    """

    def __init__(self, words: Sequence[str] | None = None) -> None:
        if words is None:
            from wordfreq import top_n_list

            words = top_n_list("en", LEXICON_SIZE)
        self.words = [w for w in words if _LETTERS.match(w)]
        self.rank = {w: i for i, w in enumerate(self.words)}
        import jellyfish

        self._metaphone = jellyfish.metaphone
        self._by_sound: dict[str, list[str]] = {}
        for word in self.words:
            self._by_sound.setdefault(jellyfish.metaphone(word), []).append(word)

    def __contains__(self, word: str) -> bool:
        return word.lower() in self.rank

    def near_words(self, word: str, limit: int = 12) -> list[str]:
        """Words a reader may say for ``word``: morphology slips, then look-alikes and
        sound-alikes, most frequent first; lower case, ``word`` itself excluded.

        Args:
            word: A printed word; punctuation around it is ignored.
            limit: At most this many words.

        Returns:
            Up to ``limit`` words; empty for a word with no letters or of one letter.
        """
        from rapidfuzz import process
        from rapidfuzz.distance import OSA, Levenshtein

        core = _WORD_CORE.match(word)
        base = (core.group(2) if core else word).lower()
        if len(base) < 2 or not _LETTERS.match(base):
            return []
        found: list[str] = [w for w in _morphology(base) if w in self.rank and w != base]
        cutoff = 1 if len(base) < 7 else 2
        for candidate, _distance, _ in process.extract(
            base, self.words, scorer=OSA.distance, score_cutoff=cutoff, limit=60
        ):
            if candidate != base and candidate not in found and len(candidate) > 1:
                found.append(candidate)
        for candidate in self._by_sound.get(self._metaphone(base), ()):
            if (
                candidate != base
                and candidate not in found
                and Levenshtein.distance(candidate, base) <= 2
            ):
                found.append(candidate)
        morph = [w for w in found if w in set(_morphology(base))]
        rest = sorted((w for w in found if w not in morph), key=lambda w: self.rank.get(w, 1 << 30))
        return (morph + rest)[:limit]


def _morphology(base: str) -> list[str]:
    """The word with an ending added or dropped ("walked" -> "walk", "state" -> "states")."""
    out = [base + e for e in _ENDINGS]
    if base.endswith("e"):
        out += [base[:-1] + "ing", base + "d"]
    if base.endswith("y"):
        out += [base[:-1] + "ies", base[:-1] + "ied"]
    for ending in _ENDINGS:
        if base.endswith(ending) and len(base) - len(ending) >= 3:
            stem = base[: -len(ending)]
            out += [stem, stem + "e"]
    return list(dict.fromkeys(out))


def similarity(candidate: str, printed: str) -> int:
    """How much ``candidate`` looks like ``printed``, 0-100 (case and punctuation ignored).

    ``rapidfuzz.fuzz.ratio`` (normalised Indel similarity), except that an anagram
    ("was"/"saw", a reversal) and a morphology slip ("walk"/"walked") count as 100.
    """
    from rapidfuzz import fuzz

    a = candidate.strip(_STRIP).lower()
    b = printed.strip(_STRIP).lower()
    if sorted(a) == sorted(b) or a in _morphology(b) or b in _morphology(a):
        return 100
    return int(round(fuzz.ratio(a, b)))


@functools.lru_cache(maxsize=65536)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def frequency_gain(candidate: str, printed: str) -> float:
    """How much more frequent ``candidate`` is than ``printed``, in Zipf units
    (log10 of occurrences per billion words, wordfreq's scale); 0 when it is not.

    An ASR decoder's language model favours frequent words: a rare printed word
    ("pogrom") loses to a frequent look-alike ("program") even when read right, so
    a substitute needs more evidence the more frequent it is than the page's word.
    """
    a = candidate.strip(_STRIP).lower()
    b = printed.strip(_STRIP).lower()
    return max(0.0, _zipf(a) - _zipf(b))


def styled(candidate: str, printed: str) -> str:
    """``candidate`` written as ``printed`` is: its capitalisation and punctuation.

    ``styled("stale", "State,")`` is ``"Stale,"``.
    """
    match = _WORD_CORE.match(printed)
    lead, core, tail = match.groups() if match else ("", printed, "")
    if core[:1].isupper() and not core.isupper():
        candidate = candidate[:1].upper() + candidate[1:]
    elif core.isupper() and len(core) > 1:
        candidate = candidate.upper()
    return f"{lead}{candidate}{tail}"


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shared default :class:`Lexicon` (loaded once per process, about 0.2 s)."""
    return Lexicon()
