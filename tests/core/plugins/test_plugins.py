"""Bundled model plugins on the real models and samples, and the original plugin format.

No mocks: each bundled plugin is loaded once per module through the registry and run
on tests/data/every_path.{mp3,jpg} ("Every path is the right path.").
"""

from __future__ import annotations

import json
import string
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from core.plugins import (
    AudioProcessingResult,
    ImageProcessingResult,
    get_plugin,
    instantiate_plugin,
    plugin_info,
)
from core.plugins import registry as registry
from tests.conftest import REPO as TESTS_REPO

REPO = TESTS_REPO
AUDIO = REPO / "tests" / "data" / "every_path.mp3"
IMAGE = REPO / "tests" / "data" / "every_path.jpg"
EXPECTED_WORDS = ["every", "path", "is", "the", "right", "path"]
AUDIO_SECONDS = 1.9  # the sample is 1.8 s long; a little slack for the decoder's padding


def normalise(text: str) -> list[str]:
    """Lowercase words with surrounding punctuation removed."""
    words = (word.lower().strip(string.punctuation) for word in text.split())
    return [word for word in words if word]


@pytest.fixture(scope="module")
def whisper():
    return instantiate_plugin(get_plugin("whisper"), {})


@pytest.fixture(scope="module")
def easyocr_plugin():
    return instantiate_plugin(get_plugin("en_easyocr"), {})


@pytest.fixture(scope="module")
def tesseract():
    return instantiate_plugin(get_plugin("eng_tesseract"), {})


@pytest.fixture(scope="module")
def image_size() -> tuple[int, int]:
    with Image.open(IMAGE) as image:
        return image.size


# --- metadata ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("whisper", "audio"), ("en_easyocr", "image"), ("eng_tesseract", "image")],
)
def test_bundled_plugin_metadata(name: str, kind: str) -> None:
    info = plugin_info(get_plugin(name))
    assert info.name == name
    assert info.languages == ["en"]
    assert info.kind == kind
    assert info.description


def test_importing_plugin_files_loads_no_model_library() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        import plugins.whisper_plugin, plugins.en_easyocr_plugin, plugins.eng_tesseract_plugin
        from core.plugins import list_registered
        heavy = ["faster_whisper", "ctranslate2", "easyocr", "torch", "pytesseract", "cv2"]
        print(json.dumps({
            "loaded": [m for m in heavy if m in sys.modules],
            "registered": sorted((i.name, i.kind) for i in list_registered()),
        }))
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert [list(pair) for pair in report["registered"]] == [
        ["en_easyocr", "image"],
        ["eng_tesseract", "image"],
        ["whisper", "audio"],
    ]


# --- whisper -----------------------------------------------------------------------


def test_whisper_transcribes_the_sample_with_word_timings(whisper) -> None:
    result = whisper.process_audio(str(AUDIO))
    assert isinstance(result, AudioProcessingResult)
    assert normalise(result.text) == EXPECTED_WORDS
    assert result.text == " ".join(segment.text for segment in result.segments)

    words = [word for segment in result.segments for word in segment.words or []]
    assert [w for word in words for w in normalise(word.word)] == EXPECTED_WORDS
    for word in words:
        assert word.word == word.word.strip()
        assert 0 <= word.start < word.end <= AUDIO_SECONDS
        assert word.probability is not None and 0 <= word.probability <= 1
        # Plain floats, not numpy scalars (those would leak into JSON encoding).
        assert type(word.start) is float and type(word.end) is float
        assert type(word.probability) is float
    starts = [word.start for word in words]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)

    for segment in result.segments:
        assert type(segment.start) is float and type(segment.end) is float
        assert segment.text == segment.text.strip()
        for word in segment.words or []:
            assert segment.start - 0.01 <= word.start and word.end <= segment.end + 0.01


