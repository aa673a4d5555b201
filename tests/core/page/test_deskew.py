"""Page skew from the pixels before OCR (core.page.deskew), and its use by PluginRunner.

Pages are rendered with Pillow in DejaVu fonts and turned by known angles: Pillow's
``rotate(angle)`` turns counter-clockwise, so a page turned by ``angle`` has a skew
of ``angle`` in the convention of :mod:`core.page.skew`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from core.page import deskew
from core.page.deskew import (
    IDENTITY,
    deskew_image,
    map_point,
    map_result,
    measure_skew,
    rotate,
    upright_pages,
)
from core.page.words import read_page
from core.plugins import ImageProcessingResult, ImageTextBox, Rectangle, registry
from core.plugins.host import PluginRunner

TEXT = (
    "The old lighthouse keeper climbed the winding stairs every evening before sunset. "
    "He polished the great lens, trimmed the wick and wrote the weather in his book. "
    "Ships passing the rocky point at night could see the beam sweeping across the "
    "water, and sailors far from home felt a little less alone in the dark."
)
FONT_SIZE = 28
WHITE = (255, 255, 255)
RED = (255, 0, 0)

Box = tuple[float, float, float, float]


def render(font: str = "DejaVuSerif.ttf", width: int = 1200, margin: int = 80):
    """TEXT drawn black on white, word-wrapped; returns the page and each word's box."""
    face = ImageFont.truetype(font, FONT_SIZE)
    space, line_height = face.getlength(" "), round(FONT_SIZE * 1.5)
    placed: list[tuple[str, float, int]] = []
    x, line = float(margin), 0
    for word in TEXT.split():
        if x > margin and x + face.getlength(word) > width - margin:
            x, line = float(margin), line + 1
        placed.append((word, x, line))
        x += face.getlength(word) + space
    image = Image.new("RGB", (width, 2 * margin + (line + 1) * line_height), WHITE)
    draw = ImageDraw.Draw(image)
    words: list[tuple[str, Box]] = []
    for word, left, line in placed:
        xy = (round(left), margin + line * line_height)
        draw.text(xy, word, font=face, fill=(0, 0, 0))
        words.append((word, tuple(draw.textbbox(xy, word, font=face))))
    return image, words


def turned(image: Image.Image, angle: float) -> Image.Image:
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=WHITE)


