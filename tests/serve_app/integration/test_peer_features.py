"""What the peer services offer, through HTTP on the Serve app: the request archive,
``wait=true``, media by URL (SSRF-safe), hot words, the OpenAI-compatible endpoint
and live streaming over WebSocket.

Media URL names resolve from ``FMR_URL_HOSTS`` only (``URL_STUB_ADDRESSES``, DNS off),
so the refused addresses are never connected to; the one allow-listed address is
the test's own HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI
from websockets.sync.client import connect

from tests.serve_app.integration.conftest import URL_STUB_ADDRESSES, make_account, upload

pytestmark = pytest.mark.serve

DATA = Path(__file__).parents[2] / "data"
HOT_WORDS_CLIP = DATA / "hot_words.mp3"
MISCUE = json.loads((DATA / "miscue.json").read_text())


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


class _Media(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def media_server(sample_audio: Path, sample_image: Path) -> Iterator[tuple[int, type[_Media]]]:
    """A local HTTP server with the sample recording and photo (allow-listed address)."""
    handler = type("Media", (_Media,), {"files": {}, "requests": []})
    handler.files = {"/reading.mp3": sample_audio.read_bytes(),
                     "/page.jpg": sample_image.read_bytes()}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def user(http):
    return make_account(http)


def test_every_answer_carries_one_request_id_and_echoes_the_clients(http, user):
    generated = http.get("/v1/audio/models", headers=user.headers)
    assert len(generated.headers.get_list("X-Request-ID")) == 1
    assert len(generated.headers["X-Request-ID"]) == 36
    mine = http.get("/v1/task/status", params={"task_id": "nope"},
                    headers={**user.headers, "X-Request-ID": "trace-42"})
    assert mine.status_code == 422
    assert mine.headers.get_list("X-Request-ID") == ["trace-42"]


def test_wait_true_returns_the_result_inline_and_the_archive_keeps_the_request(
    http, user, sample_audio
):
    audio_id = upload(http, user, "audio", sample_audio).json()["file_id"]
    created = http.post(
        "/v1/audio/process/task",
        params={"wait": "true"},
        json={"audio_file": audio_id, "audio_model": "whisper", "session_id": "lesson-1"},
        headers={**user.headers, "X-Request-ID": "trace-archive-1"},
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["state"] == "SUCCESS" and body["status"] == "completed"
    assert "path" in body["result"]["text"].lower()
    task_id = body["task_id"]

    by_session = http.get("/v1/archive/requests", params={"session_id": "lesson-1"},
                          headers=user.headers).json()
    assert [r["id"] for r in by_session["requests"]] == [task_id]
    row = by_session["requests"][0]
    assert (row["kind"], row["status"], row["trace_id"]) == (
        "audio_processing", "completed", "trace-archive-1")
    by_trace = http.get("/v1/archive/requests", params={"trace_id": "trace-archive-1"},
                        headers=user.headers).json()
    assert [r["id"] for r in by_trace["requests"]] == [task_id]
    today = row["created_at"][:10]
    dated = http.get("/v1/archive/requests", params={"date_from": today, "date_to": today},
                     headers=user.headers).json()
    assert task_id in [r["id"] for r in dated["requests"]]
    before = http.get("/v1/archive/requests", params={"date_to": "2020-01-01"},
                      headers=user.headers).json()
    assert before["requests"] == []

    base = f"/v1/archive/requests/{task_id}"
    audio = http.get(f"{base}/audio", headers=user.headers)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    full = http.get(f"{base}/full_request", headers=user.headers).json()
    assert full["body"]["audio_file"] == audio_id and full["session_id"] == "lesson-1"
    served = full["models"]["whisper"]
    assert served["plugin"] == "whisper" and served["options"]["compute_type"] == "int8"
    assert "faster-whisper" in served["versions"] and "ray" in served["versions"]
    transcript = http.get(f"{base}/transcript", headers=user.headers).json()
    words = [w for s in transcript["segments"] for w in s["words"]]
    assert words and all(isinstance(w["start_ms"], int) for w in words)
    assert all(0 <= w["confidence"] <= 1 for w in words)
    assert words[-1]["end_ms"] <= 1800  # the 1.78-s sample, in milliseconds
    vad = http.get(f"{base}/voice_activity_marks", headers=user.headers).json()
    marks = vad["marks"]
    assert {m["type"] for m in marks} <= {"speech", "silence"}
    assert any(m["type"] == "speech" for m in marks)
    assert marks[0]["start_ms"] == 0 and marks[-1]["end_ms"] == vad["duration_ms"]
    assert all(a["end_ms"] == b["start_ms"] for a, b in zip(marks, marks[1:], strict=False))

    other = make_account(http)
    assert http.get(f"{base}/full_request", headers=other.headers).status_code == 404
    assert http.delete(base, headers=other.headers).status_code == 404
    assert http.delete(base, headers=user.headers).status_code == 204
    assert http.get(f"{base}/transcript", headers=user.headers).status_code == 404
    gone = http.get("/v1/audio/download", params={"file": audio_id}, headers=user.headers)
    assert gone.status_code == 404  # its only request is gone: so is the upload


def test_wait_true_reports_a_failed_task(http, user, sample_audio):
    audio_id = upload(http, user, "audio", sample_audio).json()["file_id"]
    created = http.post("/v1/audio/process/task?wait=true",
                        json={"audio_file": audio_id, "audio_model": "broken_asr"},
                        headers=user.headers)
    assert created.status_code == 200, created.text
    assert created.json()["state"] == "FAILURE" and "failed" in created.json()["error"]


def test_upload_by_url_and_media_urls_in_a_task(http, user, media_server):
    port, handler = media_server
    url = f"http://media.test:{port}"
    fetched = http.post("/v1/audio/upload_url", json={"url": f"{url}/reading.mp3"},
                        headers=user.headers)
    assert fetched.status_code == 200, fetched.text
    download = http.get("/v1/audio/download", params={"file": fetched.json()["file_id"]},
                        headers=user.headers)
    assert download.status_code == 200 and download.content[:3] in (b"ID3", b"\xff\xfb")
    missing = http.post("/v1/image/upload_url", json={"url": f"{url}/nothing.png"},
                        headers=user.headers)
    assert missing.status_code == 422 and "404" in missing.json()["detail"]

    compared = http.post(
        "/v1/comparison/audio/image/task?wait=true",
        json={"audio_model": "whisper", "image_model": "eng_tesseract",
              "media_urls": {"audio": f"{url}/reading.mp3", "image": f"{url}/page.jpg"}},
        headers=user.headers,
    )
    assert compared.status_code == 200, compared.text
    assert compared.json()["state"] in ("SUCCESS", "PENDING")


@pytest.mark.parametrize("name", sorted(set(URL_STUB_ADDRESSES) - {"media.test"}))
def test_media_urls_to_non_public_addresses_are_refused(http, user, media_server, name):
    port, handler = media_server
    seen = len(handler.requests)
    refused = http.post("/v1/image/upload_url", json={"url": f"http://{name}:{port}/page.jpg"},
                        headers=user.headers)
    assert refused.status_code == 422, refused.text
    assert "not allowed" in refused.json()["detail"]
    task = http.post("/v1/image/process/task",
                     json={"image_model": "eng_tesseract",
                           "media_urls": {"image": f"http://{name}/page.jpg"}},
                     headers=user.headers)
    assert task.status_code == 422, task.text
    assert len(handler.requests) == seen


def test_literal_metadata_and_loopback_urls_are_refused(http, user):
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::1]/x",
                "http://127.0.0.2/x", "file:///etc/passwd", "http://user:pw@media.test/x"):
        refused = http.post("/v1/audio/upload_url", json={"url": url}, headers=user.headers)
        assert refused.status_code == 422, (url, refused.text)


def test_a_hot_word_makes_a_rare_name_recognised(http, user):
    audio_id = upload(http, user, "audio", HOT_WORDS_CLIP).json()["file_id"]

    def transcribe(**extra) -> dict:
        created = http.post("/v1/audio/process/task?wait=true",
                            json={"audio_file": audio_id, "audio_model": "whisper", **extra},
                            headers=user.headers)
        assert created.status_code == 200, created.text
        assert created.json()["state"] == "SUCCESS"
        return created.json()["result"]

    plain = transcribe()
    assert "przybylski" not in plain["text"].lower()
    boosted = transcribe(hot_words={"Przybylski": 5.0})
    assert "przybylski" in boosted["text"].lower()
    assert boosted.get("ignored_options") is None
    bad = http.post("/v1/audio/process/task",
                    json={"audio_file": audio_id, "audio_model": "whisper",
                          "hot_words": {"": 1.0}}, headers=user.headers)
    assert bad.status_code == 422


def test_the_official_openai_client_transcribes(serve_url, http, user, sample_audio):
    token = user.headers["Authorization"].split()[1]
    client = OpenAI(base_url=f"{serve_url}/v1", api_key=token, max_retries=0, timeout=120)
    with sample_audio.open("rb") as audio:
        plain = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert "path" in plain.text.lower()
    with sample_audio.open("rb") as audio:
        verbose = client.audio.transcriptions.create(
            model="whisper", file=audio, response_format="verbose_json",
            timestamp_granularities=["word", "segment"], language="en",
        )
    assert verbose.language == "en" and 1.7 < verbose.duration < 1.9
    assert verbose.words and verbose.words[0].end > verbose.words[0].start
    assert verbose.segments and verbose.segments[0].text
    for fmt, marker in (("srt", "-->"), ("vtt", "WEBVTT")):
        with sample_audio.open("rb") as audio:
            text = client.audio.transcriptions.create(
                model="whisper-1", file=audio, response_format=fmt
            )
        assert marker in text, text
    with sample_audio.open("rb") as audio:
        try:
            client.audio.transcriptions.create(model="no-such-model", file=audio)
        except Exception as error:  # noqa: BLE001 - the client's NotFoundError
            assert getattr(error, "status_code", None) == 404
        else:
            raise AssertionError("an unknown model was accepted")


def _pcm16k(path: Path) -> bytes:
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "16000",
         "-"], check=True, capture_output=True,
    ).stdout


def test_a_live_stream_through_the_ingress_gives_partials_and_the_reading_check(
    serve_url, user
):
    """The espeak-ng recording of tests/data/miscue.json, streamed at real-time pace."""
    token = user.headers["Authorization"].split()[1]
    pcm = _pcm16k(DATA / "miscue.mp3")
    chunk = 16000 * 2 // 4  # 0.25 s
    uri = serve_url.replace("http", "ws") + "/v1/audio/stream"
    messages: list[dict] = []
    started = time.monotonic()
    with connect(f"{uri}?model=whisper&format=pcm_s16le", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "start", "token": token,
                            "reference_text": MISCUE["reference"]}))
        assert json.loads(ws.recv(timeout=30))["type"] == "ready"
        for offset in range(0, len(pcm), chunk):
            ws.send(pcm[offset:offset + chunk])
            time.sleep(max(0.0, started + (offset + chunk) / 32000 - time.monotonic()))
            while True:
                try:
                    messages.append(json.loads(ws.recv(timeout=0)))
                except TimeoutError:
                    break
        before_finalize = len([m for m in messages if m["type"] == "partial"])
        ws.send("finalize")
        for raw in ws:
            messages.append(json.loads(raw))
    assert before_finalize > 0  # partials came while it was being read
    done = messages[-1]
    assert done["type"] == "done"
    finals = " ".join(m["text"] for m in messages if m["type"] == "partial" and m["final"])
    assert words(finals) == words(done["text"])
    spoken = words(MISCUE["spoken"])
    # tiny.en on a synthetic voice: most words of what was said, in order.
    assert sum(w in words(finals) for w in spoken) >= 0.8 * len(spoken), finals
    miscues = {(m["miscue"], m["expected"]) for m in messages if m["type"] == "miscue"}
    planted = {(p["type"], p["expected"]) for p in MISCUE["miscues"]}
    assert planted & miscues, (miscues, planted)
    # The verified check of the whole recording: exactly the planted miscues.
    check = next(m for m in messages if m["type"] == "check")
    assert check["state"] == "SUCCESS", check
    assert {(e["type"], e["expected"]) for e in check["errors"]} == planted
