"""The Whisper plugin's hallucination filters on decoded segments (no model needed)."""

from __future__ import annotations

from types import SimpleNamespace

from plugins.whisper_plugin import WhisperPlugin


def plugin() -> WhisperPlugin:
    whisper = object.__new__(WhisperPlugin)  # the filters need no loaded model
    whisper.min_segment_probability = 0.2
    whisper.max_compression_ratio = 2.4
    return whisper


def segment(text: str, ratio: float, probability: float = 0.9) -> SimpleNamespace:
    words = [SimpleNamespace(word=" " + w, start=0.0, end=0.1, probability=probability)
             for w in text.split()]
    return SimpleNamespace(start=0.0, end=1.0, text=" " + text, words=words,
                           compression_ratio=ratio)


def test_a_looping_segment_is_dropped_and_real_ones_are_kept():
    result = plugin()._result([
        segment("The little brown dog ran.", 1.2),
        segment("under the big tree " * 12, 3.1),  # compresses like a loop does
        segment("Then it slept.", 1.1),
    ])
    assert result.text == "The little brown dog ran. Then it slept."
    assert len(result.segments) == 2


def test_an_improbable_segment_is_dropped():
    result = plugin()._result([segment("Thank you.", 1.0, probability=0.05)])
    assert result.segments == [] and result.text == ""
