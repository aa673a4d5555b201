"""Reading order of OCR boxes (core.layout)."""

from __future__ import annotations

from core.layout import join_text, order_boxes, reading_order
from core.plugins import ImageTextBox, Point, Rectangle


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
