"""Fixtures for the unit tests that need Redis (tasks, worker, users, storage, pipeline).

Async code runs with plain ``asyncio.run`` inside sync tests; a Redis client is bound to
the event loop that created it, so tests open their own client inside the coroutine
(``async with connect() as redis``). Each test gets its own key prefix.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from redis.asyncio import Redis


@pytest.fixture
def prefix(key_prefix: str) -> str:
    """A key prefix unique to one test, inside the session's prefix."""
    return f"{key_prefix}{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def connect(redis_url: str) -> Callable[[], Redis]:
    """Factory of asyncio Redis clients (``decode_responses=True``) on the test server."""
    return lambda: Redis.from_url(redis_url, decode_responses=True)


async def _poll(
    predicate: Callable[[], Awaitable[object]],
    timeout_s: float,
    interval_s: float = 0.02,
    what: str = "condition",
) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"{what} not reached in {timeout_s} s")


@pytest.fixture
def poll() -> Callable[..., Awaitable[object]]:
    """``await poll(async_predicate, timeout_s, what=...)``: poll until truthy or fail."""
    return _poll
