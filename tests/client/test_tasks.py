"""Uploads (path, bytes, file, URL), task creation, waiting with back-off, results."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import pytest
from fmr_client import (
    Client,
    ImageComparison,
    TaskFailed,
    TextComparison,
    Transcript,
    WaitTimeout,
)

from tests.client.fake_api import FakeAPI, json_body

DATA = Path(__file__).resolve().parents[1] / "data"
SEGMENT = {"start": 0.9, "end": 1.3, "text": "black", "file": "f-seg",
           "words": [{"word": "black", "start": 0.94, "end": 1.28, "probability": 0.9}]}
BOX = {"left_top": {"x": 245, "y": 59}, "right_top": {"x": 370, "y": 59},
       "left_bottom": {"x": 245, "y": 115}, "right_bottom": {"x": 370, "y": 115}}
REFERENCE = "The little brown dog ran across the green field."
RESULT = {
    "image": {"text": REFERENCE, "boxes": [{"text": "The", "coordinates": BOX}]},
    "audio": {"text": "The little black dog ran across the field.", "segments": [SEGMENT],
              "language": "en", "something_new": 1},
    "errors": [
        {"audio_segment": SEGMENT, "at_char": 11, "found": "black", "expected": "brown",
         "type": "substitution", "ref_char": 11, "start": 0.94, "end": 1.28,
         "confidence": 0.998, "box": BOX, "boxes": [BOX],
         "evidence": {"reading": "black", "page_reading": "brown",
                      "log_likelihood_margin": 20.6, "source": "transcript"}},
        {"audio_segment": {**SEGMENT, "text": ""}, "at_char": 30, "found": "",
         "expected": "green", "type": "omission", "ref_char": 36, "start": 2.42, "end": 2.42,
         "confidence": 0.5},
    ],
    "summary": {"words_in_reference": 9, "words_correct": 7, "substitutions": 1,
                "omissions": 1, "insertions": 0, "accuracy": 77.78, "completeness": 88.89,
                "reading_duration": 2.9, "wcpm": 144.8},
    "language": "en",
}


@pytest.fixture
def api() -> FakeAPI:
    fake = FakeAPI()
    fake.route("POST", "/v1/audio/upload", {"file_id": "audio-1"})
    fake.route("POST", "/v1/image/upload", {"file_id": "image-1"})
    fake.route("POST", "/v1/audio/upload_url", {"file_id": "audio-url"})
    fake.route("POST", "/v1/image/upload_url", {"file_id": "image-url"})
    return fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fmr(api, sleeps) -> Client:
    client = Client("http://fmr.test", transport=api.transport(), sleep=sleeps.append)
    client.login("alice", "secret-pw")
    return client


def statuses(*names: str, error: str | None = None):
    queue = list(names)

    def handler(request: httpx.Request) -> httpx.Response:
        name = queue.pop(0) if len(queue) > 1 else queue[0]
        return httpx.Response(200, json={
            "task_id": request.url.params["task_id"], "status": name,
            "ready": name in ("completed", "failed"),
            "error": error if name == "failed" else None})

    return handler


def test_uploads_from_a_path_bytes_a_file_and_a_url(api, fmr, tmp_path):
    assert fmr.upload_audio(DATA / "miscue.mp3") == "audio-1"
    assert fmr.upload_audio(str(DATA / "miscue.mp3")) == "audio-1"
    assert fmr.upload_image(b"\x89PNG...", filename="page.png") == "image-1"
    assert fmr.upload_image(io.BytesIO(b"GIF89a")) == "image-1"
    assert fmr.upload_image("https://example.org/page.jpg") == "image-url"
    uploads = [r for r in api.requests if r.url.path.endswith("/upload")]
    assert b'filename="miscue.mp3"' in uploads[0].content
    assert (DATA / "miscue.mp3").read_bytes() in uploads[0].content
    assert b'filename="page.png"' in uploads[2].content
    assert json_body(api.requests[-1]) == {"url": "https://example.org/page.jpg"}


def test_a_missing_file_is_an_os_error_before_any_request(api, fmr, tmp_path):
    before = len(api.requests)
    with pytest.raises(FileNotFoundError):
        fmr.upload_audio(tmp_path / "nope.mp3")
    assert len(api.requests) == before


def test_wait_backs_off_until_the_task_is_completed(api, fmr, sleeps):
    api.route("GET", "/v1/task/status",
              statuses("pending", "in_progress", "in_progress", "in_progress", "completed"))
    seen = []
    status = fmr.wait("t1", on_status=lambda s: seen.append(s.status))
    assert status.ready and status.status == "completed"
    assert seen == ["pending", "in_progress", "in_progress", "in_progress", "completed"]
    assert sleeps == [0.25, 0.375, 0.5625, 0.84375]


def test_a_failed_task_raises_task_failed_with_its_reason(api, fmr):
    api.route("GET", "/v1/task/status", statuses("in_progress", "failed", error="model crashed"))
    with pytest.raises(TaskFailed) as raised:
        fmr.wait("t1")
    assert raised.value.reason == "model crashed" and raised.value.task_id == "t1"


def test_wait_gives_up_at_its_timeout(api, sleeps):
    clock = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    fmr = Client("http://fmr.test", transport=api.transport(), sleep=sleep,
                 clock=lambda: clock[0], poll_interval=(1.0, 4.0))
    fmr.login("alice", "secret-pw")
    api.route("GET", "/v1/task/status", statuses("in_progress"))
    with pytest.raises(WaitTimeout) as raised:
        fmr.wait("t1", timeout=20)
    assert raised.value.status == "in_progress"
    assert sleeps[:5] == [1.0, 1.5, 2.25, 3.375, 4.0]
    assert sum(sleeps) == 20 and max(sleeps) == 4.0


def test_check_page_uses_wait_true_and_parses_the_inline_result(api, fmr):
    api.route("POST", "/v1/comparison/audio/image/task", lambda r: httpx.Response(200, json={
        "task_id": "t1", "state": "SUCCESS", "status": "completed", "result": RESULT}))
    result = fmr.check_page(DATA / "miscue.mp3", DATA / "miscue.png", image_model="eng_tesseract")
    create = api.requests[-1]
    assert create.url.params["wait"] == "true"
    assert json_body(create) == {"audio_file": "audio-1", "image_file": "image-1",
                                 "audio_model": "whisper", "image_model": "eng_tesseract"}
    assert isinstance(result, ImageComparison)
    substitution, omission = result.errors
    assert (substitution.type, substitution.expected, substitution.found) == (
        "substitution", "brown", "black")
    assert substitution.evidence.log_likelihood_margin == 20.6
    assert substitution.box.bounds() == (245, 59, 370, 115)
    assert substitution.audio_segment.words[0].probability == 0.9
    assert (omission.type, omission.expected) == ("omission", "green")
    assert result.summary.wcpm == 144.8 and result.summary.accuracy == 77.78
    assert result.reference_text == REFERENCE and result.raw == RESULT
    assert result.audio.language == "en"


def test_a_pending_wait_true_answer_is_polled_then_fetched(api, fmr, sleeps):
    api.route("POST", "/v1/comparison/audio/text/task", lambda r: httpx.Response(200, json={
        "task_id": "t2", "state": "PENDING", "status": "in_progress"}))
    api.route("GET", "/v1/task/status", statuses("in_progress", "completed"))
    text_result = {k: v for k, v in RESULT.items() if k != "image"}
    api.route("GET", "/v1/comparison/audio/text/result",
              lambda r: httpx.Response(200, json=text_result))
    result = fmr.check_text(DATA / "miscue.mp3", REFERENCE, min_confidence=0.8)
    assert isinstance(result, TextComparison) and len(result.errors) == 2
    assert json_body(next(r for r in api.requests if r.url.path.endswith("/text/task")))[
        "text"] == [REFERENCE]
    fetch = api.requests[-1]
    assert fetch.url.params["task_id"] == "t2" and fetch.url.params["min_confidence"] == "0.8"
    assert sleeps == [0.25]


def test_a_failure_answer_of_wait_true_raises(api, fmr):
    api.route("POST", "/v1/audio/process/task", lambda r: httpx.Response(200, json={
        "task_id": "t3", "state": "FAILURE", "status": "failed", "error": "The model failed"}))
    with pytest.raises(TaskFailed, match="The model failed"):
        fmr.transcribe(b"ID3...")


def test_transcribe_and_the_generic_result(api, fmr):
    transcript = {"text": "hello", "segments": [SEGMENT]}
    api.route("POST", "/v1/audio/process/task", lambda r: httpx.Response(200, json={
        "task_id": "t4", "state": "SUCCESS", "status": "completed", "result": transcript}))
    api.route("GET", "/v1/task/result", transcript)
    result = fmr.transcribe(b"ID3", language="en")
    assert isinstance(result, Transcript) and result.text == "hello"
    assert result.segments[0].words[0].word == "black" and result.segments[0].file == "f-seg"
    assert json_body(api.requests[-1])["language"] == "en"
    assert fmr.task_result("t4") == transcript


def test_annotated_image_returns_the_png_bytes(api, fmr):
    api.route("GET", "/v1/comparison/audio/image/annotated",
              lambda r: httpx.Response(200, content=b"\x89PNG\r\n",
                                       headers={"Content-Type": "image/png"}))
    assert fmr.annotated_image("t1", min_confidence=0.8) == b"\x89PNG\r\n"
    assert api.requests[-1].url.params["min_confidence"] == "0.8"


def test_create_passes_extra_options(api, fmr):
    api.route("POST", "/v1/audio/process/task", {"task_id": "t5"})
    created = fmr.create_transcription("audio-1", "whisper", hot_words={"Przybylski": 5.0},
                                       session_id="lesson-1")
    assert created.task_id == "t5" and created.state is None
    assert json.loads(api.requests[-1].content) == {
        "audio_file": "audio-1", "audio_model": "whisper", "hot_words": {"Przybylski": 5.0},
        "session_id": "lesson-1"}
