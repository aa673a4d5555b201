"""The whole application on Ray Serve, started once per test session.

Ray starts with 2 CPUs; deployments take fractions of a CPU so that every model
host, the pipeline, the matcher and the ingress fit. The HTTP proxy listens on a
free loopback port. Readiness is polled with deadlines, never slept for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import ray
from ray import serve

from core.plugins import BUNDLED_PLUGIN_DIR
from serve_app.config import AppArgs
from serve_app.ingress import build_app
from tests.conftest import free_port, wait_until

APP_NAME = "follow_my_reading"

#: The bundled models, with small CPU shares so the app fits in 2 cores.
TEST_ARGS = {
    "models": [
        {
            "plugin": "whisper",
            "options": {"compute_type": "int8"},
            "deployment": {"ray_actor_options": {"num_cpus": 0.4}},
        },
        {"plugin": "en_easyocr", "deployment": {"ray_actor_options": {"num_cpus": 0.4}}},
        {"plugin": "eng_tesseract", "deployment": {"ray_actor_options": {"num_cpus": 0.2}}},
        # Original-format plugin that always raises (tests/plugins/).
        {"plugin": "broken_asr", "deployment": {"ray_actor_options": {"num_cpus": 0.05}}},
    ],
    "plugin_dirs": [str(BUNDLED_PLUGIN_DIR), str(Path(__file__).parents[1] / "plugins")],
    "ingress": {"ray_actor_options": {"num_cpus": 0.2}},
    "pipeline": {"ray_actor_options": {"num_cpus": 0.2}},
    "matcher": {"ray_actor_options": {"num_cpus": 0.1}},
    # Short lease so tests of retries do not wait long.
    "worker": {"concurrency": 4, "lease_s": 10, "max_attempts": 3, "task_timeout_s": 300},
}


@pytest.fixture(scope="session")
def serve_url(redis_url: str, key_prefix: str, tmp_path_factory: pytest.TempPathFactory):
    """Base URL of the running application."""
    data_dir = tmp_path_factory.mktemp("files")
    env = {"FMR_REDIS_URL": redis_url, "FMR_KEY_PREFIX": key_prefix, "FMR_DATA_DIR": str(data_dir)}
    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": env})
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_app(AppArgs.model_validate(TEST_ARGS)), name=APP_NAME, route_prefix="/")
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{url}/openapi.json").status_code == 200,
            60,
            what="the ingress answering HTTP",
        )
        yield url
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def http(serve_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_url, timeout=60) as client:
        yield client


@dataclass
class Account:
    username: str
    password: str
    headers: dict[str, str]


def make_account(http: httpx.Client) -> Account:
    """Register a fresh user and log in."""
    username, password = f"user-{uuid.uuid4().hex[:10]}", "correct horse battery"
    response = http.put("/v1/auth/register", params={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = http.post("/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return Account(username, password, {"Authorization": f"Bearer {token.json()['access_token']}"})


@pytest.fixture(scope="session")
def account(http: httpx.Client) -> Account:
    return make_account(http)


def upload(
    http: httpx.Client,
    account: Account,
    kind: str,
    path: Path,
    name: str | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    files = {
        "upload_file": (name or path.name, content if content is not None else path.read_bytes())
    }
    return http.post(f"/v1/{kind}/upload", files=files, headers=account.headers)


def wait_for_task(
    http: httpx.Client, account: Account, task_id: str, timeout_s: float = 180
) -> dict:
    """Poll the task status until it is finished; returns the last status body."""

    def finished():
        body = http.get(
            "/v1/task/status", params={"task_id": task_id}, headers=account.headers
        ).json()
        return body if body.get("ready") else None

    return wait_until(finished, timeout_s, interval_s=0.25, what=f"task {task_id} finished")


@pytest.fixture(scope="session")
def uploaded(http: httpx.Client, account: Account, sample_audio: Path, sample_image: Path) -> dict:
    """The sample recording and photo uploaded once for the session's account."""
    audio = upload(http, account, "audio", sample_audio)
    image = upload(http, account, "image", sample_image)
    assert audio.status_code == 200, audio.text
    assert image.status_code == 200, image.text
    return {"audio": audio.json()["file_id"], "image": image.json()["file_id"]}
