"""Per-request decoding options (hot words, prompt, temperature) through PluginRunner:
passed to a plugin whose ``process_audio`` takes them, reported as ignored otherwise,
and never batched (a batch method takes none)."""

from __future__ import annotations

from pathlib import Path

from core.plugins import AudioChunk, AudioProcessingResult
from core.plugins.host import PluginRunner
from tests.conftest import TEST_PLUGIN_DIR


class Recorder:
    """A plugin taking hot words and a prompt (not temperature); records its calls."""

    name = "recorder"
    languages = ["en"]
    description = "test"

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def process_audio(self, filename: str, hot_words=None, prompt=None) -> AudioProcessingResult:
        self.calls.append({"hot_words": hot_words, "prompt": prompt})
        return AudioProcessingResult(
            text="hello", segments=[AudioChunk(start=0.0, end=1.0, text="hello")]
        )


def test_a_plugin_without_support_ignores_the_options_and_says_so(sample_audio: Path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0.0}, [TEST_PLUGIN_DIR])
    assert runner.accepted_options == set()
    result = runner.run_file(str(sample_audio), options={"hot_words": {"Przybylski": 5.0},
                                                         "temperature": None})
    assert result.ignored_options == ["hot_words"]  # None means "not given"
    plain = runner.run_file(str(sample_audio))
    assert plain.ignored_options is None


def test_options_reach_a_plugin_that_takes_them_and_the_rest_are_listed(
    sample_audio: Path, monkeypatch
):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0.0}, [TEST_PLUGIN_DIR])
    recorder = Recorder()
    monkeypatch.setattr(runner, "_impl", recorder)
    monkeypatch.setattr(runner, "accepted_options", {"hot_words", "prompt"})
    options = {"hot_words": {"Przybylski": 5.0}, "prompt": "A name", "temperature": 0.4}
    result = runner.run_file(str(sample_audio), options=options)
    assert recorder.calls == [{"hot_words": {"Przybylski": 5.0}, "prompt": "A name"}]
    assert result.ignored_options == ["temperature"]


def test_requests_with_options_are_not_batched(sample_audio: Path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0.0}, [TEST_PLUGIN_DIR])
    paths = [str(sample_audio)] * 3
    batched = runner.run_files(paths)
    assert [r.text.split()[1] for r in batched] == ["3", "3", "3"]  # one batch of 3
    mixed = runner.run_files(paths, options=[None, {"hot_words": {"a": 1.0}}, None])
    assert [r.text.split()[1] for r in mixed] == ["1", "1", "1"]  # each alone
    assert mixed[1].ignored_options == ["hot_words"]
