"""Reading order of OCR boxes (core.page.layout)."""

from __future__ import annotations

import math
import random

import pytest

from core.page import layout
from core.page.layout import estimate_skew, join_ordered, order_boxes, reading_order
from core.plugins import ImageTextBox, Point, Rectangle


def join_text(boxes: list[ImageTextBox]) -> str:
    """The page's text as the service builds it: boxes in reading order, joined."""
    return join_ordered(reading_order(boxes))


def box(text: str, left: float, top: float, right: float, bottom: float) -> ImageTextBox:
    return ImageTextBox(text=text, coordinates=Rectangle.from_bounds(left, top, right, bottom))


def rotated(text: str, corners: list[tuple[float, float]]) -> ImageTextBox:
    """A box from EasyOCR-style corners: top-left, top-right, bottom-right, bottom-left."""
    lt, rt, rb, lb = (Point(x=x, y=y) for x, y in corners)
    return ImageTextBox(
        text=text,
        coordinates=Rectangle(left_top=lt, right_top=rt, right_bottom=rb, left_bottom=lb),
    )


def texts(lines: list[list[ImageTextBox]]) -> list[list[str]]:
    return [[b.text for b in line] for line in lines]


# Real EasyOCR output on tests/data/every_path.jpg, in EasyOCR's (unordered) order.
SAMPLE = [
    box("Every", 7, 0, 174, 75),
    box("is", 296, 4, 352, 62),
    box("the right path:", 0, 59, 359, 139),
    rotated("path", [(169.3, 7.2), (294.7, -2.3), (295.7, 67.8), (171.3, 77.3)]),
]


def test_sample_easyocr_output_is_put_in_reading_order() -> None:
    assert texts(order_boxes(SAMPLE)) == [["Every", "path", "is"], ["the right path:"]]
    assert [b.text for b in reading_order(SAMPLE)] == ["Every", "path", "is", "the right path:"]
    assert join_text(SAMPLE) == "Every path is the right path:"


def test_input_list_is_not_modified() -> None:
    sample = list(SAMPLE)
    order_boxes(sample)
    assert sample == SAMPLE


def test_empty() -> None:
    assert order_boxes([]) == []
    assert reading_order([]) == []
    assert join_text([]) == ""


def test_single_box() -> None:
    only = box("Hello", 10, 10, 60, 30)
    assert order_boxes([only]) == [[only]]
    assert join_text([only]) == "Hello"


def test_two_lines_with_a_skewed_word() -> None:
    # Line 1 baseline around y=20..40, with "quick" rotated a few degrees so its
    # axis-aligned bounds are taller (y 14..46) and start higher than its neighbours.
    boxes = [
        box("The", 10, 20, 50, 40),
        rotated("quick", [(60, 24), (120, 14), (122, 36), (62, 46)]),
        box("fox", 130, 21, 170, 41),
        box("jumps", 10, 60, 80, 80),
        box("over", 90, 59, 140, 79),
    ]
    assert texts(order_boxes(boxes)) == [["The", "quick", "fox"], ["jumps", "over"]]
    assert join_text(boxes) == "The quick fox jumps over"


def test_boxes_in_reverse_order() -> None:
    boxes = [
        box("one", 0, 0, 30, 20),
        box("two", 40, 1, 70, 21),
        box("three", 0, 30, 50, 50),
        box("four", 60, 31, 90, 51),
        box("five", 0, 60, 30, 80),
    ]
    assert [b.text for b in reading_order(list(reversed(boxes)))] == [
        "one",
        "two",
        "three",
        "four",
        "five",
    ]
    assert join_text(list(reversed(boxes))) == "one two three four five"


def test_touching_lines_stay_separate() -> None:
    # Lines that overlap by less than half the smaller height are different lines.
    boxes = [box("lower", 0, 18, 40, 38), box("upper", 50, 0, 90, 20)]
    assert texts(order_boxes(boxes)) == [["upper"], ["lower"]]


def test_join_text_collapses_whitespace_and_skips_empty_boxes() -> None:
    boxes = [box("  a   b ", 0, 0, 20, 10), box("", 30, 0, 40, 10), box("c", 50, 0, 60, 10)]
    assert join_text(boxes) == "a b c"


