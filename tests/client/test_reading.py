"""The reference text cut into pieces by the miscues (what ``fmr check`` colours)."""

from __future__ import annotations

from fmr_client import Miscue, mark_reading

TEXT = "The little brown dog ran across the green field to find his ball."


def miscue(kind: str, expected: str, found: str, ref_char: int | None) -> Miscue:
    return Miscue(at_char=0, found=found, expected=expected, type=kind, ref_char=ref_char)


def test_substitution_omission_and_insertion_are_placed_at_their_ref_char():
    pieces = mark_reading(TEXT, [
        miscue("omission", "green", "", TEXT.index("green")),
        miscue("substitution", "brown", "black", TEXT.index("brown")),
        miscue("insertion", "", "big", TEXT.index("ball")),
    ])
    marked = [(p.kind, p.text, p.heard) for p in pieces if p.kind not in ("correct", "space")]
    assert marked == [("substitution", "brown", "black"), ("omission", "green", None),
                      ("insertion", "big", "big")]
    kept = [p for p in pieces if p.miscue is None or p.miscue.type != "insertion"]
    assert "".join(p.text for p in kept) == TEXT
    words = [p.text for p in pieces if p.kind != "space"]
    assert words[words.index("big") + 1] == "ball."


def test_a_multi_word_miscue_and_one_at_the_very_end():
    pieces = mark_reading("one two three", [
        miscue("omission", "two three", "", 4),
        miscue("insertion", "", "four", 13),
    ])
    assert [(p.kind, p.text) for p in pieces] == [
        ("correct", "one"), ("space", " "), ("omission", "two three"), ("insertion", "four")]


def test_miscues_without_offsets_or_overlapping_are_left_out():
    pieces = mark_reading("a b c", [miscue("omission", "b", "", None),
                                    miscue("omission", "a b", "", 0),
                                    miscue("substitution", "b", "x", 2)])
    assert [(p.kind, p.text) for p in pieces] == [
        ("omission", "a b"), ("space", " "), ("correct", "c")]
