"""The object store down and back, on the API whose files are in SeaweedFS (``/s3``).

Its ingress and pipeline keep separate working copies (``serve_cluster``), so a task
reads its recording from S3: with the store down, every attempt fails. Expected:
uploads answer 503 with ``Retry-After``, tasks are retried without using up their
attempts (``core.tasks.consumer``, outage back-off), none is lost, and once the store
is back everything completes. The counts are printed (``pytest -s``) and
``docs/reliability.md`` records the last run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.serve_app.integration.conftest import (
    S3_ROUTE,
    make_account,
    upload,
    wait_for_task,
    wait_until,
)
from tests.serve_app.integration.test_faults import attempts, outcome

pytestmark = pytest.mark.serve

TASKS = 4


def test_object_store_down_answers_503_and_loses_no_task(
    serve_url, seaweed, redis_url, key_prefix, sample_audio
):
    with httpx.Client(base_url=f"{serve_url}{S3_ROUTE}", timeout=60) as http:
        user = make_account(http)
        stored = upload(http, user, "audio", sample_audio)
        assert stored.status_code == 200, stored.text
        recording = stored.json()["file_id"]
        seaweed.stop()
        try:
            down_at = time.monotonic()
            refused = upload(http, user, "audio", sample_audio)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["Retry-After"]) >= 1
            # The task is accepted (the ingress has its own copy), the pipeline cannot
            # fetch it: every task is tried again while the store is down.
            ids = []
            for _ in range(TASKS):
                created = http.post(
                    "/v1/audio/process/task",
                    json={"audio_file": recording, "audio_model": "whisper"},
                    headers=user.headers,
                )
                assert created.status_code == 200, created.text
                ids.append(created.json()["task_id"])
            wait_until(
                lambda: min(attempts(redis_url, f"{key_prefix}s3:", ids)) >= 2,
                60, interval_s=0.2, what="every task retried while the store is down",
            )
            tries_while_down = attempts(redis_url, f"{key_prefix}s3:", ids)
        finally:
            seaweed.start()
        outage_s = time.monotonic() - down_at
        print(f"\nobject store down {outage_s:.1f} s; attempts while down {tries_while_down}")
        counts = outcome(http, user, ids, 180, "object store stopped and restarted")
        assert counts == {"submitted": TASKS, "completed": TASKS, "failed": 0, "lost": 0}
        assert upload(http, user, "audio", sample_audio).status_code == 200


def test_the_s3_apps_deployments_share_files_only_through_the_bucket(
    serve_cluster, seaweed, sample_audio
):
    """On ``/s3`` the ingress and the pipeline have separate folders, as on two nodes."""
    dirs = {name: Path(folder) for name, folder in serve_cluster.s3_dirs.items()}
    prefix = serve_cluster.s3_env["FMR_STORAGE_URL"].removeprefix(f"s3://{seaweed.bucket}/")
    bucket = seaweed.store(f"{prefix}/")
    with httpx.Client(base_url=f"{serve_cluster.url}{S3_ROUTE}", timeout=60) as http:
        user = make_account(http)
        recording = upload(http, user, "audio", sample_audio).json()["file_id"]
        assert asyncio.run(bucket.exists(f"audio/{recording}.mp3"))
        assert not (dirs["pipeline"] / "audio" / f"{recording}.mp3").exists()
        created = http.post(
            "/v1/audio/process/task",
            json={"audio_file": recording, "audio_model": "whisper"},
            headers=user.headers,
        )
        task_id = created.json()["task_id"]
        assert wait_for_task(http, user, task_id)["status"] == "completed"
        result = http.get(
            "/v1/audio/process/result", params={"task_id": task_id}, headers=user.headers
        ).json()
        segment = result["segments"][0]["file"]
        # The pipeline fetched the upload and cut the segment; the ingress has neither
        # the segment nor needs it until someone downloads it.
        assert (dirs["pipeline"] / "audio" / f"{recording}.mp3").is_file()
        assert asyncio.run(bucket.exists(f"audio/{segment}.mp3"))
        assert not (dirs["ingress"] / "audio" / f"{segment}.mp3").exists()
        download = http.get("/v1/audio/download", params={"file": segment}, headers=user.headers)
        assert download.status_code == 200 and len(download.content) > 1000
        assert (dirs["ingress"] / "audio" / f"{segment}.mp3").read_bytes() == download.content