# Multi-column pages (XY-cut). Box heights are 20 px, so the median box height is 20.


def column(x0: float, words_per_line: list[list[str]], top: float = 50, pitch: float = 30):
    """Boxes for a column starting at ``x0``: one 20 px high line every ``pitch`` px."""
    boxes = []
    for row, words in enumerate(words_per_line):
        x = x0
        y = top + row * pitch
        for word in words:
            boxes.append(box(word, x, y, x + 50, y + 20))
            x += 60  # 10 px word gap, half a box height
    return boxes


LEFT = column(0, [["L1a", "L1b", "L1c"], ["L2a", "L2b", "L2c"], ["L3a", "L3b"]])
RIGHT = column(230, [["R1a", "R1b", "R1c"], ["R2a", "R2b", "R2c"], ["R3a", "R3b", "R3c"]])
LEFT_TEXT = "L1a L1b L1c L2a L2b L2c L3a L3b"
RIGHT_TEXT = "R1a R1b R1c R2a R2b R2c R3a R3b R3c"


def test_two_columns_read_left_column_then_right_column() -> None:
    # The columns' lines sit at the same heights; a line clustering alone would read
    # "L1a L1b L1c R1a ..." across the 60 px (3 box heights) gutter.
    scrambled = RIGHT[::2] + LEFT[::-1] + RIGHT[1::2]
    assert texts(order_boxes(scrambled)) == [
        ["L1a", "L1b", "L1c"],
        ["L2a", "L2b", "L2c"],
        ["L3a", "L3b"],
        ["R1a", "R1b", "R1c"],
        ["R2a", "R2b", "R2c"],
        ["R3a", "R3b", "R3c"],
    ]
    assert join_text(scrambled) == f"{LEFT_TEXT} {RIGHT_TEXT}"


def test_narrow_gutter_between_columns_of_several_lines_is_a_column_break() -> None:
    # Gutter 25 px = 1.25 box heights: above MIN_GUTTER_FRACTION, below WIDE_GUTTER_FRACTION,
    # accepted because both sides have >= 2 lines. Right column offset by half a line.
    left = column(0, [["a1", "a2"], ["b1", "b2"], ["c1", "c2"]])
    right = column(135, [["x1", "x2"], ["y1", "y2"], ["z1", "z2"]], top=60)
    assert join_text(right + left) == "a1 a2 b1 b2 c1 c2 x1 x2 y1 y2 z1 z2"


def test_single_column_with_wide_word_spacing_is_not_split() -> None:
    # Justified text: 16 px word gaps (0.8 box heights) that line up on every line form
    # a white gap from top to bottom, but it is too narrow to be a gutter.
    boxes = [
        box("one", 0, 0, 60, 20),
        box("two", 76, 0, 140, 20),
        box("three", 0, 30, 60, 50),
        box("four", 76, 30, 140, 50),
        box("five", 0, 60, 60, 80),
        box("six", 76, 60, 140, 80),
    ]
    assert texts(order_boxes(boxes[::-1])) == [["one", "two"], ["three", "four"], ["five", "six"]]


def test_one_line_with_a_very_wide_word_gap_stays_one_line() -> None:
    # 26 px (1.3 box heights) between two words of one line: wider than the minimum
    # gutter, but one line on each side is not a column.
    boxes = [box("far", 0, 0, 40, 20), box("apart", 66, 0, 120, 20), box("next", 0, 30, 40, 50)]
    assert texts(order_boxes(boxes)) == [["far", "apart"], ["next"]]


def test_heading_spanning_both_columns_comes_first_and_footer_last() -> None:
    heading = box("Chapter One", 40, 0, 360, 20)
    footer = box("page 7", 150, 160, 250, 180)
    scrambled = [footer, *RIGHT, heading, *LEFT]
    assert join_text(scrambled) == f"Chapter One {LEFT_TEXT} {RIGHT_TEXT} page 7"
    assert texts(order_boxes(scrambled))[0] == ["Chapter One"]


