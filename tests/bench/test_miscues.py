"""Planting miscues (``bench/miscues.py``, ``bench/substitutes.py``): the kinds readers
make, recorded with a detail, balanced over a set, never on a number, and applied to the
spoken text as recorded."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from rapidfuzz.distance import Levenshtein

from bench.build_set import PASSAGES
from bench.miscue_words import FUNCTION_WORDS, INSERT_ADVERBS, INSERT_FUNCTION_WORDS
from bench.miscues import (
    DETAILS,
    FUNCTION_WORD,
    INSERTION,
    MISCUE_TYPES,
    MORPHOLOGY,
    OMISSION,
    REPETITION,
    SOUND,
    SUBSTITUTION,
    TWO_WORDS,
    VISUAL,
    WORD,
    Miscue,
    apply,
    core_of,
    is_number,
    plan_miscues,
    plant,
)
from bench.substitutes import (
    homophones,
    morphology_substitutes,
    pronunciations,
    sound_substitutes,
    substitutes,
    suffix_slip,
)


@pytest.fixture(scope="module")
def passages() -> list[str]:
    return [p["text"] for p in json.loads(PASSAGES.read_text(encoding="utf-8"))["passages"]]


@pytest.fixture(scope="module")
def planted(passages) -> list[tuple[str, list[tuple[str, str]], list[Miscue]]]:
    """Seed 7's plan over all passages: (reference, kinds asked for, miscues planted)."""
    plan = plan_miscues(len(passages), random.Random(7))
    return [
        (text, kinds, plant(text, kinds, random.Random(f"7-{k}")))
        for k, (text, kinds) in enumerate(zip(passages, plan, strict=True))
    ]


@pytest.mark.parametrize(
    ("word", "slip"),
    [("walked", "walk"), ("state", "states"), ("states", "state"), ("cities", "city"),
     ("quick", "quickly"), ("large", "larger"), ("moving", "move")],
)
def test_morphology_slips_add_or_drop_an_ending(word, slip):
    assert slip in morphology_substitutes(word)
    assert all(suffix_slip(word, other) for other in morphology_substitutes(word))


def test_irregular_forms_and_unrelated_words_are_not_morphology_slips():
    assert "begin" not in morphology_substitutes("began")
    assert "know" not in morphology_substitutes("known")
    assert not suffix_slip("state", "stake")
    assert suffix_slip("stop", "stopped") and suffix_slip("state", "stating")


def test_sound_alikes_are_one_phoneme_away_and_spelled_differently():
    for word in ("city", "state", "known", "border", "sing"):
        found = sound_substitutes(word)
        assert found, word
        for other in found:
            distance = min(
                Levenshtein.distance(a, b)
                for a in pronunciations(word)
                for b in pronunciations(other)
            )
            assert distance == 1, (word, other)
            assert not homophones(word, other)
            assert not (other[0] == word[0] and Levenshtein.distance(other, word) <= 2)
    assert "their" not in sound_substitutes("there")  # a homophone leaves no trace


def test_visual_substitutes_are_not_morphology_slips():
    assert substitutes("large", VISUAL) and "larger" not in substitutes("large", VISUAL)
    assert substitutes("was", VISUAL) == ("saw",)


def test_a_set_keeps_clean_readings_and_balances_types_and_details():
    plan = plan_miscues(47, random.Random(11))
    assert sum(1 for kinds in plan if not kinds) >= 10
    kinds = Counter(kind for item in plan for kind in item)
    types = Counter(kind for kind, _ in kinds.elements())
    assert max(types.values()) - min(types.values()) <= 1
    for kind in MISCUE_TYPES:
        counts = [kinds[(kind, detail)] for detail in DETAILS[kind]]
        assert max(counts) - min(counts) <= 1, kind


def test_planted_miscues_have_the_detail_they_claim(planted):
    asked = Counter(k for _, kinds, _ in planted for k in kinds)
    got = Counter((m.type, m.detail) for _, _, miscues in planted for m in miscues)
    assert sum(got.values()) == sum(asked.values())
    # Another detail is used only when a passage has no room for the one asked for.
    assert sum((asked - got).values()) <= 0.1 * sum(asked.values())
    for reference, _, miscues in planted:
        tokens = reference.split()
        for m in miscues:
            assert m.detail in DETAILS[m.type]
            span = tokens[m.ref_start : m.ref_end]
            assert not any(is_number(t) for t in span)
            if m.type == SUBSTITUTION:
                lower, found = m.expected.lower(), m.found.lower()
                assert found in substitutes(lower, m.detail)
                assert suffix_slip(lower, found) == (m.detail == MORPHOLOGY)
            elif m.type == OMISSION:
                assert len(span) == (2 if m.detail == TWO_WORDS else 1)
                if m.detail != TWO_WORDS:
                    is_function = core_of(span[0]).lower() in FUNCTION_WORDS
                    assert is_function == (m.detail == FUNCTION_WORD)
            else:
                assert not is_number(tokens[m.ref_start])
                previous = core_of(tokens[m.ref_start - 1])
                expected = {
                    FUNCTION_WORD: set(INSERT_FUNCTION_WORDS),
                    WORD: set(INSERT_ADVERBS),
                    REPETITION: {previous},
                }[m.detail]
                assert m.found in expected


def test_every_detail_occurs_in_a_set(planted):
    got = {(m.type, m.detail) for _, _, miscues in planted for m in miscues}
    assert got == {(kind, detail) for kind in MISCUE_TYPES for detail in DETAILS[kind]}
    assert {SOUND, VISUAL, MORPHOLOGY} <= {d for k, d in got if k == SUBSTITUTION}


def test_spoken_text_has_the_planted_words(planted):
    for reference, _, miscues in planted:
        spoken = apply(reference, miscues).split()
        inserted = sum(1 for m in miscues if m.type == INSERTION)
        omitted = sum(m.ref_end - m.ref_start for m in miscues if m.type == OMISSION)
        assert len(spoken) == len(reference.split()) - omitted + inserted


def test_a_miscue_without_detail_is_recorded_as_before():
    assert "detail" not in Miscue(OMISSION, 7, 8, "green", "").as_dict()
    assert Miscue(OMISSION, 7, 8, "green", "", WORD).as_dict()["detail"] == WORD


def test_a_type_alone_still_plants(passages):
    miscues = plant(passages[0], [SUBSTITUTION, INSERTION], random.Random(3))
    assert sorted(m.type for m in miscues) == sorted([SUBSTITUTION, INSERTION])
    assert all(m.detail in DETAILS[m.type] for m in miscues)
