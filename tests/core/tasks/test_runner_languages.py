"""The task runner's language: the settled one passed on, or the detection accepted."""

from __future__ import annotations

import asyncio

import pytest

from core.plugins.types import AudioChunk, AudioProcessingResult, Word
from core.stores.files import FileStore
from core.stores.tasks import TaskKind
from core.tasks.consumer import TaskFailed
from core.tasks.runner import TaskRunner
from tests.core.tasks.test_runner import DirectMatcher, FakeModels, add_file, make_task, stored

PAGE = "Она нашла большой белый гриб."
HEARD = ["Она", "нашла", "маленький", "белый", "гриб."]


def _asr(language: str | None, probability: float | None) -> AudioProcessingResult:
    words = [Word(word=w, start=0.3 * i, end=0.3 * i + 0.25) for i, w in enumerate(HEARD)]
    return AudioProcessingResult(
        text=" ".join(HEARD),
        segments=[AudioChunk(start=0.0, end=1.5, text=" ".join(HEARD), words=words)],
        language=language,
        language_probability=probability,
    )


def _run(connect, prefix, tmp_path, sample_audio, asr, payload_extra):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            models, matcher = FakeModels(asr=asr), DirectMatcher()
            task = make_task(
                TaskKind.AUDIO_TEXT_COMPARISON,
                {"audio_file": audio_id, "audio_model": "whisper-base", "text": [PAGE],
                 **payload_extra},
            )
            result = await stored(TaskRunner(store, models, matcher), task)
            return result, models, matcher

    return asyncio.run(scenario())


def test_the_settled_language_goes_to_the_asr_and_the_matcher(
    connect, prefix, tmp_path, sample_audio
):
    result, models, matcher = _run(
        connect, prefix, tmp_path, sample_audio, _asr("ru", 1.0),
        {"language": "ru", "candidate_languages": ["ru"]},
    )
    assert models.language == "ru" and matcher.language == "ru"
    assert result["language"] == "ru"
    [error] = result["errors"]
    assert (error["type"], error["expected"], error["found"]) == (
        "substitution", "большой", "маленький",
    )


def test_an_unambiguous_detection_among_the_candidates_is_taken(
    connect, prefix, tmp_path, sample_audio
):
    result, models, matcher = _run(
        connect, prefix, tmp_path, sample_audio, _asr("ru", 0.93),
        {"language": None, "candidate_languages": ["en", "ru", "ar"]},
    )
    assert models.language is None  # detected by the model
    assert matcher.language == "ru" and result["language"] == "ru"


@pytest.mark.parametrize(
    ("detected", "probability", "message"),
    [
        ("cs", 0.25, "unclear (most likely 'cs', probability 0.25)"),
        ("de", 0.97, "sounds like 'de', which the page's model cannot read"),
        (None, None, "was not detected"),
    ],
)
def test_an_unclear_or_unreadable_detection_fails_the_task_with_the_reason(
    connect, prefix, tmp_path, sample_audio, detected, probability, message
):
    with pytest.raises(TaskFailed, match="pass `language`") as failure:
        _run(
            connect, prefix, tmp_path, sample_audio, _asr(detected, probability),
            {"language": None, "candidate_languages": ["en", "ru", "ar"]},
        )
    assert message in str(failure.value)


def test_tasks_from_before_languages_check_in_english(connect, prefix, tmp_path, sample_audio):
    # A task queued by an older API has no language keys: English, as before.
    result, models, matcher = _run(
        connect, prefix, tmp_path, sample_audio, _asr(None, None), {}
    )
    assert models.language is None and matcher.language == "en"
    assert result["language"] == "en"
