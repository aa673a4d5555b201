"""Schemathesis over every operation of the in-process app (real Redis, no Ray).

One subtest per operation of ``/openapi.json`` (``test_fuzz[GET /v1/task/status]``...),
every request authenticated as one registered user, who owns an uploaded recording
and photo and tasks of every kind: queued, completed (as a pipeline worker would
store them) and failed. See ``tests/fuzzing.py``. The request count, the 5xx count
and the per-operation counts are printed at the end and written to
``.data/fuzz/in-process.json``.

Run alone: ``python -m pytest tests/api/test_fuzz.py -q -s``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from redis.asyncio import Redis
from schemathesis.python import asgi

from api.app import create_app
from api.settings import Settings
from core.stores.tasks import TaskStore
from tests.api.conftest import MODELS, PASSWORD, build_services
from tests.fuzzing import (
    FuzzStats,
    FuzzTarget,
    load_schema,
    openapi_of_checkout,
    report_at_end,
    run_case,
    same_schema,
    task_requests,
)

#: Fuzzing-phase examples per operation (the coverage phase adds its own cases).
MAX_EXAMPLES = 50
#: Budgets the fuzzer cannot exhaust: it tests the routes, not the limiter (429 is
#: documented on every limited route all the same; tests/api/test_rate_limit.py).
NO_LIMIT = "1000000/minute"
AUDIO_MODEL = next(m.name for m in MODELS if m.kind == "audio")
IMAGE_MODEL = next(m.name for m in MODELS if m.kind == "image")

OPENAPI = openapi_of_checkout()
schema = load_schema(OPENAPI, max_examples=MAX_EXAMPLES)
STATS = FuzzStats()


@pytest.fixture(scope="module")
def target(
    request: pytest.FixtureRequest,
    redis_url: str,
    key_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
    sample_audio: Path,
    sample_image: Path,
) -> Iterator[FuzzTarget]:
    """The real app (real Redis and storage, static model catalogue) and its user.

    Requests go through Schemathesis' in-process ASGI client (a ``requests``
    session), on the one event loop it runs apps in; the app's Redis client connects
    in that loop at the first request (and is dropped with it at exit).
    """
    settings = Settings(
        redis_url=redis_url,
        key_prefix=f"{key_prefix}fuzz:",
        data_dir=tmp_path_factory.mktemp("fuzz-files"),
        rate_limit_auth=NO_LIMIT,
        rate_limit_upload=NO_LIMIT,
        rate_limit_task=NO_LIMIT,
        rate_limit_read=NO_LIMIT,
        # No worker runs in-process: a wait=true request waits this long in vain.
        wait_timeout_s=0.2,
        url_dns=False,  # media URLs the fuzzer makes up never reach DNS
    )
    session = asgi.get_client(create_app(build_services(settings)))
    same_schema(session.get("/openapi.json").json(), OPENAPI, "The in-process app")
    credentials = {"username": "fuzzer", "password": PASSWORD}
    login = _log_in(session, credentials)
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    known = _resources(session, headers, settings, sample_audio, sample_image)
    # The log-in routes too get requests that succeed (and, once, a valid refresh).
    known |= {name: [value] for name, value in credentials.items()}
    known["refresh_token"] = [login["refresh_token"]]
    target = FuzzTarget(session, f"http://{asgi.HOST}", headers, known, STATS)
    with report_at_end(request, STATS, "in-process"):
        yield target


@schema.parametrize()
def test_fuzz(case, target: FuzzTarget) -> None:
    run_case(case, target)


def _log_in(session: requests.Session, credentials: dict[str, str]) -> dict[str, Any]:
    """Register the user and log in: the token response."""
    registered = session.put("/v1/auth/register", params=credentials)
    assert registered.status_code == 200, registered.text
    token = session.post("/v1/auth/token", data=credentials)
    assert token.status_code == 200, token.text
    return token.json()


def _resources(
    session: requests.Session,
    headers: dict[str, str],
    settings: Settings,
    sample_audio: Path,
    sample_image: Path,
) -> dict[str, list[str]]:
    """Upload the samples and create tasks of every kind: one left queued, one
    completed with a result, one failed. Returns the ids and model names to fuzz with."""

    def post(path: str, **kwargs: Any) -> dict[str, Any]:
        response = session.post(path, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    audio = post(
        "/v1/audio/upload", files={"upload_file": (sample_audio.name, sample_audio.read_bytes())}
    )
    image = post(
        "/v1/image/upload", files={"upload_file": (sample_image.name, sample_image.read_bytes())}
    )
    audio_id, image_id = audio["file_id"], image["file_id"]
    requests_by_kind = task_requests(audio_id, image_id, AUDIO_MODEL, IMAGE_MODEL)
    queued, completed, failed = [], {}, {}
    results = _results(audio_id)
    for path, body in requests_by_kind.items():
        queued.append(post(path, json=body)["task_id"])
        completed[post(path, json=body)["task_id"]] = results[path]
    failed[
        post("/v1/audio/process/task", json=requests_by_kind["/v1/audio/process/task"])["task_id"]
    ] = "The model failed"
    asyncio.run(_finish(settings, completed, failed))
    return {
        "task_id": [*queued, *completed, *failed],
        "file": [audio_id, image_id],
        "audio_file": [audio_id],
        "image_file": [image_id],
        "audio_model": [AUDIO_MODEL],
        "image_model": [IMAGE_MODEL],
    }


async def _finish(
    settings: Settings, completed: dict[str, dict[str, Any]], failed: dict[str, str]
) -> None:
    """Finish tasks as a pipeline worker does (with a Redis client of this loop)."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        tasks = TaskStore(redis, settings.key_prefix)
        await tasks.ensure_group()
        entries = {fields["task_id"]: entry for entry, fields in await redis.xrange(tasks.stream)}
        for task_id, result in completed.items():
            await tasks.finish(task_id, entries[task_id], result=result)
        for task_id, error in failed.items():
            await tasks.finish(task_id, entries[task_id], error=error)
    finally:
        await redis.aclose()


