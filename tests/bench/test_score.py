"""The benchmark's scoring (``bench/score.py``): the figures in docs/accuracy.md rest on it."""

from __future__ import annotations

import pytest

from bench.score import (
    Located,
    baseline_v1,
    cer,
    char_to_token,
    locate,
    match,
    ocr_token_map,
    remap,
    wer,
)

REFERENCE = "The little dog ran across the field."


def test_matching_counts_true_and_false_positives_and_misses():
    truth = [Located("substitution", 1, 2), Located("omission", 4, 5), Located("insertion", 6, 6)]
    predicted = [
        Located("substitution", 1, 2),  # hit
        Located("omission", 2, 3),  # wrong place: false positive
        Located("insertion", 5, 5),  # within one word: hit
    ]
    counts = match(predicted, truth)
    assert counts.tp == {"substitution": 1, "omission": 0, "insertion": 1}
    assert counts.fp == {"substitution": 0, "omission": 1, "insertion": 0}
    assert counts.fn == {"substitution": 0, "omission": 1, "insertion": 0}
    precision, recall, f1 = counts.prf()
    assert (precision, recall) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert f1 == pytest.approx(2 / 3)


def test_a_type_mismatch_is_not_a_hit():
    counts = match([Located("substitution", 2, 3)], [Located("omission", 2, 3)])
    assert counts.prf() == (0.0, 0.0, 0.0)


def test_one_truth_is_matched_once():
    counts = match(
        [Located("omission", 2, 3), Located("omission", 2, 3)], [Located("omission", 2, 3)]
    )
    assert (sum(counts.tp.values()), sum(counts.fp.values())) == (1, 1)


def test_no_errors_and_no_predictions_is_perfect():
    assert match([], []).prf() == (1.0, 1.0, 1.0)


def test_locate_maps_character_offsets_to_tokens():
    error = {"type": "substitution", "ref_char": REFERENCE.index("dog"), "expected": "dog"}
    assert locate(error, REFERENCE) == Located("substitution", 2, 3, 0.0)
    span = {"type": "omission", "ref_char": REFERENCE.index("ran"), "expected": "ran across"}
    assert (locate(span, REFERENCE).start, locate(span, REFERENCE).end) == (3, 5)
    insertion = {"type": "insertion", "ref_char": len(REFERENCE), "expected": ""}
    assert locate(insertion, REFERENCE).start == 7
    assert char_to_token(REFERENCE, 0) == 0


def test_ocr_tokens_are_mapped_to_the_reference():
    ocr = "The litle dog ran acr- oss the field."  # a misread word and a split word
    mapping = ocr_token_map(ocr, REFERENCE)
    assert mapping[:4] == [0, 1, 2, 3]
    assert mapping[-2:] == [5, 6]
    moved = remap(Located("substitution", 6, 7), mapping, 7)
    assert (moved.start, moved.end) == (5, 6)


def test_v1_baseline_reports_runs_on_the_reference():
    located = baseline_v1(["The little cat ran", "the field."], REFERENCE)
    assert located == [Located("substitution", 2, 3), Located("omission", 4, 5)]


def test_v1_baseline_has_no_number_normalisation():
    located = baseline_v1(["in nineteen eighty four"], "In 1984")
    assert [loc.type for loc in located] == ["substitution"]


def test_wer_and_cer():
    assert wer("the little dog ran", "The little dog ran.") == (0, 4)
    assert wer("the dog ran far", "the little dog ran") == (2, 4)
    assert cer("The  Field", "the field") == (0, 9)
    assert cer("the yield", "the field") == (1, 9)
