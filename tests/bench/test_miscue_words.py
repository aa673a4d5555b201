"""The word lists of the planted miscues (``bench/miscue_words.py``) agree with the rules
``bench/miscues.py`` and ``bench/substitutes.py`` state: a substitution never sounds like
the original, never touches a number word, and the lists are lower-case."""

from __future__ import annotations

import random

from bench import miscue_words, miscues, substitutes
from bench.miscue_words import (
    COMMON_WORDS,
    FUNCTION_WORDS,
    HOMOPHONES,
    INSERT_ADVERBS,
    INSERT_FUNCTION_WORDS,
    INSERT_WORDS,
    MISREADINGS,
    NO_SUBSTITUTION,
    NUMBER_WORDS,
    REPEAT,
)


def test_miscues_uses_the_word_lists_themselves():
    for module, names in (
        (miscues, ("NO_SUBSTITUTION", "NUMBER_WORDS", "FUNCTION_WORDS", "INSERT_FUNCTION_WORDS",
                   "INSERT_ADVERBS")),
        (substitutes, ("MISREADINGS", "COMMON_WORDS", "HOMOPHONES", "NUMBER_WORDS",
                       "MORPHOLOGY_SUFFIXES")),
    ):
        for name in names:
            assert getattr(module, name) is getattr(miscue_words, name), name


def test_the_lists_are_lower_case():
    words = {*MISREADINGS, *COMMON_WORDS, *NO_SUBSTITUTION, *NUMBER_WORDS, *INSERT_WORDS}
    words |= FUNCTION_WORDS
    words |= {w for found in MISREADINGS.values() for w in found}
    words |= {w for group in HOMOPHONES for w in group}
    assert {w for w in words if w != w.lower()} == set()
    assert REPEAT not in INSERT_WORDS


def test_misreadings_are_neither_the_word_nor_a_homophone_nor_a_number():
    for word, found in MISREADINGS.items():
        for other in found:
            assert other != word
            assert not substitutes.homophones(word, other), (word, other)
            assert other not in NUMBER_WORDS, (word, other)


def test_fallback_substitutes_follow_the_rules():
    rng = random.Random(7)
    for word in ("garden", "stone", "field", "water", "sing"):
        found = substitutes.substitute_for(word, rng)
        assert found is not None and found != word
        assert found[0] == word[0] and abs(len(found) - len(word)) <= 1
        assert found not in NUMBER_WORDS and not substitutes.homophones(found, word)


def test_inserted_words_are_function_words_or_adverbs():
    assert set(INSERT_WORDS) == set(INSERT_FUNCTION_WORDS) | set(INSERT_ADVERBS)
    assert set(INSERT_FUNCTION_WORDS) <= FUNCTION_WORDS
    assert not set(INSERT_ADVERBS) & FUNCTION_WORDS
    assert not FUNCTION_WORDS & NUMBER_WORDS
