"""Security on the running cluster: no password in any log; no spoofed client address.

No log file of the cluster contains a password sent to the register endpoint.

The spec's register endpoint takes the password as a query parameter. After
registrations through every path (query string, form body, a refused request, a
failed login), every file Ray wrote for this session (Serve access logs of proxy
and replicas, worker stdout/stderr, the app's own loggers) is searched for the
passwords.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import ray

from tests.conftest import wait_until

pytestmark = pytest.mark.serve


def _session_logs() -> Path:
    return Path(ray._private.worker._global_node.get_session_dir_path()) / "logs"


def _files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                if needle in path.read_bytes():
                    hits.append(str(path.relative_to(root)))
            except OSError:
                continue
    return hits


def _count(root: Path, needle: bytes) -> int:
    total = 0
    for path in root.rglob("*.log"):
        try:
            total += path.read_bytes().count(needle)
        except OSError:
            continue
    return total


def test_passwords_never_reach_any_log_file(http: httpx.Client):
    secrets = {
        kind: f"pw-{kind}-{uuid.uuid4().hex}" for kind in ("query", "form", "bad", "login", "404")
    }
    logs = _session_logs()
    logged_before = _count(logs, b"PUT /v1/auth/register")

    query_user = f"user-{uuid.uuid4().hex[:10]}"
    response = http.put(
        "/v1/auth/register", params={"username": query_user, "password": secrets["query"]}
    )
    assert response.status_code == 200, response.text
    response = http.put(
        "/v1/auth/register",
        data={"username": f"user-{uuid.uuid4().hex[:10]}", "password": secrets["form"]},
    )
    assert response.status_code == 200, response.text
    # Refused registrations and logins go through error paths that log more.
    response = http.put(
        "/v1/auth/register",
        params={"username": "no spaces allowed", "password": secrets["bad"], "email": "x"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert secrets["bad"] not in response.text
    response = http.post(
        "/v1/auth/token", data={"username": query_user, "password": secrets["login"]}
    )
    assert response.status_code == 401
    http.get("/v1/auth/no-such-route", params={"password": secrets["404"]})

    # The access log lines of these requests are written: the files are complete.
    wait_until(lambda: _count(logs, b"PUT /v1/auth/register") >= logged_before + 3, 30,
               interval_s=0.5, what="the access log lines of the registrations")
    leaks = {kind: _files_containing(logs, secret.encode()) for kind, secret in secrets.items()}
    assert leaks == {kind: [] for kind in secrets}


def test_serve_proxy_does_not_take_the_client_from_x_forwarded_for(http: httpx.Client):
    """A loopback client's X-Forwarded-For neither gives it a fresh anonymous budget
    nor spends another address's: the ingress sees the real peer (127.0.0.1)."""

    def remaining(**headers: str) -> tuple[int, int]:
        response = http.post(
            "/v1/auth/token",
            data={"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "x" * 12},
            headers=headers,
        )
        assert response.status_code == 401, response.text
        return int(response.headers["X-RateLimit-Remaining"]), int(
            response.headers["X-RateLimit-Limit"]
        )

    remaining()
    spoofed, limit = remaining(**{"X-Forwarded-For": f"192.0.2.{uuid.uuid4().int % 250}"})
    # Counted in 127.0.0.1's budget with the request before it: a budget of its own
    # would have just one request spent.
    assert spoofed < limit - 1
