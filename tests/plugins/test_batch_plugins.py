"""Batched inference of the bundled plugins against their one-file methods.

Real models, no mocks: each batch result is compared with what ``process_audio`` /
``process_image`` return for the same file, on the samples in tests/data. Spies around
the model calls check that files really share the CTranslate2 / CRAFT calls.
"""

from __future__ import annotations

import inspect
import json
import string
import wave
from itertools import pairwise
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from core.plugins import (
    AudioProcessingResult,
    ImageProcessingResult,
    get_plugin,
    instantiate_plugin,
)
from tests.conftest import DATA as TESTS_DATA

DATA = TESTS_DATA
SHORT = str(DATA / "every_path.mp3")  # 1.8 s
MISCUE = str(DATA / "miscue.mp3")  # 6.2 s, described by miscue.json
MISCUE_INFO = json.loads((DATA / "miscue.json").read_text())
MAX_WER = 0.1  # word error rate of a batched transcript against the one-file one
MAX_SHIFT_S = 0.3  # seconds a word's start or end may move
MAX_SHIFT_PX = 3  # pixels a box corner may move


@pytest.fixture(scope="module")
def whisper():
    return instantiate_plugin(get_plugin("whisper"), {})


@pytest.fixture(scope="module")
def easyocr_plugin():
    return instantiate_plugin(get_plugin("en_easyocr"), {})


def normalised_words(result: AudioProcessingResult) -> list[str]:
    words = (w.word.lower().strip(string.punctuation) for s in result.segments for w in s.words)
    return [word for word in words if word]


def assert_close(batched: AudioProcessingResult, sequential: AudioProcessingResult) -> None:
    """Same transcript up to MAX_WER, matching words at most MAX_SHIFT_S apart."""
    assert batched.text == " ".join(segment.text for segment in batched.segments)
    expected, found = normalised_words(sequential), normalised_words(batched)
    assert expected, "the one-file transcript is empty: nothing to compare"
    assert Levenshtein.distance(expected, found) / len(expected) <= MAX_WER, (expected, found)
    expected_words = [
        w for s in sequential.segments for w in s.words if w.word.strip(string.punctuation)
    ]
    found_words = [w for s in batched.segments for w in s.words if w.word.strip(string.punctuation)]
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(expected, found):
        if tag != "equal":
            continue
        for one, other in zip(expected_words[i1:i2], found_words[j1:j2], strict=True):
            assert abs(one.start - other.start) <= MAX_SHIFT_S, (one, other)
            assert abs(one.end - other.end) <= MAX_SHIFT_S, (one, other)
            assert type(other.start) is float and type(other.probability) is float


