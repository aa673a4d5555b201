"""The optional ``language`` of comparison tasks: settled against the models' languages.

In-process app (tests/api/conftest.py): the catalogue lists whisper (en), whisper-base
(en, ar, de, ru), rus_tesseract (ru), ara_tesseract (ar) and tesseract (en, ru, ar).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.api.conftest import ApiHarness


@pytest.fixture
def user(api: ApiHarness, sample_audio: Path, sample_image: Path) -> dict:
    headers = api.account()
    ids = {}
    for kind, path in (("audio", sample_audio), ("image", sample_image)):
        response = api.client.post(
            f"/v1/{kind}/upload", files={"upload_file": (path.name, path.read_bytes())},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        ids[kind] = response.json()["file_id"]
    return {"headers": headers, **ids}


def _image_task(api: ApiHarness, user: dict, audio_model: str, image_model: str, **extra):
    body = {"audio_file": user["audio"], "image_file": user["image"],
            "audio_model": audio_model, "image_model": image_model, **extra}
    return api.client.post("/v1/comparison/audio/image/task", json=body, headers=user["headers"])


def _text_task(api: ApiHarness, user: dict, audio_model: str, **extra):
    body = {"audio_file": user["audio"], "text": ["Маша пошла в лес."],
            "audio_model": audio_model, **extra}
    return api.client.post("/v1/comparison/audio/text/task", json=body, headers=user["headers"])


def _payload(api: ApiHarness, response) -> dict:
    assert response.status_code == 200, response.text
    task_id = uuid.UUID(response.json()["task_id"])
    task = asyncio.run(_get(api, task_id))
    return task.payload


async def _get(api: ApiHarness, task_id: uuid.UUID):
    from redis.asyncio import Redis

    from core.stores.tasks import TaskStore

    redis = Redis.from_url(api.settings.redis_url, decode_responses=True)
    try:
        return await TaskStore(redis, api.settings.key_prefix).get(task_id)
    finally:
        await redis.aclose()


def test_a_model_that_cannot_read_the_language_is_422_and_queues_nothing(api, user):
    response = _text_task(api, user, "whisper", language="ru")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "Model 'whisper' cannot read language 'ru'; its languages: en"
    )
    response = _image_task(api, user, "whisper-base", "ara_tesseract", language="ru")
    assert response.status_code == 422
    assert "'ara_tesseract' cannot read language 'ru'" in response.json()["detail"]
    assert asyncio.run(_queued(api)) == 0
    assert _text_task(api, user, "whisper-base", language="ru").status_code == 200
    assert asyncio.run(_queued(api)) == 1  # the count can see a queued task


async def _queued(api: ApiHarness) -> int:
    from redis.asyncio import Redis

    from core.stores.tasks import TaskStore

    redis = Redis.from_url(api.settings.redis_url, decode_responses=True)
    try:
        return await redis.xlen(TaskStore(redis, api.settings.key_prefix).stream)
    finally:
        await redis.aclose()


@pytest.mark.parametrize("bad", ["RU", "rus", "russian", "r", "", "ru-RU"])
def test_a_language_that_is_not_iso_639_1_is_422(api, user, bad):
    response = _text_task(api, user, "whisper-base", language=bad)
    assert response.status_code == 422, response.text
    assert "language" in response.text


def test_models_that_share_no_language_are_422(api, user):
    response = _image_task(api, user, "whisper", "rus_tesseract")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "share no language" in detail and "rus_tesseract: ru" in detail


@pytest.mark.parametrize(
    ("audio_model", "image_model", "extra", "language", "candidates"),
    [
        ("whisper-base", "rus_tesseract", {}, "ru", ["ru"]),
        ("whisper-base", "ara_tesseract", {"language": "ar"}, "ar", ["ar"]),
        ("whisper", "en_easyocr", {}, "en", ["en"]),
        # The multi-language OCR model and multilingual ASR share three: detect.
        ("whisper-base", "tesseract", {}, None, ["en", "ru", "ar"]),
        ("whisper-base", "tesseract", {"language": "ru"}, "ru", ["ru"]),
    ],
)
def test_the_language_comes_from_the_request_or_the_models(
    api, user, audio_model, image_model, extra, language, candidates
):
    payload = _payload(api, _image_task(api, user, audio_model, image_model, **extra))
    assert payload["language"] == language
    assert payload["candidate_languages"] == candidates


def test_text_mode_with_multilingual_asr_detects_among_its_languages(api, user):
    payload = _payload(api, _text_task(api, user, "whisper-base"))
    assert payload["language"] is None
    assert payload["candidate_languages"] == ["en", "ar", "de", "ru"]
    payload = _payload(api, _text_task(api, user, "whisper"))
    assert payload["language"] == "en"