def test_whisper_is_deterministic_across_calls(whisper) -> None:
    first = whisper.process_audio(str(AUDIO))
    second = whisper.process_audio(str(AUDIO))
    assert first == second


# --- image plugins -----------------------------------------------------------------


def check_image_result(result: ImageProcessingResult, size: tuple[int, int], slack: int) -> None:
    width, height = size
    assert isinstance(result, ImageProcessingResult)
    assert normalise(result.text) == EXPECTED_WORDS
    assert [w for box in result.boxes for w in normalise(box.text)] == EXPECTED_WORDS
    assert result.text == " ".join(box.text for box in result.boxes)
    for box in result.boxes:
        left, top, right, bottom = box.coordinates.bounds()
        assert -slack <= left < right <= width + slack, box
        assert -slack <= top < bottom <= height + slack, box
        assert box.confidence is not None and 0 <= box.confidence <= 1, box


def test_easyocr_reads_the_sample_in_reading_order(easyocr_plugin, image_size) -> None:
    # EasyOCR's rotated "path" box pokes 2 px above the image (y = -2.3).
    check_image_result(easyocr_plugin.process_image(str(IMAGE)), image_size, slack=5)


def test_easyocr_without_weights_fails_instead_of_downloading(tmp_path: Path) -> None:
    cls = get_plugin("en_easyocr")
    with pytest.raises(FileNotFoundError, match="downloads disabled"):
        instantiate_plugin(cls, {"model_dir": str(tmp_path), "gpu": False})


def test_tesseract_reads_the_sample_word_by_word(tesseract, image_size) -> None:
    result = tesseract.process_image(str(IMAGE))
    check_image_result(result, image_size, slack=0)
    assert len(result.boxes) == len(EXPECTED_WORDS)  # one box per word


def test_tesseract_min_confidence_drops_words() -> None:
    strict = instantiate_plugin(get_plugin("eng_tesseract"), {"min_confidence": 101})
    result = strict.process_image(str(IMAGE))
    assert result.boxes == [] and result.text == ""


def test_tesseract_missing_language_data_is_a_clear_error() -> None:
    cls = get_plugin("eng_tesseract")
    with pytest.raises(RuntimeError, match="language data"):
        instantiate_plugin(cls, {"lang": "eng+xyz"})


def test_tesseract_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    cls = get_plugin("eng_tesseract")
    with pytest.raises(RuntimeError, match="not found"):
        instantiate_plugin(cls, {"tesseract_cmd": str(tmp_path / "tesseract")})
    # The failed attempt did not break the working default.
    assert instantiate_plugin(cls, {}).process_image(str(IMAGE)).boxes


# --- the original plugin format ------------------------------------------------------

LEGACY_PLUGIN = """\
from core.plugins import AudioChunk, AudioProcessingResult, register_plugin
from tests.conftest import REPO as TESTS_REPO


@register_plugin
class LegacyPlugin:
    name = "legacy"
    languages = ["en"]
    description = "A plugin written for the original project"

    @staticmethod
    def process_audio(filename):
        return AudioProcessingResult(
            text="hello world",
            segments=[AudioChunk(start=0.0, end=1.5, text="hello world")],
        )
"""


def test_plugin_in_the_original_format_loads_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Work on a copy of the registry so the test leaves no "legacy" plugin behind.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry._REGISTRY.pop("legacy", None)
    (tmp_path / "legacy_plugin.py").write_text(LEGACY_PLUGIN)

    cls = get_plugin("legacy", [tmp_path])
    info = plugin_info(cls)
    assert (info.name, info.languages, info.kind) == ("legacy", ["en"], "audio")

    plugin = instantiate_plugin(cls, None)
    result = plugin.process_audio("anything.mp3")
    assert result.text == "hello world"
    assert result.segments[0].start == 0.0 and result.segments[0].end == 1.5
    assert result.segments[0].words is None

    with pytest.raises(TypeError):
        instantiate_plugin(cls, {"device": "cpu"})
