"""core.reading.lexicon: the near-words proposed as a reader's substitutions."""

from __future__ import annotations

from core.reading.lexicon import Lexicon, default_lexicon, similarity, styled


def test_near_words_of_a_word_include_the_classic_slips():
    lexicon = default_lexicon()
    assert {"states", "stale", "slate", "stage"} <= set(lexicon.near_words("state", limit=40))
    assert "form" in lexicon.near_words("from", limit=40)  # a transposition
    assert "walk" in lexicon.near_words("walked")  # morphology first
    assert lexicon.near_words("walked")[0] in {"walk", "walks", "walking"}
    assert "state" not in lexicon.near_words("State.")


def test_near_words_ignore_punctuation_and_non_words():
    lexicon = Lexicon(["cat", "cot", "cut", "dog"])
    assert lexicon.near_words('"Cat,"') == ["cot", "cut"]
    assert lexicon.near_words("1984") == []
    assert lexicon.near_words("a") == []
    assert "CAT" in lexicon and "bird" not in lexicon


def test_similarity_counts_reversals_and_endings_as_alike():
    assert similarity("saw", "was") == 100
    assert similarity("walk", "Walked.") == 100
    assert similarity("stale", "state") == 80
    assert similarity("zebra", "state") < 50


def test_styled_copies_capitals_and_punctuation():
    assert styled("stale", "State,") == "Stale,"
    assert styled("stale", '"state."') == '"stale."'
    assert styled("nasa", "USA") == "NASA"
