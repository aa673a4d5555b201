"""Unit tests for core.stores.rate_limits.RateLimiter against a real Redis, and its settings."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from api.settings import Settings
from core.stores.rate_limits import RateLimiter, parse_limits
from tests.conftest import free_port


def test_allows_up_to_the_limit_then_refuses_with_retry_after(connect, prefix):
    async def scenario():
        async with connect() as redis:
            limiter = RateLimiter(redis, prefix, {"upload": "3/minute"})
            decisions = [await limiter.hit("upload", "user:alice") for _ in range(4)]

        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert all(d.limit == 3 and d.enforced for d in decisions)
        assert [d.retry_after_s for d in decisions[:3]] == [0, 0, 0]
        refused = decisions[3]
        # Whole seconds, never 0, never more than the 60 s window.
        assert 1 <= refused.retry_after_s <= 60
        assert time.time() < refused.reset <= time.time() + 60

    asyncio.run(scenario())


def test_identities_and_groups_have_separate_budgets(connect, prefix):
    async def scenario():
        async with connect() as redis:
            limiter = RateLimiter(redis, prefix, {"upload": "2/minute", "read": "2/minute"})
            for _ in range(2):
                assert (await limiter.hit("upload", "user:alice")).allowed
            assert not (await limiter.hit("upload", "user:alice")).allowed
            assert (await limiter.hit("upload", "user:bob")).allowed
            assert (await limiter.hit("read", "user:alice")).allowed

    asyncio.run(scenario())


def test_limiters_on_one_prefix_share_counts_like_replicas(connect, prefix):
    async def scenario():
        async with connect() as redis_a, connect() as redis_b:
            replica_a = RateLimiter(redis_a, prefix, {"task": "3/minute"})
            replica_b = RateLimiter(redis_b, prefix, {"task": "3/minute"})
            other_service = RateLimiter(redis_b, f"{prefix}other:", {"task": "3/minute"})
            assert (await replica_a.hit("task", "user:alice")).allowed
            assert (await replica_a.hit("task", "user:alice")).allowed
            assert (await replica_b.hit("task", "user:alice")).remaining == 0
            assert not (await replica_a.hit("task", "user:alice")).allowed
            assert not (await replica_b.hit("task", "user:alice")).allowed
            assert (await other_service.hit("task", "user:alice")).allowed

    asyncio.run(scenario())


def test_counters_live_under_the_service_prefix_and_expire(connect, prefix):
    async def scenario():
        async with connect() as redis:
            limiter = RateLimiter(redis, prefix, {"read": "10/minute"})
            await limiter.hit("read", "user:alice")
            keys = await redis.keys(f"{prefix}ratelimit:*")
            assert keys, await redis.keys(f"{prefix}*")
            for key in keys:
                # limits' sliding window keeps a counter at most two windows.
                assert 0 < await redis.pttl(key) <= 120_000

    asyncio.run(scenario())


def test_retry_after_is_long_enough_and_not_much_longer(connect, prefix, poll):
    async def scenario():
        async with connect() as redis:
            limiter = RateLimiter(redis, prefix, {"auth": "1/second"})
            assert (await limiter.hit("auth", "ip:192.0.2.1")).allowed
            refused = await limiter.hit("auth", "ip:192.0.2.1")
            assert not refused.allowed and refused.retry_after_s == 1
            refused_at = time.monotonic()
            await poll(
                lambda: _allowed(limiter, "auth", "ip:192.0.2.1"),
                timeout_s=5,
                interval_s=0.05,
                what="the budget refilled",
            )
            waited = time.monotonic() - refused_at
            assert waited <= refused.retry_after_s + 0.5

    asyncio.run(scenario())


async def _allowed(limiter: RateLimiter, group: str, identity: str) -> bool:
    return (await limiter.hit(group, identity)).allowed


def test_several_limits_in_one_group_the_strictest_decides(connect, prefix, poll):
    async def scenario():
        async with connect() as redis:
            limiter = RateLimiter(redis, prefix, {"upload": "2/second;3/minute"})
            first, second, third = [await limiter.hit("upload", "user:a") for _ in range(3)]
            assert first.allowed and second.allowed and not third.allowed
            assert third.limit == 2 and third.retry_after_s == 1
            # Refused hits are not counted, so the minute's budget has 1 left.
            allowed = await poll(
                lambda: _decision_if(limiter, lambda d: d.allowed),
                timeout_s=5,
                interval_s=0.05,
                what="per-second budget refilled",
            )
            assert allowed.limit == 3 and allowed.remaining == 0
            # From now on the per-minute limit refuses whatever the per-second one allows.
            last = await poll(
                lambda: _decision_if(limiter, lambda d: d.limit == 3),
                timeout_s=5,
                interval_s=0.05,
                what="a decision of the per-minute limit",
            )
            assert not last.allowed and last.retry_after_s > 1

    asyncio.run(scenario())


async def _decision_if(limiter: RateLimiter, wanted) -> object:
    decision = await limiter.hit("upload", "user:a")
    return decision if wanted(decision) else None


def test_unreachable_redis_fails_open_with_a_warning(caplog):
    async def scenario():
        redis = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        limiter = RateLimiter(redis, "fmr-test:", {"upload": "1/minute"})
        with caplog.at_level(logging.WARNING, logger="core.stores.rate_limits"):
            decisions = [await limiter.hit("upload", "user:alice") for _ in range(3)]
        await redis.aclose()
        return decisions

    decisions = asyncio.run(scenario())
    assert all(d.allowed and not d.enforced for d in decisions)
    warnings = [r for r in caplog.records if "NOT enforced" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per request


def test_hung_redis_fails_open_within_the_timeout():
    async def scenario():
        connections = []

        async def never_answer(reader, writer):
            connections.append(writer)  # accept, read nothing, answer nothing

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        redis = Redis.from_url(f"redis://127.0.0.1:{port}/0")
        limiter = RateLimiter(redis, "fmr-test:", {"read": "1/minute"}, timeout_s=0.2)
        started = time.monotonic()
        decision = await limiter.hit("read", "user:alice")
        elapsed = time.monotonic() - started
        for writer in connections:
            writer.close()
        server.close()
        await redis.aclose()
        return decision, elapsed

    decision, elapsed = asyncio.run(scenario())
    assert decision.allowed and not decision.enforced
    assert elapsed < 1.0


@pytest.mark.parametrize(
    "value", ["", "lots", "10/fortnight", "-1/minute", "abc/minute", "0/minute"]
)
def test_bad_limit_strings_are_refused(value):
    with pytest.raises(ValueError):
        parse_limits(value)
    with pytest.raises(ValidationError):
        Settings(rate_limit_upload=value)


def test_limit_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FMR_RATE_LIMIT_UPLOAD", "20/second;600/minute")
    monkeypatch.setenv("FMR_RATE_LIMIT_ENABLED", "false")
    monkeypatch.setenv("FMR_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.7 ,fd00::1/64")
    settings = Settings()
    assert [item.amount for item in parse_limits(settings.rate_limit_upload)] == [20, 600]
    assert settings.rate_limit_enabled is False
    # Normalised networks; the host bits of fd00::1/64 dropped.
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.168.1.7/32", "fd00::/64"]


def test_defaults_trust_no_proxy_and_limit_every_group():
    settings = Settings()
    assert settings.trusted_proxies == []
    assert settings.rate_limit_enabled is True
    per_minute = {
        name: parse_limits(getattr(settings, f"rate_limit_{name}"))[0].amount
        for name in ("auth", "upload", "task", "read")
    }
    # Uploads and task creation are stricter than status polls.
    assert per_minute["upload"] < per_minute["read"] and per_minute["task"] < per_minute["read"]


@pytest.mark.parametrize("value", ["*", "proxy.example", "10.0.0.0/33", "testclient"])
def test_trusted_proxies_must_be_addresses_or_networks(value):
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=[value])
