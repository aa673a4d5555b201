"""The main job on real input: the sample photo and recording, real models."""

from __future__ import annotations

import pytest

from core.text import normalize_words
from tests.integration.conftest import wait_for_task

pytestmark = pytest.mark.serve

SAMPLE_WORDS = ["every", "path", "is", "the", "right", "path"]


@pytest.mark.parametrize("image_model", ["en_easyocr", "eng_tesseract"])
def test_audio_image_comparison_of_correct_reading_has_no_errors(
    http, account, uploaded, image_model
):
    response = http.post(
        "/v1/comparison/audio/image/task",
        json={
            "audio_file": uploaded["audio"],
            "image_file": uploaded["image"],
            "audio_model": "whisper",
            "image_model": image_model,
        },
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    status = wait_for_task(http, account, task_id)
    assert status["status"] == "completed", status

    result = http.get(
        "/v1/comparison/audio/image/result", params={"task_id": task_id}, headers=account.headers
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["errors"] == []
    assert normalize_words(body["image"]["text"]) == SAMPLE_WORDS
    assert normalize_words(body["audio"]["text"]) == SAMPLE_WORDS
    # Boxes come back in reading order: their texts joined give the page's text.
    assert normalize_words(" ".join(b["text"] for b in body["image"]["boxes"])) == SAMPLE_WORDS


def test_audio_text_comparison_finds_the_one_misread_word(http, account, uploaded):
    response = http.post(
        "/v1/comparison/audio/text/task",
        json={
            "audio_file": uploaded["audio"],
            "audio_model": "whisper",
            "text": ["Every path is the wrong path."],
        },
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert wait_for_task(http, account, task_id)["status"] == "completed"

    body = http.get(
        "/v1/comparison/audio/text/result", params={"task_id": task_id}, headers=account.headers
    ).json()
    assert len(body["errors"]) == 1, body["errors"]
    error = body["errors"][0]
    assert (error["found"], error["expected"]) == ("right", "wrong")
    # at_char: offset of the error in the audio segment's text (original match_phrases).
    segment = error["audio_segment"]
    assert segment["text"][error["at_char"] :].startswith("right")
    assert 0 <= segment["start"] < segment["end"] <= 2.0
    download = http.get(
        "/v1/audio/download", params={"file": segment["file"]}, headers=account.headers
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    assert len(download.content) > 1000
