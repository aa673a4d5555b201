"""The main job on real input: the sample photo and recording, real models."""

from __future__ import annotations

import pytest

from core.reading.text_diff import normalize_words
from tests.serve_app.integration.conftest import wait_for_task

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
    assert body["summary"]["words_correct"] == 6 and body["summary"]["accuracy"] == 100.0


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
    assert (error["type"], error["found"], error["expected"]) == ("substitution", "right", "wrong")
    assert "Every path is the wrong path."[error["ref_char"] :].startswith("wrong")
    # at_char: offset of the error in its ASR segment's text (original match_phrases).
    asr_segment = body["audio"]["segments"][error["segment"]]
    assert asr_segment["text"][error["at_char"] :].startswith("right")
    # The error's times are Whisper's timestamps of the word "right".
    [right] = [w for w in asr_segment["words"] if w["word"].strip(".").lower() == "right"]
    assert (error["start"], error["end"]) == (right["start"], right["end"])
    assert 0 < error["confidence"] <= 1
    # The audio was asked: "right" beats the page's "wrong", and the confidence is
    # the calibrated probability of that margin.
    evidence = error["evidence"]
    assert (evidence["reading"], evidence["page_reading"]) == ("right", "wrong")
    assert evidence["log_likelihood_margin"] > 0 and evidence["source"] == "transcript"
    # Its audio segment is the cut of just that word.
    segment = error["audio_segment"]
    assert (segment["start"], segment["end"], segment["text"]) == (
        right["start"],
        right["end"],
        "right",
    )
    summary = body["summary"]
    assert (summary["words_in_reference"], summary["words_correct"]) == (6, 5)
    assert summary["substitutions"] == 1 and summary["accuracy"] == pytest.approx(83.33)
    assert 0 < summary["reading_duration"] <= 2.0 and summary["wcpm"] > 0
    filtered = http.get(
        "/v1/comparison/audio/text/result",
        params={"task_id": task_id, "min_confidence": 1.0},
        headers=account.headers,
    ).json()
    assert filtered["errors"] == [] or filtered["errors"][0]["confidence"] == 1.0
    assert filtered["summary"] == summary
    download = http.get(
        "/v1/audio/download", params={"file": segment["file"]}, headers=account.headers
    )
    assert download.status_code == 200
    assert download.headers["content-type"] == "audio/mpeg"
    assert len(download.content) > 1000