def test_heading_and_paragraph_gap_in_the_columns_do_not_cut_across_columns() -> None:
    # A blank line at the same height in both columns is a wider horizontal gap than
    # the one under the heading; the columns must still be read one after the other.
    heading = box("Title", 20, 0, 260, 20)  # across the gutter (50..230)
    left = column(0, [["a"], ["b"]], top=40) + column(0, [["c"], ["d"]], top=140)
    right = column(230, [["w"], ["x"]], top=40) + column(230, [["y"], ["z"]], top=140)
    assert join_text([*right, heading, *left]) == "Title a b c d w x y z"


def test_three_columns() -> None:
    boxes = (
        column(0, [["a1"], ["a2"]]) + column(100, [["b1"], ["b2"]]) + column(200, [["c1"], ["c2"]])
    )
    assert join_text(boxes[::-1]) == "a1 a2 b1 b2 c1 c2"


# Skewed pages (estimate_skew, deskewed ordering). ``turn`` turns a point about the
# page centre counter-clockwise as seen on the image (y down), so a positive angle
# makes the lines rise to the right, the sign estimate_skew reports.

PAGE_CENTRE = (650.0, 300.0)


def turn(x: float, y: float, angle: float) -> tuple[float, float]:
    t = math.radians(angle)
    dx, dy = x - PAGE_CENTRE[0], y - PAGE_CENTRE[1]
    return (
        PAGE_CENTRE[0] + dx * math.cos(t) + dy * math.sin(t),
        PAGE_CENTRE[1] - dx * math.sin(t) + dy * math.cos(t),
    )


