"""Miscues drawn on the page image (core.page.annotate)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.page.annotate import MISCUE_COLOURS, Mark, annotate_page, legend_entries
from core.plugins import Point, Rectangle

WIDTH, HEIGHT = 400, 300


def page(mode: str = "RGB") -> Image.Image:
    """A white page of WIDTH x HEIGHT pixels with a grey 'text' bar."""
    im = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    im.paste((90, 90, 90), (40, 100, 360, 120))
    return im.convert(mode)


def decode(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG"
    im.load()
    return im


def strip_colours(im: Image.Image) -> set[tuple[int, int, int]]:
    """The colours found in the legend strip (the rows below the page)."""
    strip = im.crop((0, HEIGHT, im.width, im.height))
    return {colour for _, colour in strip.getcolors(maxcolors=1 << 16)}


def test_output_is_an_rgb_png_as_wide_as_the_page_and_taller_by_the_legend() -> None:
    im = decode(annotate_page(page(), []))
    assert im.mode == "RGB"
    assert im.width == WIDTH
    assert HEIGHT < im.height < HEIGHT + 100
    # The page itself is unchanged when there is nothing to mark.
    assert im.crop((0, 0, WIDTH, HEIGHT)).tobytes() == page().tobytes()


@pytest.mark.parametrize("kind", sorted(MISCUE_COLOURS))
def test_box_outline_has_the_type_colour(kind: str) -> None:
    rect = Rectangle.from_bounds(50, 95, 150, 125)
    im = decode(annotate_page(page(), [Mark(kind, (rect,))]))
    colour = MISCUE_COLOURS[kind]
    for xy in [(100, 95), (100, 125), (50, 110), (150, 110), (100, 96)]:  # the edges, 2 px wide
        assert im.getpixel(xy) == colour, xy
    assert im.getpixel((100, 110)) == (90, 90, 90)  # inside: the text is not covered
    assert im.getpixel((100, 90)) == (255, 255, 255)  # outside: untouched


def test_rotated_box_is_drawn_as_a_polygon() -> None:
    rect = Rectangle(
        left_top=Point(x=100, y=60),
        right_top=Point(x=300, y=40),
        left_bottom=Point(x=100, y=100),
        right_bottom=Point(x=300, y=80),
    )
    im = decode(annotate_page(page(), [Mark("omission", (rect,))]))
    blue = MISCUE_COLOURS["omission"]
    assert im.getpixel((200, 50)) == blue  # middle of the slanted top edge
    assert im.getpixel((200, 40)) == (255, 255, 255)  # above it: the bounds' top is not drawn


def test_line_width_scales_with_the_image() -> None:
    big = Image.new("RGB", (2000, 1000), (255, 255, 255))
    rect = Rectangle.from_bounds(100, 100, 600, 300)
    im = decode(annotate_page(big, [Mark("substitution", (rect,))]))
    column = [im.getpixel((300, y)) for y in range(100, 110)]
    assert column == [MISCUE_COLOURS["substitution"]] * 5 + [(255, 255, 255)] * 5  # 2000/400


def test_label_is_drawn_above_the_box() -> None:
    rect = Rectangle.from_bounds(50, 150, 150, 180)
    plain = decode(annotate_page(page(), [Mark("substitution", (rect,))]))
    labelled = decode(annotate_page(page(), [Mark("substitution", (rect,), 'said "horse"')]))
    above = (50, 110, 200, 148)
    assert plain.crop(above).tobytes() != labelled.crop(above).tobytes()
    tag_colours = {c for _, c in labelled.crop(above).getcolors(maxcolors=1 << 16)}
    assert MISCUE_COLOURS["substitution"] in tag_colours
    below = (50, 182, 200, HEIGHT)
    assert plain.crop(below).tobytes() == labelled.crop(below).tobytes()


def test_legend_lists_every_type_with_its_count() -> None:
    rect = Rectangle.from_bounds(50, 95, 150, 125)
    marks = [
        Mark("substitution", (rect,)),
        Mark("substitution", (rect,)),
        Mark("insertion", (rect,)),
        Mark("omission", ()),  # counted, nothing to draw
    ]
    assert legend_entries(marks) == [
        ("substitution", MISCUE_COLOURS["substitution"], 2),
        ("omission", MISCUE_COLOURS["omission"], 1),
        ("insertion", MISCUE_COLOURS["insertion"], 1),
    ]
    im = decode(annotate_page(page(), marks))
    # One swatch per type in the strip below the page.
    assert set(MISCUE_COLOURS.values()) <= strip_colours(im)
    # The counts are written: a different count changes the legend's pixels.
    fewer = decode(annotate_page(page(), marks[1:]))
    assert (
        im.crop((0, HEIGHT, WIDTH, im.height)).tobytes()
        != fewer.crop((0, HEIGHT, WIDTH, fewer.height)).tobytes()
    )


def test_legend_wraps_on_a_narrow_image_and_keeps_all_swatches() -> None:
    narrow = Image.new("RGB", (120, 80), (255, 255, 255))
    im = decode(annotate_page(narrow, []))
    assert im.width == 120
    strip = im.crop((0, 80, 120, im.height))
    found = {c for _, c in strip.getcolors(maxcolors=1 << 16)}
    assert set(MISCUE_COLOURS.values()) <= found


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="repetition"):
        annotate_page(page(), [Mark("repetition", (Rectangle.from_bounds(0, 0, 10, 10),))])


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "1"])
def test_any_input_mode_works(mode: str) -> None:
    rect = Rectangle.from_bounds(50, 95, 150, 125)
    im = decode(annotate_page(page(mode), [Mark("insertion", (rect,))]))
    assert im.mode == "RGB"
    assert im.getpixel((100, 95)) == MISCUE_COLOURS["insertion"]


def test_transparent_areas_become_white() -> None:
    transparent = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    im = decode(annotate_page(transparent, []))
    assert im.getpixel((10, 10)) == (255, 255, 255)
    palette = transparent.convert("P")  # palette image with a transparent index
    assert palette.has_transparency_data
    assert decode(annotate_page(palette, [])).getpixel((10, 10)) == (255, 255, 255)


def test_bytes_and_path_inputs(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    page().save(buffer, format="PNG")
    path = tmp_path / "page.png"
    path.write_bytes(buffer.getvalue())
    rect = Rectangle.from_bounds(50, 95, 150, 125)
    from_bytes = annotate_page(buffer.getvalue(), [Mark("omission", (rect,))])
    from_path = annotate_page(path, [Mark("omission", (rect,))])
    assert decode(from_bytes).tobytes() == decode(from_path).tobytes()


def test_exif_orientation_is_applied() -> None:
    # A 40 x 20 JPEG whose EXIF says "rotate 90": upright it is 20 x 40.
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (255, 255, 255)).save(buffer, format="JPEG", exif=exif)
    im = decode(annotate_page(buffer.getvalue(), []))
    assert im.width == 20
