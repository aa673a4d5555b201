"""The async client: the same logic as coroutines; concurrent 401s refresh once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fmr_client import AsyncClient, ImageComparison, RateLimitError

from tests.client.fake_api import FakeAPI
from tests.client.test_tasks import RESULT

MODELS = {"models": [{"name": "whisper", "languages": ["en"], "description": "tiny.en"}]}


def run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_calls_with_an_expired_token_refresh_it_once():
    api = FakeAPI()
    api.route("GET", "/v1/audio/models", MODELS)

    async def scenario():
        async with AsyncClient("http://fmr.test", transport=api.transport()) as fmr:
            await fmr.login("alice", "secret-pw")
            api.expire_access_tokens()
            results = await asyncio.gather(*(fmr.audio_models() for _ in range(10)))
            return results, fmr.tokens

    results, tokens = run(scenario())
    assert all(r[0].name == "whisper" for r in results)
    assert api.refreshes == ["r1"] and tokens.refresh_token == "r2"
    assert api.revoked_sessions == set()


def test_retry_after_uses_the_async_sleep_hook():
    api = FakeAPI()
    replies = iter([httpx.Response(429, json={"detail": "slow down"},
                                   headers={"Retry-After": "4"})])
    api.route("GET", "/v1/image/models",
              lambda r: next(replies, None) or httpx.Response(200, json=MODELS))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario():
        async with AsyncClient("http://fmr.test", transport=api.transport(), sleep=sleep,
                               username="alice", password="secret-pw") as fmr:
            return await fmr.image_models()

    assert run(scenario())[0].name == "whisper"
    assert sleeps == [4.0]


def test_rate_limit_error_after_the_retries():
    api = FakeAPI()
    api.route("GET", "/v1/image/models", lambda r: httpx.Response(
        429, json={"detail": "slow down"}, headers={"Retry-After": "1"}))

    async def sleep(seconds: float) -> None:
        pass

    async def scenario():
        async with AsyncClient("http://fmr.test", transport=api.transport(), sleep=sleep,
                               username="alice", password="secret-pw", max_retries=1) as fmr:
            await fmr.image_models()

    with pytest.raises(RateLimitError, match="slow down"):
        run(scenario())


def test_check_page_async():
    api = FakeAPI()
    api.route("POST", "/v1/audio/upload", {"file_id": "a"})
    api.route("POST", "/v1/image/upload", {"file_id": "i"})
    api.route("POST", "/v1/comparison/audio/image/task", {
        "task_id": "t", "state": "SUCCESS", "status": "completed", "result": RESULT})

    async def scenario():
        async with AsyncClient("http://fmr.test", transport=api.transport(),
                               username="alice", password="secret-pw") as fmr:
            return await fmr.check_page(b"ID3", b"\x89PNG")

    result = run(scenario())
    assert isinstance(result, ImageComparison)
    assert [e.type for e in result.errors] == ["substitution", "omission"]
