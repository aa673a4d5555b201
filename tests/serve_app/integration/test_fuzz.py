"""Schemathesis over every operation of the live service on Ray Serve, over HTTP.

The same fuzzing as ``tests/api/test_fuzz.py`` (``tests/fuzzing.py``) with fewer
examples, against the session's Serve cluster: real model deployments, the Serve
HTTP proxy, default settings (rate limits included). The user owns an uploaded
recording and photo and a finished task of every kind (real model results), whose
ids the schema-valid cases are also sent with. Counts are printed at the end and
written to ``.data/fuzz/serve.json``.

Rate limits: the anonymous ``/v1/auth/*`` budget is per client address (60/minute by
default), which the fuzzer would spend for the tests after it. So its requests come
from another loopback address (127.0.0.2) than the other tests' (127.0.0.1); they
may get 429s themselves, which the schema documents (with ``Retry-After``).
"""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import requests.adapters
import schemathesis

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
from tests.serve_app.integration.conftest import Account, make_account, upload, wait_for_task

pytestmark = pytest.mark.serve

#: Fuzzing-phase examples per operation (the coverage phase adds its own cases).
MAX_EXAMPLES = 10
#: Another loopback address than the other tests', for a rate-limit budget of its own.
FUZZ_ADDRESS = "127.0.0.2"
AUDIO_MODEL, IMAGE_MODEL = "whisper", "en_easyocr"

OPENAPI = openapi_of_checkout()
schema = load_schema(OPENAPI, max_examples=MAX_EXAMPLES, request_timeout=60)
STATS = FuzzStats()


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connects from a given local address."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _can_connect_from(address: str, url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname, parts.port or 80), timeout=5, source_address=(address, 0)
        ):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def target(
    request: pytest.FixtureRequest,
    serve_url: str,
    http: httpx.Client,
    sample_audio: Path,
    sample_image: Path,
) -> Iterator[FuzzTarget]:
    """A fresh user of the live service, its files and finished tasks, and a session
    connecting from :data:`FUZZ_ADDRESS` (if the host lets it)."""
    served = schemathesis.openapi.from_url(f"{serve_url}/openapi.json")
    same_schema(served.raw_schema, OPENAPI, f"The Serve application at {serve_url}")
    account = make_account(http)
    known = _resources(http, account, sample_audio, sample_image)
    login = http.post(
        "/v1/auth/token", data={"username": account.username, "password": account.password}
    )
    assert login.status_code == 200, login.text
    known |= {
        "username": [account.username],
        "password": [account.password],
        "refresh_token": [login.json()["refresh_token"]],
    }
    session = requests.Session()
    own_address = _can_connect_from(FUZZ_ADDRESS, serve_url)
    if own_address:
        session.mount("http://", _FromAddress(FUZZ_ADDRESS))
    else:
        warnings.warn(
            f"cannot connect from {FUZZ_ADDRESS}: the fuzzer shares the other tests' "
            "rate-limit budget of /v1/auth; waiting for it after the run",
            stacklevel=1,
        )
    target = FuzzTarget(session, serve_url, account.headers, known, STATS)
    with report_at_end(request, STATS, "serve"):
        yield target
    session.close()
    if not own_address:
        _wait_for_auth_budget(http)


@schema.parametrize()
def test_fuzz(case, target: FuzzTarget) -> None:
    run_case(case, target)


def _resources(
    http: httpx.Client, account: Account, sample_audio: Path, sample_image: Path
) -> dict[str, list[str]]:
    """Upload the samples, run a task of every kind to its end; their ids.

    Model names are not among the known values: the fuzzer's task requests name
    random models (404), so that they do not queue real model work.
    """
    audio = upload(http, account, "audio", sample_audio)
    image = upload(http, account, "image", sample_image)
    assert audio.status_code == 200, audio.text
    assert image.status_code == 200, image.text
    audio_id, image_id = audio.json()["file_id"], image.json()["file_id"]
    bodies = task_requests(audio_id, image_id, AUDIO_MODEL, IMAGE_MODEL)
    task_ids = []
    for path, body in bodies.items():
        created = http.post(path, json=body, headers=account.headers)
        assert created.status_code == 200, created.text
        task_ids.append(created.json()["task_id"])
    for task_id in task_ids:
        wait_for_task(http, account, task_id)
    return {
        "task_id": task_ids,
        "file": [audio_id, image_id],
        "audio_file": [audio_id],
        "image_file": [image_id],
    }


def _wait_for_auth_budget(http: httpx.Client, timeout_s: float = 150) -> None:
    """Poll until ``/v1/auth/*`` stops answering 429 (revoking a junk token is a no-op)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if http.post("/v1/auth/revoke", data={"token": "junk"}).status_code != 429:
            return
        time.sleep(5)
