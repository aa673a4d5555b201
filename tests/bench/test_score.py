"""The benchmark's scoring (``bench/score.py``): the figures in docs/accuracy.md rest on it."""

from __future__ import annotations

import pytest

from bench.score import (
    FIGURES,
    TYPES,
    Counts,
    ItemCounts,
    Located,
    baseline_v1,
    bootstrap,
    cer,
    char_to_token,
    figures,
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


def _scored(predicted: list[Located], truth: list[Located]) -> ItemCounts:
    return ItemCounts(match(predicted, truth), clean=not truth)


SUB, OMI, INS = (Located(kind, 3, 3 if kind == "insertion" else 4) for kind in TYPES)
FAR = {kind: Located(kind, 20, 20 if kind == "insertion" else 21) for kind in TYPES}


def _varied_items() -> list[ItemCounts]:
    """24 items: hits, misses, false alarms of every type, clean and not."""
    items = []
    for kind, truth in zip(TYPES, (SUB, OMI, INS), strict=True):
        items += [
            _scored([truth], [truth]),  # hit: exactly right
            _scored([truth], [truth]),
            _scored([], [truth]),  # miss
            _scored([truth, FAR[kind]], [truth]),  # hit and a false alarm
            _scored([], []),  # clean, quiet: exactly right
            _scored([FAR[kind]], []),  # clean, one false alarm
            _scored([truth], [truth]),
            _scored([FAR[kind]], [truth]),  # miss and a false alarm
        ]
    return items


def test_exactly_right_means_no_false_positive_and_no_miss():
    items = [
        _scored([OMI], [OMI]),  # hit
        _scored([], []),  # clean and nothing reported
        _scored([INS], []),  # clean with a false alarm
        _scored([], [SUB]),  # a miss
        _scored([SUB, FAR["omission"]], [SUB]),  # a hit and a false alarm
    ]
    assert [i.counts.exactly_right() for i in items] == [True, True, False, False, False]
    point = figures(items)
    assert point["exactly_right"] == pytest.approx(2 / 5)
    assert point["false_errors_per_clean"] == pytest.approx(1 / 2)
    # Totals, not means of per-item figures: tp 2 (omission, substitution), fp 2, fn 1.
    assert (point["precision"], point["recall"]) == (pytest.approx(1 / 2), pytest.approx(2 / 3))
    assert point["omission.precision"] == pytest.approx(1 / 2)
    assert point["insertion.recall"] == 1.0  # no true insertion: undefined, counted as 1


def test_figures_agree_with_summed_counts():
    items = _varied_items()
    totals = Counts()
    for item in items:
        totals.add(item.counts)
    point = figures(items)
    assert (point["precision"], point["recall"], point["f1"]) == pytest.approx(totals.prf())
    for kind in TYPES:
        assert tuple(point[f"{kind}.{n}"] for n in ("precision", "recall", "f1")) == (
            pytest.approx(totals.prf(kind))
        )


def test_counts_round_trip_through_json_records():
    counts = match([SUB, FAR["insertion"]], [SUB, OMI])
    assert Counts.from_dict(counts.as_dict()) == counts


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_more_items():
    items = _varied_items()
    point, interval = figures(items), bootstrap(items)
    assert set(interval) == set(FIGURES)
    for name in FIGURES:
        low, high = interval[name]
        assert low <= point[name] <= high, name
    assert interval["f1"][1] - interval["f1"][0] > 0.05  # 24 items: a real spread
    # The same items four times over: the same estimates, intervals about half as wide.
    bigger = bootstrap(items * 4)
    assert figures(items * 4) == pytest.approx(point)
    for name in ("precision", "recall", "f1", "false_errors_per_clean", "exactly_right"):
        width, narrower = (iv[name][1] - iv[name][0] for iv in (interval, bigger))
        assert narrower < 0.7 * width, name


def test_bootstrap_is_seeded_and_says_when_a_figure_is_undefined():
    items = _varied_items()
    assert bootstrap(items) == bootstrap(items)
    assert bootstrap(items, seed=1) != bootstrap(items)
    not_clean = [i for i in items if not i.clean]
    assert bootstrap(not_clean)["false_errors_per_clean"] is None
    assert figures(not_clean)["false_errors_per_clean"] == 0.0
    assert bootstrap([]) == dict.fromkeys(FIGURES)
    # Every item exactly right: a zero-width interval at 1.
    assert bootstrap([_scored([SUB], [SUB])] * 5)["exactly_right"] == (1.0, 1.0)
