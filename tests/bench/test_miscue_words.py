"""The word lists of the planted miscues (``bench/miscue_words.py``) agree with the rules
``bench/miscues.py`` states: a substitution never sounds like the original, never
touches a number word, and the lists are lower-case."""

from __future__ import annotations

import random

from bench import miscue_words, miscues
from bench.miscue_words import (
    COMMON_WORDS,
    HOMOPHONES,
    INSERT_WORDS,
    MISREADINGS,
    NO_SUBSTITUTION,
    NUMBER_WORDS,
    REPEAT,
)


def test_miscues_uses_the_word_lists_themselves():
    for name in ("MISREADINGS", "COMMON_WORDS", "NO_SUBSTITUTION", "HOMOPHONES",
                 "NUMBER_WORDS", "INSERT_WORDS", "REPEAT"):
        assert getattr(miscues, name) is getattr(miscue_words, name)


def test_the_lists_are_lower_case():
    words = {*MISREADINGS, *COMMON_WORDS, *NO_SUBSTITUTION, *NUMBER_WORDS, *INSERT_WORDS}
    words |= {w for found in MISREADINGS.values() for w in found}
    words |= {w for group in HOMOPHONES for w in group}
    assert {w for w in words if w != w.lower()} == set()
    assert REPEAT not in INSERT_WORDS


def test_misreadings_are_neither_the_word_nor_a_homophone_nor_a_number():
    for word, found in MISREADINGS.items():
        for other in found:
            assert other != word
            assert not miscues.homophones(word, other), (word, other)
            assert other not in NUMBER_WORDS, (word, other)


def test_fallback_substitutes_follow_the_rules():
    rng = random.Random(7)
    for word in ("garden", "stone", "field", "water", "sing"):
        found = miscues.substitute_for(word, rng)
        assert found is not None and found != word
        assert found[0] == word[0] and abs(len(found) - len(word)) <= 1
        assert found not in NUMBER_WORDS and not miscues.homophones(found, word)