def turned_box(text: str, cx: float, cy: float, w: float, h: float, angle: float, style: str):
    """A ``w`` x ``h`` box centred on ``(cx, cy)`` of the level page, turned by ``angle``.

    ``centre``: the centre turns, the box stays axis-aligned and keeps its size (EasyOCR
    word boxes); ``quad``: the four corners turn (a rotated quadrilateral); ``enclosing``:
    the axis-aligned bounds of the turned rectangle (EasyOCR phrase boxes, taller than
    their text on a turned page).
    """
    if style == "centre":
        x, y = turn(cx, cy, angle)
        return box(text, x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    corners = [
        turn(cx + dx, cy + dy, angle)
        for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]
    if style == "quad":
        return rotated(text, corners)
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    return box(text, min(xs), min(ys), max(xs), max(ys))


def skewed_page(
    angle: float,
    style: str = "centre",
    lines: int = 8,
    words: int = 8,
    x0: float = 100.0,
    widths: tuple[float, float] = (80.0, 150.0),
    seed: int = 7,
) -> tuple[list[ImageTextBox], list[list[str]]]:
    """A page of ``lines`` lines, 50 px apart, of ``words`` boxes 30-40 px tall and
    ``widths`` wide with 20 px word gaps (8 words: about 1060 px a line), turned by
    ``angle``. Returns the boxes shuffled and the words of each line in order."""
    rng = random.Random(seed)
    boxes, expected = [], []
    for row in range(lines):
        x = x0
        line = []
        for col in range(words):
            w, h = rng.uniform(*widths), rng.uniform(30, 40)
            cy = 100 + 50 * row + rng.uniform(-2, 2)  # uneven baselines, as OCR gives
            name = f"w{row}.{col}"
            boxes.append(turned_box(name, x + w / 2, cy, w, h, angle, style))
            line.append(name)
            x += w + 20
        expected.append(line)
    rng.shuffle(boxes)
    return boxes, expected


def words_of(lines: list[list[str]]) -> list[str]:
    return [word for line in lines for word in line]


def test_unskewed_page_gets_zero_and_keeps_its_order() -> None:
    boxes, expected = skewed_page(0.0)
    assert estimate_skew(boxes) == 0.0
    assert texts(order_boxes(boxes)) == expected


def test_existing_layouts_are_not_given_a_skew() -> None:
    two_lines = [box("The", 10, 20, 50, 40), box("fox", 130, 21, 170, 41)]
    two_lines += [box("jumps", 10, 60, 80, 80), box("over", 90, 59, 140, 79)]
    for boxes in (SAMPLE, LEFT + RIGHT, two_lines, column(0, [["a", "b", "c", "d", "e"]])):
        assert estimate_skew(boxes) == 0.0


@pytest.mark.parametrize("style", ["centre", "quad", "enclosing"])
@pytest.mark.parametrize("angle", [2.5, -2.5, 4.0, -4.0])
def test_skewed_page_is_read_line_by_line(angle: float, style: str) -> None:
    boxes, expected = skewed_page(angle, style)
    before = [b.model_copy(deep=True) for b in boxes]
    assert abs(estimate_skew(boxes) - angle) <= 0.5
    ordered = reading_order(boxes)
    assert [b.text for b in ordered] == words_of(expected)
    # The boxes themselves come back, coordinates untouched.
    assert sorted(map(id, ordered)) == sorted(map(id, boxes))
    assert boxes == before


def test_skew_is_what_scrambled_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # The 2.5 degree page above drifts by more than a line height along a line;
    # ordered without the deskew it is read out of order.
    boxes, expected = skewed_page(2.5)
    monkeypatch.setattr(layout, "skew_angle", lambda geometry: 0.0)
    assert [b.text for b in reading_order(boxes)] != words_of(expected)


def test_long_easyocr_phrases_on_a_skewed_page() -> None:
    # Three phrases a line, axis-aligned boxes enclosing the turned text: at 5 degrees
    # a 350 px phrase box is about 65 px tall for 35 px of text, more than a line pitch.
    boxes, expected = skewed_page(5.0, "enclosing", lines=10, words=3, widths=(300, 400))
    assert abs(estimate_skew(boxes) - 5.0) <= 0.5
    assert texts(order_boxes(boxes)) == expected


def test_single_line_page() -> None:
    boxes, expected = skewed_page(3.0, lines=1, words=6)
    assert abs(estimate_skew(boxes) - 3.0) <= 0.5
    assert texts(order_boxes(boxes)) == expected
    level, expected = skewed_page(0.0, lines=1, words=6)
    assert estimate_skew(level) == 0.0
    assert texts(order_boxes(level)) == expected


def test_empty_and_tiny_pages_have_no_skew() -> None:
    assert estimate_skew([]) == 0.0
    assert estimate_skew([box("one", 0, 0, 50, 20)]) == 0.0
    # Two words fit any slope; too little to go on.
    assert estimate_skew([box("a", 0, 0, 50, 20), box("b", 60, 5, 110, 25)]) == 0.0


def two_column_page(angle: float, words: int = 4, stagger: float = 0.0):
    """Two columns of 8 lines of ``words`` words, an 80 px gutter, turned by ``angle``;
    the right column's lines sit ``stagger`` px lower. Returns boxes and words in order."""
    rng = random.Random(3)
    boxes, order = [], []
    for side, x0 in (("L", 100.0), ("R", 100.0 + words * 120 + 80)):
        for row in range(8):
            x = x0
            for col in range(words):
                w, h = rng.uniform(80, 100), rng.uniform(30, 36)
                cy = 100 + 50 * row + (stagger if side == "R" else 0.0) + rng.uniform(-2, 2)
                name = f"{side}{row}.{col}"
                boxes.append(turned_box(name, x + w / 2, cy, w, h, angle, "centre"))
                order.append(name)
                x += w + 20
    rng.shuffle(boxes)
    return boxes, order


@pytest.mark.parametrize("angle", [2.0, -2.0, 4.0])
def test_two_columns_on_a_skewed_page_are_read_column_by_column(angle: float) -> None:
    boxes, order = two_column_page(angle)
    assert abs(estimate_skew(boxes) - angle) <= 0.5
    assert [b.text for b in reading_order(boxes)] == order


def test_staggered_columns_are_not_taken_for_a_skew() -> None:
    # The right column's lines sit 15 px lower. On the whole page, a slope of about
    # 1.5 degrees lines each left line up with its right neighbour and sharpens the
    # profile by more than MIN_SKEW_GAIN; the profile of each line's chain of
    # neighbouring words does not.
    boxes, order = two_column_page(0.0, words=3, stagger=15.0)
    assert estimate_skew(boxes) == 0.0
    assert [b.text for b in reading_order(boxes)] == order
