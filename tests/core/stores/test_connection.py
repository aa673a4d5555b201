"""core.stores.connection: every Redis client has timeouts and redis-py's Retry."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.stores.connection import connect
from tests.conftest import RedisServer


def test_a_server_that_never_answers_times_out():
    """A half-open connection (host gone, no reset) must not hang a request."""
    with socket.socket() as silent:  # accepts connections, never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]

        async def scenario() -> float:
            client = connect(f"redis://127.0.0.1:{port}/0", socket_timeout_s=0.2, retries=1)
            started = time.monotonic()
            try:
                with pytest.raises(RedisTimeoutError):
                    await client.ping()
            finally:
                await client.aclose()
            return time.monotonic() - started

        elapsed = asyncio.run(scenario())
    assert elapsed < 3.0  # 2 attempts of 0.2 s plus back-off, not forever


def test_nothing_listening_fails_fast():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again below: nothing listens there

    async def scenario() -> float:
        client = connect(f"redis://127.0.0.1:{port}/0", retries=2)
        started = time.monotonic()
        try:
            with pytest.raises(RedisConnectionError):
                await client.ping()
        finally:
            await client.aclose()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 3.0


def test_a_restarted_server_is_reconnected_to_without_an_error(tmp_path):
    """The pooled connection breaks when Redis restarts; the retry reconnects."""
    server = RedisServer(shutil.which("redis-server") or "redis-server", tmp_path)
    server.start()
    try:

        async def scenario() -> None:
            client = connect(server.url)
            try:
                await client.set("k", "v")
                await asyncio.to_thread(server.restart, True)
                assert await client.get("k") == "v"  # appendfsync always: the write survived
            finally:
                await client.aclose()

        asyncio.run(scenario())
    finally:
        server.stop()
