"""core.plugins.host: running a plugin on several files, and model calls under a timeout."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.plugins.host import ModelCallTimeout, PluginRunner, TimedCalls
from tests.conftest import TEST_PLUGIN_DIR as TESTS_PLUGIN_DIR

TEST_PLUGINS = str(TESTS_PLUGIN_DIR)


# --- PluginRunner.run_files ------------------------------------------------------------


def test_run_files_uses_the_batch_method_in_one_call(tmp_path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0}, [TEST_PLUGINS])
    assert runner.has_batch_method
    paths = [str(tmp_path / f"{i}.wav") for i in range(3)]
    results = runner.run_files(paths)
    assert [r.text.split()[:2] for r in results] == [["v1", "3"]] * 3


def test_run_files_batches_requests_in_the_models_only_language_but_not_others(tmp_path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0}, [TEST_PLUGINS])
    assert runner.info.languages == ["en"]
    paths = [str(tmp_path / f"{i}.wav") for i in range(3)]
    batched = runner.run_files(paths, languages=["en", None, "en"])
    assert [r.text.split()[:2] for r in batched] == [["v1", "3"]] * 3
    alone = runner.run_files(paths, languages=["en", "ru", None])
    assert [r.text.split()[1] for r in alone] == ["1"] * 3


def test_run_files_isolates_a_failing_file(tmp_path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0, "fail_on": "bad"}, [TEST_PLUGINS])
    paths = [str(tmp_path / "a.wav"), str(tmp_path / "bad.wav"), str(tmp_path / "c.wav")]
    results = runner.run_files(paths)
    assert isinstance(results[1], ValueError)
    # The batch call failed, so the good files were run one by one.
    assert [results[0].text.split()[1], results[2].text.split()[1]] == ["1", "1"]


def test_run_files_loops_over_a_plugin_without_batch_method(tmp_path):
    runner = PluginRunner("broken_asr", None, [TEST_PLUGINS])
    assert not runner.has_batch_method
    results = runner.run_files([str(tmp_path / "a.wav"), str(tmp_path / "b.wav")])
    assert len(results) == 2 and all(isinstance(r, ValueError) for r in results)


def test_run_files_checks_reference_texts_length(tmp_path):
    runner = PluginRunner("sleepy_asr", {"delay_s": 0}, [TEST_PLUGINS])
    with pytest.raises(ValueError, match="one entry per path"):
        runner.run_files(["a", "b"], ["only one"])


def test_timed_calls_abandon_a_hung_call_and_keep_serving():
    release = threading.Event()

    async def scenario():
        calls = TimedCalls(timeout_s=0.2)
        with pytest.raises(ModelCallTimeout, match="within 0.2 s"):
            await calls.run(release.wait, 30)
        assert calls.stuck == 1
        # The next call runs although the first thread is still blocked.
        assert await calls.run(lambda x: x * 2, 21) == 42
        with pytest.raises(ValueError, match="boom"):
            await calls.run(_raise, "boom")
        release.set()
        deadline = asyncio.get_running_loop().time() + 5
        while calls.stuck and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        assert calls.stuck == 0

    asyncio.run(scenario())


def _raise(message: str) -> None:
    raise ValueError(message)
