"""Small helpers shared by the serving benchmarks (serving, speed, run_benchmark).

Standard library and httpx only: ``bench/speed.py`` measures old commits from their own worktrees,
so nothing here may import the project's packages (``core``, ``api``, ``serve_app``,
``plugins``), whose modules differ from commit to commit.
"""

from __future__ import annotations

import socket
import sys
import time
import uuid
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import httpx


def log(message: str, tag: str | None = None) -> None:
    """Print ``[<tag> HH:MM:SS] message`` to stderr (stdout carries the results).

    ``tag`` defaults to the running script's name: ``speed`` for ``-m bench.speed``.
    """
    tag = tag or Path(sys.argv[0]).stem or "bench"
    print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (``q`` from 0 to 100) of ``values``, in their unit, with
    linear interpolation between the two nearest ranks (numpy's default method).

    Raises ``IndexError`` for an empty list.
    """
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; another
    process may still take it before the caller binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Call ``predicate`` every 0.2 s until it returns something truthy, and return that.

    An exception from ``predicate`` counts as "not yet". Raises ``TimeoutError`` naming
    ``what`` when ``timeout_s`` seconds pass first.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # noqa: BLE001 - keep polling until the deadline
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not reached in {timeout_s} s")


class Login(httpx.Auth):
    """Bearer auth for a fresh user of the API at ``base_url``: registers it (form
    fields, so the password stays out of access logs), logs in, and logs in again when
    a token is refused (access tokens are short-lived; a long run outlives them)."""

    requires_response_body = True

    def __init__(self, base_url: str, prefix: str = "bench") -> None:
        self.username, self.password = f"{prefix}{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
        self.base_url = base_url
        self.token: str | None = None
        self.registered = False

    def _login(self) -> Generator[httpx.Request, httpx.Response, None]:
        if not self.registered:
            register = yield httpx.Request(
                "PUT", f"{self.base_url}/v1/auth/register",
                data={"username": self.username, "password": self.password},
            )
            register.raise_for_status()
            self.registered = True
        token = yield httpx.Request(
            "POST", f"{self.base_url}/v1/auth/token",
            data={"username": self.username, "password": self.password},
        )
        token.raise_for_status()
        self.token = token.json()["access_token"]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.token is None:
            yield from self._login()
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            yield from self._login()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request
