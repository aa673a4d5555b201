"""Issue 16's API features in-process (real Redis, no worker): request ids, ``wait=true``
(finished, failed, still pending, and the event loop kept free meanwhile), media URLs
from a local server, the archive's listing and deletion of a user's everything.
The same features run end to end on Serve in
``tests/serve_app/integration/test_peer_features.py``."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ApiHarness
from tests.api.test_isolation import finish


@pytest.fixture
def media(sample_audio: Path) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server with the sample recording at ``/reading.mp3``."""
    seen: list[str] = []
    body = sample_audio.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            seen.append(self.path)
            if self.path == "/redirect-to-metadata":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def upload(api: ApiHarness, headers: dict, path: Path) -> str:
    response = api.client.post(
        "/v1/audio/upload", files={"upload_file": (path.name, path.read_bytes())}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["file_id"]


def test_request_ids_are_generated_echoed_or_replaced(api: ApiHarness):
    headers = api.account()
    generated = api.client.get("/v1/audio/models", headers=headers)
    assert len(generated.headers["X-Request-ID"]) == 36
    echoed = api.client.get("/v1/task/status", params={"task_id": "x"},
                            headers={**headers, "X-Request-ID": "trace:42"})
    assert echoed.status_code == 422 and echoed.headers["X-Request-ID"] == "trace:42"
    unauthorised = api.client.get("/v1/audio/models", headers={"X-Request-ID": "anon-1"})
    assert unauthorised.status_code == 401 and unauthorised.headers["X-Request-ID"] == "anon-1"
    for junk in ("a" * 129, "semi;colon", "<script>"):
        replaced = api.client.get("/v1/audio/models", headers={**headers, "X-Request-ID": junk})
        assert replaced.headers["X-Request-ID"] != junk


def test_wait_times_out_as_pending_without_blocking_the_loop(make_api, sample_audio):
    api = make_api(wait_timeout_s=1.5)
    headers = api.account()
    audio_id = upload(api, headers, sample_audio)
    outcome: dict = {}

    def create() -> None:
        started = time.monotonic()
        outcome["response"] = api.client.post(
            "/v1/audio/process/task", params={"wait": "true"},
            json={"audio_file": audio_id, "audio_model": "whisper"}, headers=headers,
        )
        outcome["seconds"] = time.monotonic() - started

    waiting = threading.Thread(target=create)
    waiting.start()
    time.sleep(0.3)  # let the request start waiting (nothing else to poll for)
    probe_started = time.monotonic()
    assert api.client.get("/v1/health/liveness").status_code == 200
    probe_s = time.monotonic() - probe_started
    waiting.join(timeout=10)
    body = outcome["response"].json()
    assert (body["state"], body["status"]) == ("PENDING", "pending"), body
    assert body.get("result") is None
    assert 1.4 < outcome["seconds"] < 5
    assert probe_s < 0.5, f"a request waited {probe_s:.2f} s behind the waiting one"
    plain = api.client.post("/v1/audio/process/task",
                            json={"audio_file": audio_id, "audio_model": "whisper"},
                            headers=headers).json()
    assert set(plain) == {"task_id"}  # without wait: the spec's answer, unchanged


@pytest.mark.parametrize("ending", ["completed", "failed"])
def test_wait_returns_the_outcome_once_the_task_ends(make_api, sample_audio, ending):
    api = make_api(wait_timeout_s=20)
    headers = api.account()
    audio_id = upload(api, headers, sample_audio)
    outcome: dict = {}
    threading.Thread(target=lambda: outcome.update(response=api.client.post(
        "/v1/audio/process/task?wait=true",
        json={"audio_file": audio_id, "audio_model": "whisper"}, headers=headers,
    ))).start()
    tasks = api.services.tasks

    def queued_id() -> str | None:
        entries = api.client.portal.call(tasks.redis.xrange, tasks.stream)
        return entries[0][1]["task_id"] if entries else None

    deadline = time.monotonic() + 10
    while (task_id := queued_id()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert task_id is not None
    result = {"text": "every path", "segments": []}
    if ending == "completed":
        api.client.portal.call(lambda: finish(tasks, task_id, result=result))
    else:
        api.client.portal.call(lambda: finish(tasks, task_id, error="the model broke"))
    deadline = time.monotonic() + 10
    while "response" not in outcome and time.monotonic() < deadline:
        time.sleep(0.05)
    body = outcome["response"].json()
    assert body["task_id"] == task_id
    if ending == "completed":
        assert (body["state"], body["result"]["text"]) == ("SUCCESS", "every path")
    else:
        assert (body["state"], body["error"]) == ("FAILURE", "the model broke")


def test_upload_by_url_from_an_allow_listed_server(make_api, media):
    base, seen = media
    api = make_api(url_allowlist="127.0.0.1/32")
    headers = api.account()
    fetched = api.client.post("/v1/audio/upload_url", json={"url": f"{base}/reading.mp3"},
                              headers=headers)
    assert fetched.status_code == 200, fetched.text
    assert seen == ["/reading.mp3"]
    download = api.client.get("/v1/audio/download", params={"file": fetched.json()["file_id"]},
                              headers=headers)
    assert download.status_code == 200
    redirected = api.client.post("/v1/audio/upload_url",
                                 json={"url": f"{base}/redirect-to-metadata"}, headers=headers)
    assert redirected.status_code == 422 and "not allowed" in redirected.json()["detail"]
    small = make_api(url_allowlist="127.0.0.1/32", max_upload_bytes=1000)
    too_big = small.client.post("/v1/audio/upload_url", json={"url": f"{base}/reading.mp3"},
                                headers=small.account())
    assert too_big.status_code == 413, too_big.text
    assert "larger than" in too_big.json()["detail"]


def test_a_task_from_media_urls_records_the_fetched_file_and_the_labels(make_api, media):
    base, _ = media
    api = make_api(url_allowlist="127.0.0.1/32")
    headers = {**api.account(), "X-Request-ID": "trace-media-1"}
    created = api.client.post(
        "/v1/comparison/audio/text/task",
        json={"audio_model": "whisper", "text": ["Every path"], "session_id": "s-1",
              "media_urls": {"audio": f"{base}/reading.mp3"}},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]
    rows = api.client.get("/v1/archive/requests", params={"session_id": "s-1"},
                          headers=headers).json()["requests"]
    assert [(r["id"], r["trace_id"], r["status"]) for r in rows] == [
        (task_id, "trace-media-1", "pending")]
    full = api.client.get(f"/v1/archive/requests/{task_id}/full_request", headers=headers).json()
    assert full["body"]["audio_file"] and "media_urls" not in full["body"]
    audio = api.client.get(f"/v1/archive/requests/{task_id}/audio", headers=headers)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    pending = api.client.get(f"/v1/archive/requests/{task_id}/transcript", headers=headers)
    assert pending.status_code == 409


def test_delete_all_leaves_the_user_nothing_and_others_everything(api: ApiHarness, sample_audio):
    mine, theirs = api.account(), api.account()
    for headers in (mine, theirs):
        audio_id = upload(api, headers, sample_audio)
        for _ in range(2):
            api.client.post("/v1/audio/process/task",
                            json={"audio_file": audio_id, "audio_model": "whisper"},
                            headers=headers)
    deleted = api.client.delete("/v1/archive/requests", headers=mine)
    assert deleted.json() == {"deleted_requests": 2, "deleted_files": 1}
    assert api.client.get("/v1/archive/requests", headers=mine).json()["requests"] == []
    assert len(api.client.get("/v1/archive/requests", headers=theirs).json()["requests"]) == 2
    audio_files = list((api.data_dir / "audio").iterdir())
    assert len(audio_files) == 1  # the other user's upload


def test_archive_pages_with_a_cursor(api: ApiHarness, sample_audio):
    headers = api.account()
    audio_id = upload(api, headers, sample_audio)
    ids = [
        api.client.post("/v1/audio/process/task",
                        json={"audio_file": audio_id, "audio_model": "whisper"},
                        headers=headers).json()["task_id"]
        for _ in range(5)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.client.get("/v1/archive/requests", params=params, headers=headers).json()
        seen += [r["id"] for r in page["requests"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
