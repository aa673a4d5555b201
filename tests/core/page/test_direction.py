"""Right-to-left text on the page (core.page.direction and its use in core.page.layout,
core.page.words and core.page.annotate): Arabic and Hebrew lines read right to left,
English as before."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFont, features

from core.page.annotate import MISCUE_COLOURS, Mark, annotate_page
from core.page.direction import is_rtl, rtl_order, strip_bidi_controls, text_direction
from core.page.layout import order_boxes, reading_order
from core.page.words import read_page, split_box
from core.plugins import ImageProcessingResult, ImageTextBox, Rectangle

ARABIC_LINE = "ذهب الولد إلى المدرسة في الصباح الباكر"
FONT_SIZE = 40  # pixels
WHITE = (255, 255, 255)


def box(text: str, left: float, top: float, right: float, bottom: float) -> ImageTextBox:
    return ImageTextBox(text=text, coordinates=Rectangle.from_bounds(left, top, right, bottom))


def texts(boxes: list[ImageTextBox]) -> list[str]:
    return [b.text for b in boxes]


# --- direction helpers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "direction"),
    [
        ("المدرسة", "rtl"),
        ("שלום עולם", "rtl"),  # Hebrew letters are bidi type R, Arabic ones AL
        ("school", "ltr"),
        ("школа", "ltr"),
        ("2024 - 15.", None),  # digits and punctuation have no direction of their own
        ("", None),
        ("قرأ Harry Potter", "ltr"),  # 11 Latin letters against 3 Arabic
        ("قرأ الولد كتاب Harry", "rtl"),
    ],
)
def test_direction_is_that_of_most_strong_characters(text: str, direction: str | None) -> None:
    assert text_direction(text) == direction
    assert is_rtl(text) is (direction == "rtl")


def test_bidi_controls_are_stripped() -> None:
    assert strip_bidi_controls("Potter\u200f") == "Potter"
    assert strip_bidi_controls("\u2067كتاب\u2069 x\u200e") == "كتاب x"


def test_rtl_order_reverses_and_keeps_latin_runs_left_to_right() -> None:
    # Left to right on the image: الصيف في Harry Potter كتاب قرأ
    on_image = ["الصيف", "في", "Harry", "Potter", "كتاب", "قرأ"]
    reading = [on_image[i] for i in rtl_order(on_image)]
    assert reading == ["قرأ", "كتاب", "Harry", "Potter", "في", "الصيف"]
    # A number between Latin words joins their run; one beside Arabic does not.
    on_image = ["2024", "عام", "Harry", "7", "Potter", "كتاب"]
    assert [on_image[i] for i in rtl_order(on_image)] == [
        "كتاب", "Harry", "7", "Potter", "عام", "2024",
    ]  # fmt: skip


def test_rtl_order_is_its_own_inverse() -> None:
    pool = ["كتاب", "قرأ", "Harry", "Potter", "7", "-", "שלום", "x"]
    chooser = random.Random(15)
    for _ in range(300):
        items = [chooser.choice(pool) for _ in range(chooser.randint(0, 9))]
        order = rtl_order(items)
        assert sorted(order) == list(range(len(items)))
        once = [items[i] for i in order]
        assert [once[i] for i in rtl_order(once)] == items


# --- layout: lines and columns ------------------------------------------------------------


def test_arabic_line_is_ordered_right_to_left_and_english_left_to_right() -> None:
    # Words 60 px wide, 20 px apart (a gap narrower than a gutter).
    arabic = [box(w, x, 10, x + 60, 40) for w, x in [("في", 100), ("ذهب", 260), ("الولد", 180)]]
    english = [box(w, x, 60, x + 60, 90) for w, x in [("path", 180), ("the", 100), ("on", 260)]]
    lines = order_boxes(english + arabic)
    assert [texts(line) for line in lines] == [["ذهب", "الولد", "في"], ["the", "path", "on"]]


def test_hebrew_line_with_a_latin_name_keeps_the_name_left_to_right() -> None:
    on_image = [("שלום", 0), ("Tel", 100), ("Aviv", 200), ("ב", 300), ("גרתי", 400)]
    boxes = [box(w, x, 0, x + 80, 30) for w, x in reversed(on_image)]
    assert texts(reading_order(boxes)) == ["גרתי", "ב", "Tel", "Aviv", "שלום"]


def two_columns(words: list[str]) -> list[ImageTextBox]:
    """Two columns (x 0-180 and 400-580 px), two lines each, two 80-px words per line,
    listed column by column, line by line, right word first."""
    return [
        box(words[len(words) // 2 * (column == 0) + 2 * row + slot], left, row * 40, left + 80,
            row * 40 + 30)
        for column, base in ((1, 400), (0, 0))
        for row in range(2)
        for slot, left in enumerate((base + 100, base))
    ]  # fmt: skip


def test_arabic_columns_are_read_right_column_first() -> None:
    words = ["ذهب", "الولد", "إلى", "المدرسة", "في", "الصباح", "مع", "أصدقائه"]
    boxes = two_columns(words)
    assert texts(reading_order(boxes[::-1])) == texts(boxes)
    # The same layout in English: left column first, each line left to right.
    english = two_columns([f"w{i}" for i in range(8)])
    expected = [english[i] for i in (5, 4, 7, 6, 1, 0, 3, 2)]
    assert texts(reading_order(english)) == texts(expected)


# --- words: splitting a box ----------------------------------------------------------


def test_multi_word_arabic_box_is_split_from_the_right() -> None:
    pieces = split_box(box("ذهب الولد إلى", 100, 20, 400, 60))
    assert [word for word, _ in pieces] == ["ذهب", "الولد", "إلى"]
    spans = [(rect.bounds()[0], rect.bounds()[2]) for _, rect in pieces]
    assert spans[0][1] == 400 and spans[-1][0] == 100  # first word at the right edge
    assert all(later[1] < earlier[0] for earlier, later in zip(spans, spans[1:], strict=False))


def test_mixed_box_places_a_latin_name_left_to_right_inside_rtl_text() -> None:
    pieces = dict(split_box(box("قرأ الولد كتاب Harry Potter في الصيف", 0, 0, 700, 40)))
    left = {word: rect.bounds()[0] for word, rect in pieces.items()}
    assert left["قرأ"] > left["الولد"] > left["كتاب"] > left["Potter"]
    assert left["Harry"] < left["Potter"] and left["في"] < left["Harry"]
    assert left["الصيف"] == 0


def test_english_box_is_still_split_left_to_right() -> None:
    pieces = split_box(box("the right path", 100, 20, 250, 50))
    assert [w for w, _ in pieces] == ["the", "right", "path"]
    assert pieces[0][1].bounds()[0] == 100 and pieces[-1][1].bounds()[2] == 250


# --- a rendered Arabic line: words, then the annotated photo -----------------------------


@pytest.fixture(scope="module")
def arabic_photo() -> tuple[Image.Image, ImageTextBox, list[tuple[float, float]]]:
    """A rendered Arabic line, its line box (as EasyOCR gives one) and each word's
    drawn extent ``(left, right)`` in pixels, in reading order."""
    assert features.check("raqm"), "Arabic shaping needs Pillow's libraqm (libfribidi0)"
    font = ImageFont.truetype("DejaVuSans.ttf", FONT_SIZE, layout_engine=ImageFont.Layout.RAQM)
    image = Image.new("RGB", (900, 200), WHITE)
    draw = ImageDraw.Draw(image)
    anchor = (850, 80)  # right end of the line's first (rightmost) word
    options = {"font": font, "direction": "rtl", "anchor": "ra"}
    draw.text(anchor, ARABIC_LINE, fill=(0, 0, 0), **options)
    line_box = box(ARABIC_LINE, *draw.textbbox(anchor, ARABIC_LINE, **options))
    words, extents = ARABIC_LINE.split(), []
    for i, word in enumerate(words):
        # Arabic letters do not join across a space, so advance widths add up.
        before = font.getlength(" ".join(words[:i]) + " ", direction="rtl") if i else 0.0
        right = anchor[0] - before
        extents.append((right - font.getlength(word, direction="rtl"), right))
    return image, line_box, extents


def test_read_page_gives_each_arabic_word_the_box_it_was_drawn_in(arabic_photo) -> None:
    _, line_box, extents = arabic_photo
    _, page = read_page(ImageProcessingResult(text=ARABIC_LINE, boxes=[line_box]))
    assert page.text == ARABIC_LINE
    # Measured: every estimated edge within 2 px of the drawn word's.
    for word, (left, right) in zip(page.words, extents, strict=True):
        (rect,) = word.boxes
        assert rect.bounds()[0] == pytest.approx(left, abs=4), word.text
        assert rect.bounds()[2] == pytest.approx(right, abs=4), word.text


def test_annotated_photo_marks_the_first_arabic_word_at_the_right(arabic_photo) -> None:
    image, line_box, extents = arabic_photo
    _, page = read_page(ImageProcessingResult(text=ARABIC_LINE, boxes=[line_box]))
    first, last = page.words[0], page.words[-1]
    png = annotate_page(image, [Mark("substitution", first.boxes, rtl=True)])
    marked = Image.open(io.BytesIO(png)).convert("RGB")
    colour = MISCUE_COLOURS["substitution"]
    left, top, right, bottom = first.boxes[0].bounds()
    # Its outline is drawn inside its box, which lies on the rightmost drawn word.
    assert marked.getpixel(((left + right) // 2, top)) == colour
    assert marked.getpixel((right, (top + bottom) // 2)) == colour
    assert extents[0][0] - 4 <= left < right <= extents[0][1] + 4
    # The leftmost drawn word (the last one read) is not marked.
    _, _, last_right, _ = last.boxes[0].bounds()
    region = marked.crop((int(extents[-1][0]), top, int(extents[-1][1]), bottom + 1))
    assert colour not in {c for _, c in region.getcolors(maxcolors=1 << 16)}
    assert last_right < left


def test_label_of_a_right_to_left_word_ends_at_the_box_right_edge() -> None:
    page = Image.new("RGB", (600, 200), WHITE)
    rect = Rectangle.from_bounds(350, 120, 400, 150)  # narrower than the label's tag
    colour = MISCUE_COLOURS["omission"]

    def tag_columns(rtl: bool) -> list[int]:
        out = Image.open(
            io.BytesIO(annotate_page(page, [Mark("omission", (rect,), "skipped", rtl)]))
        )
        row = 120 - 10  # through the tag, above the box
        return [x for x in range(600) if out.convert("RGB").getpixel((x, row)) == colour]

    ltr, rtl = tag_columns(False), tag_columns(True)
    assert ltr[0] == 350 and ltr[-1] > 400  # starts at the left edge, runs on rightwards
    assert rtl[-1] == 400 and rtl[0] < 350  # ends at the right edge, runs on leftwards
    assert len(ltr) == len(rtl)