def red_centre(image: Image.Image) -> tuple[float, float]:
    """Centroid of the red marker's pixels (pixel centres at +0.5)."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    ys, xs = np.nonzero((rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90))
    assert len(xs), "no marker"
    return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def with_marker(image: Image.Image, centre: tuple[int, int], half: int = 6) -> Image.Image:
    marked = image.convert("RGB")
    x, y = centre
    ImageDraw.Draw(marked).rectangle((x - half, y - half, x + half - 1, y + half - 1), fill=RED)
    return marked


@pytest.fixture(scope="module")
def serif_page():
    return render("DejaVuSerif.ttf")


# --- measuring --------------------------------------------------------------------------


@pytest.mark.parametrize("font", ["DejaVuSerif.ttf", "DejaVuSans.ttf"])
@pytest.mark.parametrize("angle", [-4.0, -2.0, 2.0, 3.5, 6.0])
def test_measured_skew_is_within_half_a_degree(font: str, angle: float) -> None:
    page, _ = render(font)
    assert measure_skew(turned(page, angle)) == pytest.approx(angle, abs=0.5)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "1"])
def test_measured_in_any_mode(serif_page, mode: str) -> None:
    page = turned(serif_page[0], 3.5).convert(mode)
    assert measure_skew(page) == pytest.approx(3.5, abs=0.5)


def test_transparent_background_counts_as_white(serif_page) -> None:
    # Black text on fully transparent black: read as grey it would be all black.
    grey = np.asarray(turned(serif_page[0], -2.0).convert("L"))
    rgba = np.zeros((*grey.shape, 4), dtype=np.uint8)
    rgba[..., 3] = 255 - grey  # ink opaque, paper transparent
    assert measure_skew(Image.fromarray(rgba, "RGBA")) == pytest.approx(-2.0, abs=0.5)


def test_blank_image_has_no_skew() -> None:
    assert measure_skew(Image.new("L", (300, 200), 255)) is None
    with pytest.raises(ValueError):
        measure_skew(Image.new("L", (300, 200), 255), max_side=0)


# --- deciding and turning ---------------------------------------------------------------


def test_flat_page_is_left_untouched(serif_page) -> None:
    page = serif_page[0]
    result = deskew_image(page)
    assert result.image is page
    assert not result.rotated and result.to_original == IDENTITY
    assert result.skew_deg == pytest.approx(0.0, abs=0.1)


@pytest.mark.parametrize("angle", [0.1, 20.0])
def test_skews_outside_the_limits_are_left_untouched(serif_page, angle: float) -> None:
    page = turned(serif_page[0], angle)
    result = deskew_image(page)
    assert result.image is page and not result.rotated
    assert abs(result.skew_deg) < deskew.MIN_ROTATION_DEG or result.skew_deg == pytest.approx(
        angle, abs=0.5
    )


def test_deskewed_page_is_level(serif_page) -> None:
    result = deskew_image(turned(serif_page[0], 3.5))
    assert result.rotated and result.rotation_deg == pytest.approx(-3.5, abs=0.5)
    assert abs(measure_skew(result.image)) <= 0.2


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
@pytest.mark.parametrize("angle", [3.5, -4.0, 90.0])
def test_rotate_gives_pillows_pixels(serif_page, mode: str, angle: float) -> None:
    page = serif_page[0].convert(mode)
    fill = (255,) * len(mode) if len(mode) > 1 else 255
    mine, _ = rotate(page, angle, fill=fill)
    theirs = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    assert mine.mode == mode and mine.size == theirs.size
    assert np.array_equal(np.asarray(mine), np.asarray(theirs))


def test_palette_image_is_turned_as_rgb() -> None:
    turned_p, _ = rotate(Image.new("P", (50, 40)), 3.0)
    assert turned_p.mode == "RGB"


def test_corners_take_the_border_colour(serif_page) -> None:
    desk = Image.new("RGB", (serif_page[0].width + 100, serif_page[0].height + 100), (90, 80, 70))
    desk.paste(serif_page[0], (50, 50))
    upright, _ = rotate(desk, 5.0)
    assert upright.getpixel((0, 0)) == (90, 80, 70)


# --- mapping back -----------------------------------------------------------------------


@pytest.mark.parametrize("angle", [-4.0, 3.5, 6.0, 12.0])
@pytest.mark.parametrize("where", [(150, 100), (900, 300), (600, 40)])
def test_point_turned_and_mapped_back_lands_within_a_pixel(
    serif_page, angle: float, where: tuple[int, int]
) -> None:
    photo = with_marker(turned(serif_page[0], angle), where)
    result = deskew_image(photo)
    assert result.rotated
    x, y = map_point(result.to_original, *red_centre(result.image))
    assert abs(x - where[0]) <= 1 and abs(y - where[1]) <= 1


def test_map_result_moves_corners_and_keeps_the_rest() -> None:
    box = ImageTextBox(
        text="lens,", coordinates=Rectangle.from_bounds(10, 20, 110, 50), confidence=0.9
    )
    result = ImageProcessingResult(text="lens,", boxes=[box])
    assert map_result(result, IDENTITY) is result
    moved = map_result(result, (1.0, 0.0, 5.0, 0.0, 1.0, -3.0))
    assert moved.boxes[0].coordinates.bounds() == (15, 17, 115, 47)
    assert (moved.text, moved.boxes[0].text, moved.boxes[0].confidence) == ("lens,", "lens,", 0.9)


# --- files ------------------------------------------------------------------------------


def test_upright_pages_writes_copies_only_when_turned(serif_page, tmp_path: Path) -> None:
    flat, skewed, broken = tmp_path / "flat.png", tmp_path / "skewed.png", tmp_path / "x.png"
    serif_page[0].save(flat)
    turned(serif_page[0], 3.5).save(skewed)
    broken.write_text("not an image")
    with upright_pages([str(flat), str(skewed), str(broken)]) as pages:
        assert [page.path for page in (pages[0], pages[2])] == [str(flat), str(broken)]
        assert pages[1].path != str(skewed) and os.path.isfile(pages[1].path)
        assert pages[1].skew_deg == pytest.approx(3.5, abs=0.5)
        assert pages[2].skew_deg is None and pages[2].to_original == IDENTITY
        copy = pages[1].path
    assert not os.path.exists(copy)
    with upright_pages(["/no/such/file.png"], enabled=False) as (page,):
        assert page.path == "/no/such/file.png" and page.to_original == IDENTITY


# --- PluginRunner -----------------------------------------------------------------------


class MarkerPlugin:
    """Test plugin: one box around the red marker of the image it reads."""

    name = "deskew_marker_test"
    languages = ["en"]
    description = "Test plugin: finds the red marker"
    seen: list[tuple[str, tuple[int, int]]] = []
    batches: list[int] = []

    def __init__(self) -> None:  # a bundled-style plugin: the host makes an instance
        pass

    def process_image(self, filename: str) -> ImageProcessingResult:
        with Image.open(filename) as image:
            self.seen.append((filename, image.size))
            x, y = red_centre(image)
        square = Rectangle.from_bounds(x - 6, y - 6, x + 6, y + 6)
        box = ImageTextBox(text="marker", coordinates=square)
        return ImageProcessingResult(text="marker", boxes=[box])

    def process_image_batch(self, filenames: list[str]) -> list[ImageProcessingResult]:
        self.batches.append(len(filenames))
        return [self.process_image(name) for name in filenames]


@pytest.fixture
def marker_plugin(monkeypatch: pytest.MonkeyPatch):
    # A copy of the registry, so the test plugin is gone after the test.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_plugin(MarkerPlugin)
    MarkerPlugin.seen.clear()
    MarkerPlugin.batches.clear()
    return MarkerPlugin


def box_centre(box: ImageTextBox) -> tuple[float, float]:
    left, top, right, bottom = box.coordinates.bounds()
    return (left + right) / 2, (top + bottom) / 2


@pytest.mark.parametrize("deskew_on", [True, False])
def test_runner_reads_an_upright_copy_and_maps_boxes_back(
    serif_page, marker_plugin, tmp_path: Path, deskew_on: bool
) -> None:
    path = tmp_path / "photo.png"
    photo = with_marker(turned(serif_page[0], 3.5), (700, 200))
    photo.save(path)
    runner = PluginRunner(marker_plugin.name, deskew=deskew_on)
    (box,) = runner.run_file(str(path)).boxes
    assert box_centre(box) == pytest.approx((700, 200), abs=1.5)
    ((seen_path, seen_size),) = marker_plugin.seen
    assert (seen_path == str(path)) is not deskew_on
    assert (seen_size == photo.size) is not deskew_on


def test_runner_batch_reads_upright_copies(serif_page, marker_plugin, tmp_path: Path) -> None:
    spots = {"a": (3.5, (700, 200)), "b": (0.0, (300, 150)), "c": (-4.0, (1000, 260))}
    paths = []
    for name, (angle, spot) in spots.items():
        paths.append(str(tmp_path / f"{name}.png"))
        with_marker(turned(serif_page[0], angle), spot).save(paths[-1])
    results = PluginRunner(marker_plugin.name).run_files(paths)
    assert marker_plugin.batches == [3]
    for result, (_, spot) in zip(results, spots.values(), strict=True):
        assert box_centre(result.boxes[0]) == pytest.approx(spot, abs=1.5)
    read = [seen for seen, _ in marker_plugin.seen]
    assert read[1] == paths[1] and read[0] != paths[0] and read[2] != paths[2]
    assert not any(os.path.exists(name) for name in (read[0], read[2]))  # copies removed


def test_audio_plugins_are_never_deskewed() -> None:
    from tests.conftest import TEST_PLUGIN_DIR

    assert not PluginRunner("sleepy_asr", {"delay_s": 0}, [TEST_PLUGIN_DIR]).deskew


def cer(hypothesis: str, reference: str) -> float:
    return Levenshtein.distance(hypothesis, reference) / len(reference)


@pytest.mark.parametrize("angle", [3.5, -3.5])
def test_tesseract_reads_a_turned_serif_page(serif_page, tmp_path: Path, angle: float) -> None:
    """Issue 13: a serif page photographed at about 3.5 degrees. Measured without
    deskewing (Tesseract 5, psm 3): CER 0.0 at 3.5 degrees but 1.0 at -3.5, where
    Tesseract found no word at all."""
    page, words = serif_page
    photo, to_flat = rotate(page, angle, fill=WHITE)
    path = tmp_path / "photo.png"
    photo.save(path)
    result = PluginRunner("eng_tesseract").run_file(str(path))
    assert cer(read_page(result)[1].text, TEXT) < 0.02

    # Where each word was drawn, on the turned photo: the inverse of photo -> page.
    a, b, c, d, e, f = to_flat
    to_photo = np.linalg.inv(np.array([[a, b, c], [d, e, f], [0, 0, 1]]))
    drawn = [
        (word, to_photo @ ((left + right) / 2, (top + bottom) / 2, 1))
        for word, (left, top, right, bottom) in words
    ]
    assert len(result.boxes) >= 0.9 * len(words)
    same = 0
    for box in result.boxes:
        x, y = box_centre(box)
        assert 0 <= x < photo.width and 0 <= y < photo.height
        # Every box lies on a drawn word, and it is the word the box says.
        word, spot = min(drawn, key=lambda item: np.hypot(item[1][0] - x, item[1][1] - y))
        assert np.hypot(spot[0] - x, spot[1] - y) < FONT_SIZE / 2, (box.text, word)
        same += box.text == word
    assert same >= 0.9 * len(result.boxes)


def test_the_host_deskews_for_tesseract_but_not_for_easyocr():
    # EasyOCR reads turned lines itself, and its line boxes mapped back would defeat
    # the box-based reading order (bench/ocr_distortions.py: CER 0.011 off, 0.088 on).
    from core.plugins import get_plugin

    assert get_plugin("en_easyocr").reads_rotated_text is True
    assert PluginRunner("eng_tesseract").deskew is True
