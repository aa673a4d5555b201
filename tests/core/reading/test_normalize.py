"""Normalisation: formatting differences must never become miscues."""

from __future__ import annotations

import pytest

from core.reading.normalize import joined_variants, spoken_form, spoken_variants


@pytest.mark.parametrize(
    ("word", "form"),
    [
        ("Every", ["every"]),
        ("path.", ["path"]),
        ("\u201cYes,\u201d", ["yes"]),
        ("\u2014", []),
        ("...", []),
    ],
)
def test_case_punctuation_and_quotes_are_formatting(word, form):
    assert spoken_form(word) == form


def test_curly_and_straight_apostrophes_are_the_same():
    assert spoken_form("don\u2019t") == spoken_form("don't") == ["do", "not"]


@pytest.mark.parametrize(
    ("number", "form"),
    [
        ("3", ["three"]),
        ("1984", ["nineteen", "eighty", "four"]),
        ("3rd", ["third"]),
        ("2,000", ["two", "thousand"]),
        ("3.5", ["three", "point", "five"]),
        ("50%", ["fifty", "percent"]),
        ("(1984).", ["nineteen", "eighty", "four"]),
        ("1990s", ["nineteen", "nineties"]),
    ],
)
def test_numbers_are_read_as_words(number, form):
    assert spoken_form(number) == form


def test_a_year_may_also_be_read_as_a_cardinal():
    variants = spoken_variants("1984")
    assert ["one", "thousand", "nine", "hundred", "eighty", "four"] in variants


def test_and_inside_a_number_is_optional():
    assert joined_variants(["2005"]) >= {"twothousandandfive", "twothousandfive"}


def test_hyphens_and_dashes_separate_parts():
    assert spoken_form("well-known") == ["well", "known"]
    assert spoken_form("nineteen\u2013eighty") == ["nineteen", "eighty"]


@pytest.mark.parametrize(
    ("contraction", "expansion"),
    [
        ("don't", ["do", "not"]),
        ("won't", ["will", "not"]),
        ("I'm", ["i", "am"]),
        ("we're", ["we", "are"]),
        ("they've", ["they", "have"]),
        ("she'll", ["she", "will"]),
        ("it's", ["it", "is"]),
        ("let's", ["let", "us"]),
    ],
)
def test_unambiguous_contractions_are_expanded(contraction, expansion):
    assert spoken_form(contraction) == expansion


def test_possessive_s_may_also_be_is_or_has():
    assert spoken_form("path's") == ["paths"]
    assert joined_variants(["path's"]) & joined_variants(["path", "is"])
    assert joined_variants(["path's"]) & joined_variants(["path", "has"])


def test_word_boundaries_do_not_matter_when_joined():
    assert joined_variants(["everyone"]) & joined_variants(["every", "one"])
    assert joined_variants(["cannot"]) & joined_variants(["can", "not"])


def test_spoken_abbreviation_is_a_variant():
    assert joined_variants(["Mr."]) & joined_variants(["mister"])


def test_different_words_stay_different():
    assert not joined_variants(["horse"]) & joined_variants(["house"])
    assert not joined_variants(["1984"]) & joined_variants(["1985"])
