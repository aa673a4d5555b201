"""core.report.marked_text: the reference text cut into words and miscues."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.report.marked_text import MarkedWord, marked_text
from core.results import AudioImageComparison, AudioTextComparison, MiscueReport

DATA = Path(__file__).parent / "data"
SEGMENT = {"start": 0.0, "end": 1.0, "text": "", "file": "00000000-0000-0000-0000-000000000000"}


def error(type_: str | None, expected: str, found: str, ref_char: int | None) -> MiscueReport:
    return MiscueReport(audio_segment=SEGMENT, at_char=0, found=found, expected=expected,
                        type=type_, ref_char=ref_char)


def rebuilt(pieces: list[MarkedWord]) -> str:
    """The text again from the pieces that are on the page (insertions left out)."""
    out = ""
    for piece in pieces:
        if piece.status != "insertion":
            out += (" " if piece.space_before and out else "") + piece.text
    return out


def marks(pieces: list[MarkedWord]) -> list[tuple[str, str, str, int | None]]:
    return [(p.status, p.text, p.heard, p.number) for p in pieces if p.status != "correct"]


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["miscue_image.json", "ar_miscue_image.json"])
def test_the_offsets_of_real_photo_results_point_into_image_text(name):
    result = AudioImageComparison.model_validate(load(name)["result"])
    for e in result.errors:
        assert result.image.text[e.ref_char : e.ref_char + len(e.expected)] == e.expected
    pieces = marked_text(result.image.text, result.errors)
    assert rebuilt(pieces) == result.image.text
    assert [p.number for p in pieces if p.number] == list(range(1, len(result.errors) + 1))


def test_the_offsets_of_a_real_text_result_point_into_the_items_joined_with_spaces():
    doc = load("miscue_text.json")
    text = " ".join(doc["task"]["text"])
    result = AudioTextComparison.model_validate(doc["result"])
    assert marks(marked_text(text, result.errors)) == [
        ("substitution", "brown", "black", 1),
        ("omission", "green", "", 2),
        ("substitution", "tree.", "big", 3),
    ]


def test_the_real_photo_result_is_marked_word_by_word():
    result = AudioImageComparison.model_validate(load("miscue_image.json")["result"])
    pieces = marked_text(result.image.text, result.errors)
    assert [p.text for p in pieces[:4]] == ["The", "little", "brown", "dog"]
    assert marks(pieces) == [("substitution", "brown", "black", 1), ("omission", "green", "", 2)]
    assert not pieces[0].space_before and all(p.space_before for p in pieces[1:])


def test_insertions_go_before_the_word_they_were_read_before_or_at_the_end():
    text = "the big tree"
    pieces = marked_text(text, [
        error("insertion", "", "very", 4),
        error("insertion", "", "indeed", len(text)),
        error("insertion", "", "so", 0),
    ])
    assert [(p.status, p.text, p.space_before) for p in pieces] == [
        ("insertion", "so", False),
        ("correct", "the", True),
        ("insertion", "very", True),
        ("correct", "big", True),
        ("correct", "tree", True),
        ("insertion", "indeed", True),
    ]
    assert [p.number for p in pieces if p.status == "insertion"] == [3, 1, 2]


def test_a_skipped_line_is_one_piece_of_several_words():
    text = "one two three four five"
    pieces = marked_text(text, [error("omission", "two three four", "", 4)])
    assert [(p.status, p.text) for p in pieces] == [
        ("correct", "one"), ("omission", "two three four"), ("correct", "five"),
    ]


def test_errors_without_ref_char_or_with_stale_ones_are_found_by_their_words():
    text = "the other cat saw the dog and the cat"
    pieces = marked_text(text, [
        error("substitution", "the", "a", None),  # the first whole "the", not "other"
        error("omission", "cat", "", 999),  # stale: after the previous miscue
        error("substitution", "dog", "log", 3),  # wrong offset: looked up
        error(None, "cat", "", None),  # no type: an omission, the next "cat"
    ])
    assert marks(pieces) == [
        ("substitution", "the", "a", 1), ("omission", "cat", "", 2),
        ("substitution", "dog", "log", 3), ("omission", "cat", "", 4),
    ]
    assert rebuilt(pieces) == text


def test_unplaceable_and_overlapping_errors_are_left_out_of_the_text():
    text = "a b c"
    pieces = marked_text(text, [
        error("substitution", "b c", "x", 2),
        error("omission", "c", "", 4),  # inside the first miscue
        error("substitution", "zebra", "z", None),  # not in the text
        error("insertion", "", "y", None),  # nowhere to put it
        error("insertion", "", "w", 4),  # read inside a miscue: shown before it
    ])
    assert [(p.status, p.text, p.number) for p in pieces] == [
        ("correct", "a", None), ("insertion", "w", 5), ("substitution", "b c", 1),
    ]


def test_empty_text_and_no_errors():
    assert marked_text("", []) == []
    assert marked_text("", [error("insertion", "", "hello", 0)]) == [
        MarkedWord("hello", "insertion", "hello", 1, space_before=False)
    ]
    assert rebuilt(marked_text("  spaced   out  ", [])) == "spaced out"


def test_right_to_left_text_keeps_its_logical_order():
    text = "ذهب الولد إلى الحديقة"
    pieces = marked_text(text, [error("substitution", "الحديقة", "المدرسة", 14)])
    assert [p.text for p in pieces] == ["ذهب", "الولد", "إلى", "الحديقة"]
    assert pieces[-1].heard == "المدرسة"