def _results(audio_id: str) -> dict[str, dict[str, Any]]:
    """A result of each task kind, shaped as the pipeline stores them (one miscue,
    with its box on the photo, so the annotated page has something to draw)."""
    words = [
        {"word": "every", "start": 0.1, "end": 0.5, "probability": 0.9},
        {"word": "pat", "start": 0.6, "end": 1.0, "probability": 0.4},
    ]
    chunk = {"start": 0.1, "end": 1.0, "text": "every pat", "file": audio_id, "words": words}
    audio = {"text": "every pat", "segments": [chunk]}

    def box(left: int, right: int) -> dict[str, dict[str, int]]:
        return {
            "left_top": {"x": left, "y": 20},
            "right_top": {"x": right, "y": 20},
            "left_bottom": {"x": left, "y": 60},
            "right_bottom": {"x": right, "y": 60},
        }

    image = {
        "text": "Every path",
        "boxes": [
            {"text": "Every", "coordinates": box(10, 120), "confidence": 0.95},
            {"text": "path", "coordinates": box(130, 220), "confidence": 0.9},
        ],
    }
    miscue = {
        "audio_segment": {**chunk, "start": 0.6, "text": "pat", "words": words[1:]},
        "at_char": 6,
        "found": "pat",
        "expected": "path",
        "type": "substitution",
        "ref_char": 6,
        "start": 0.6,
        "end": 1.0,
        "confidence": 0.7,
        "segment": 0,
        "box": box(130, 220),
        "boxes": [box(130, 220)],
    }
    summary = {
        "words_in_reference": 2,
        "words_correct": 1,
        "substitutions": 1,
        "omissions": 0,
        "insertions": 0,
        "accuracy": 50.0,
        "completeness": 100.0,
        "reading_duration": 0.9,
        "wcpm": 66.7,
    }
    return {
        "/v1/audio/process/task": audio,
        "/v1/audio/extract/task": {
            "data": [{"audio_segment": chunk, "found": True, "phrase": "every path"}]
        },
        "/v1/image/process/task": image,
        "/v1/comparison/audio/image/task": {
            "image": image,
            "audio": audio,
            "errors": [miscue],
            "summary": summary,
        },
        "/v1/comparison/audio/text/task": {"audio": audio, "errors": [miscue], "summary": summary},
    }
