"""Words on the page with their boxes (core.page.words)."""

from __future__ import annotations

import pytest

from core.page.layout import order_boxes
from core.page.words import PageText, line_words, split_box
from core.plugins import ImageTextBox, Point, Rectangle


def page_text(boxes: list[ImageTextBox], low_confidence: float = 0.5) -> PageText:
    """The page's words from boxes in any order, as ``read_page`` builds them."""
    return line_words(order_boxes(boxes), low_confidence)


def box(
    text: str, left: float, top: float, right: float, bottom: float, confidence: float | None = None
) -> ImageTextBox:
    return ImageTextBox(
        text=text,
        coordinates=Rectangle.from_bounds(left, top, right, bottom),
        confidence=confidence,
    )


def check_offsets(page: PageText) -> None:
    for word in page.words:
        assert page.text[word.start : word.end] == word.text


def test_one_word_box_keeps_its_own_rectangle() -> None:
    only = box("  Every ", 7, 0, 174, 75)
    assert split_box(only) == [("Every", only.coordinates)]
    assert split_box(box("   ", 0, 0, 10, 10)) == []


def test_multi_word_box_is_split_in_proportion_to_glyph_widths() -> None:
    pieces = split_box(box("the  right path:", 100, 20, 250, 50))
    assert [word for word, _ in pieces] == ["the", "right", "path:"]
    spans = [(rect.bounds()[0], rect.bounds()[2]) for _, rect in pieces]
    assert spans[0][0] == 100 and spans[-1][1] == 250
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))  # space gaps
    # Proportional widths: "mmm" takes more of a box than "iii" beside it.
    (_, wide), (_, narrow) = split_box(box("mmm iii", 0, 0, 100, 20))
    assert wide.bounds()[2] - wide.bounds()[0] > 2 * (narrow.bounds()[2] - narrow.bounds()[0])
    for (_, right), (left, _) in zip(spans, spans[1:], strict=False):
        assert right < left  # increasing and not overlapping
    for _, rect in pieces:
        left, top, right, bottom = rect.bounds()
        assert 100 <= left < right <= 250
        assert (top, bottom) == (20, 50)
    widths = [right - left for left, right in spans]
    assert widths[1] > widths[0]  # "right" is wider than "the"


def test_rotated_box_gives_rotated_word_quads() -> None:
    # Top edge rises 20 px over 200 px (about 5.7 degrees); bottom edge parallel.
    rect = Rectangle(
        left_top=Point(x=0, y=40),
        right_top=Point(x=200, y=20),
        left_bottom=Point(x=4, y=80),
        right_bottom=Point(x=204, y=60),
    )
    pieces = split_box(ImageTextBox(text="abcd efgh ijkl mnop", coordinates=rect))  # 19 chars
    assert len(pieces) == 4
    for _, quad in pieces:
        # Each word's top edge rises like the box's: slope -0.1.
        dx = quad.right_top.x - quad.left_top.x
        dy = quad.right_top.y - quad.left_top.y
        assert dx > 0
        assert dy / dx == pytest.approx(-0.1, abs=0.03)
        assert quad.left_bottom.x - quad.left_top.x == 4  # the skew is kept
    first, last = pieces[0][1], pieces[-1][1]
    assert first.left_top == rect.left_top
    assert last.right_bottom == rect.right_bottom
    assert first.left_top.y > last.right_top.y  # later words sit higher


def test_line_end_hyphenation_is_joined_with_both_boxes() -> None:
    boxes = [
        box("This is an exam-", 0, 0, 160, 20, confidence=0.9),
        box("ple of it.", 0, 30, 100, 50, confidence=0.8),
    ]
    page = page_text(boxes)
    assert page.text == "This is an example of it."
    assert [w.text for w in page.words] == ["This", "is", "an", "example", "of", "it."]
    example = page.words[3]
    assert (example.start, example.end) == (11, 18)
    assert len(example.boxes) == 2
    assert example.boxes[0].bounds()[1] == 0 and example.boxes[1].bounds()[1] == 30
    assert example.confidence == 0.8  # the lower of the two boxes
    check_offsets(page)


@pytest.mark.parametrize("hyphen", ["-", "\u2010", "\u2011", "\u00ad"])
def test_every_hyphen_kind_joins_a_lower_case_continuation(hyphen: str) -> None:
    page = page_text([box(f"exam{hyphen}", 0, 0, 50, 20), box("ple", 0, 30, 30, 50)])
    assert page.text == "example"
    assert len(page.words[0].boxes) == 2


def test_capitalised_or_digit_continuation_keeps_the_hyphen() -> None:
    boxes = [
        box("the Anglo-", 0, 0, 100, 20),
        box("Saxon in 1939-", 0, 30, 140, 50),
        box("45 ended", 0, 60, 80, 80),
    ]
    page = page_text(boxes)
    assert [w.text for w in page.words] == ["the", "Anglo-Saxon", "in", "1939-45", "ended"]
    assert len(page.words[1].boxes) == 2
    check_offsets(page)


def test_hyphen_not_at_line_end_or_lone_dash_is_not_joined() -> None:
    boxes = [
        box("well- known -", 0, 0, 130, 20),  # "well-" is not the last word of its line
        box("next (line", 0, 30, 100, 50),
        box("by-", 0, 60, 30, 80),
        box("(aside)", 0, 90, 70, 110),  # starts with neither letter nor digit
    ]
    page = page_text(boxes)
    assert [w.text for w in page.words] == [
        "well-",
        "known",
        "-",
        "next",
        "(line",
        "by-",
        "(aside)",
    ]
    check_offsets(page)


def test_low_confidence_words_are_marked() -> None:
    boxes = [
        box("sure", 0, 0, 40, 20, confidence=0.93),
        box("maybe", 50, 0, 100, 20, confidence=0.31),
        box("unknown", 110, 0, 180, 20),
    ]
    page = page_text(boxes, low_confidence=0.5)
    flags = [(w.text, w.confidence, w.low_confidence) for w in page.words]
    assert flags == [("sure", 0.93, False), ("maybe", 0.31, True), ("unknown", None, False)]
    assert [w.low_confidence for w in page_text(boxes, low_confidence=0.95).words] == [
        True,
        True,
        False,
    ]


def test_empty_input_and_empty_boxes() -> None:
    assert page_text([]) == PageText("", [])
    page = page_text([box("", 0, 0, 10, 10), box("word", 20, 0, 60, 10), box("  ", 70, 0, 80, 10)])
    assert page.text == "word"
    assert [(w.start, w.end) for w in page.words] == [(0, 4)]


def test_scrambled_boxes_come_out_in_reading_order() -> None:
    # Real EasyOCR output on tests/data/every_path.jpg, in EasyOCR's order.
    path = ImageTextBox(
        text="path",
        coordinates=Rectangle(
            left_top=Point(x=169.3, y=7.2),
            right_top=Point(x=294.7, y=-2.3),
            left_bottom=Point(x=171.3, y=77.3),
            right_bottom=Point(x=295.7, y=67.8),
        ),
        confidence=0.99,
    )
    boxes = [
        box("Every", 7, 0, 174, 75, confidence=0.98),
        box("is", 296, 4, 352, 62, confidence=0.97),
        box("the right path:", 0, 59, 359, 139, confidence=0.42),
        path,
    ]
    page = page_text(boxes)
    assert page.text == "Every path is the right path:"
    assert [w.text for w in page.words] == ["Every", "path", "is", "the", "right", "path:"]
    assert page.words[1].boxes == (path.coordinates,)
    assert [w.low_confidence for w in page.words] == [False, False, False, True, True, True]
    check_offsets(page)