class GenerateRecorder:
    """Stands in for the CTranslate2 model; records the batch size of each generate call."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.batch_sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def generate(self, features: Any, prompts: list[list[int]], **options: Any) -> Any:
        self.batch_sizes.append(len(prompts))
        return self._inner.generate(features, prompts, **options)


def test_bundled_plugins_offer_batching_to_the_host() -> None:
    # core.plugins.host.PluginRunner looks for these names.
    whisper_cls, easyocr_cls = get_plugin("whisper"), get_plugin("en_easyocr")
    assert whisper_cls.supports_gpu is True and easyocr_cls.supports_gpu is True
    assert callable(easyocr_cls.process_image_batch)
    assert "reference_texts" in inspect.signature(whisper_cls.process_audio_batch).parameters


# --- whisper -----------------------------------------------------------------------


def test_whisper_empty_batch(whisper) -> None:
    assert whisper.process_audio_batch([]) == []
    assert whisper.process_audio_batch([], reference_texts=[]) == []


def test_whisper_batch_keeps_order_and_shares_the_model_calls(
    whisper, monkeypatch: pytest.MonkeyPatch
) -> None:
    sequential = {name: whisper.process_audio(name) for name in (SHORT, MISCUE)}
    assert normalised_words(sequential[SHORT]) != normalised_words(sequential[MISCUE])

    recorder = GenerateRecorder(whisper.model.model)
    monkeypatch.setattr(whisper.model, "model", recorder)
    results = whisper.process_audio_batch([SHORT, MISCUE, SHORT])

    assert len(results) == 3
    assert all(isinstance(result, AudioProcessingResult) for result in results)
    assert results[0] == results[2]
    for name, result in zip([SHORT, MISCUE, SHORT], results, strict=True):
        assert_close(result, sequential[name])
    # Without prompts, the first window of all three files is decoded in one call.
    assert recorder.batch_sizes[0] == 3


def test_whisper_batch_prompts_each_file_with_its_own_reference(whisper) -> None:
    # Whisper copies the style of its prompt, so each reference shows in the text.
    reference = MISCUE_INFO["reference"]
    references = [reference.upper(), None, reference.lower().rstrip("."), reference.upper()]
    sequential = [whisper.process_audio(MISCUE, text) for text in references[:3]]
    assert len({result.text for result in sequential}) == 3, "the prompts must matter"

    results = whisper.process_audio_batch([MISCUE] * 4, reference_texts=references)

    for result, expected in zip(results, [*sequential, sequential[0]], strict=True):
        assert result.text == expected.text
        assert_close(result, expected)


def test_whisper_batch_rejects_a_wrong_number_of_references(whisper) -> None:
    with pytest.raises(ValueError, match="reference_texts"):
        whisper.process_audio_batch([SHORT, MISCUE], reference_texts=["Every path"])


def test_whisper_batch_raises_on_a_file_it_cannot_decode(whisper, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio " * 100)
    with pytest.raises(av.error.FFmpegError):
        whisper.process_audio_batch([SHORT, str(broken)])
    with pytest.raises(av.error.FFmpegError):
        whisper.process_audio_batch([str(tmp_path / "missing.mp3")])


def test_whisper_batch_cuts_a_long_recording_at_a_pause(whisper, tmp_path: Path) -> None:
    from faster_whisper.audio import decode_audio

    # Six readings of the miscue sentence back to back: 37 s, speech with pauses.
    rate = whisper.model.feature_extractor.sampling_rate
    sentence = decode_audio(MISCUE, sampling_rate=rate)
    audio = np.tile(sentence, 6)
    long_file = tmp_path / "long.wav"
    with wave.open(str(long_file), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())

    frames = whisper.model.feature_extractor(audio).shape[-1] - 1
    bounds = whisper._clip_bounds(audio, frames)
    assert bounds[0][0] == 0 and bounds[-1][1] == frames
    assert all(end == start for (_, end), (start, _) in pairwise(bounds))
    seconds_per_frame = whisper.model.feature_extractor.time_per_frame
    assert all(0 < (end - start) * seconds_per_frame <= 30 for start, end in bounds)
    # Each cut falls in a pause: the 20 ms around it are much quieter than the reading.
    frame_rms = np.sqrt(np.mean(audio[: len(audio) // 320 * 320].reshape(-1, 320) ** 2, axis=1))
    hop = whisper.model.feature_extractor.hop_length
    for _, end in bounds[:-1]:
        around = audio[end * hop - 160 : end * hop + 160]
        assert np.sqrt(np.mean(around**2)) < 0.5 * np.median(frame_rms)

    sequential = whisper.process_audio(str(long_file))
    result, short = whisper.process_audio_batch([str(long_file), SHORT])
    assert_close(result, sequential)
    assert_close(short, whisper.process_audio(SHORT))
    assert max(w.end for s in result.segments for w in s.words) <= len(audio) / rate + 0.1


# --- EasyOCR -----------------------------------------------------------------------


def assert_same_boxes(batched: ImageProcessingResult, single: ImageProcessingResult) -> None:
    assert batched.text == single.text
    assert [box.text for box in batched.boxes] == [box.text for box in single.boxes]
    for one, other in zip(single.boxes, batched.boxes, strict=True):
        for corner in ("left_top", "right_top", "right_bottom", "left_bottom"):
            a, b = getattr(one.coordinates, corner), getattr(other.coordinates, corner)
            assert abs(a.x - b.x) <= MAX_SHIFT_PX and abs(a.y - b.y) <= MAX_SHIFT_PX, corner


def test_easyocr_empty_batch(easyocr_plugin) -> None:
    assert easyocr_plugin.process_image_batch([]) == []


def test_easyocr_batch_of_different_sizes_matches_process_image(
    easyocr_plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo, page = str(DATA / "every_path.jpg"), str(DATA / "miscue.png")  # 362x139, 1200x240
    single = {name: easyocr_plugin.process_image(name) for name in (photo, page)}
    assert single[photo].text != single[page].text

    detector_batches: list[int] = []
    detect = easyocr_plugin.reader.detect

    def spy(images: np.ndarray, **options: Any) -> Any:
        detector_batches.append(len(images))
        return detect(images, **options)

    monkeypatch.setattr(easyocr_plugin.reader, "detect", spy)
    results = easyocr_plugin.process_image_batch([photo, page, photo])

    assert len(results) == 3
    for name, result in zip([photo, page, photo], results, strict=True):
        assert isinstance(result, ImageProcessingResult)
        assert_same_boxes(result, single[name])
    # The two copies of the photo share one detector call; the page has its own size.
    assert sorted(detector_batches) == [1, 2]
