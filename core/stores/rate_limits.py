"""Per-identity request rate limits kept in Redis, so they hold across ingress replicas.

A thin layer over the `limits <https://limits.readthedocs.io>`_ package: each
endpoint *group* (``auth``, ``upload``, ``task``, ``read``) has one or more limit
strings in the ``limits`` notation (``"600/minute"``, ``"20/second;600/minute"``),
and :meth:`RateLimiter.hit` counts one request of an identity (``"user:alice"``,
``"ip:203.0.113.7"``) against them.

Strategy: ``limits``' sliding-window counter. It keeps two counters per identity and
limit (O(1) memory, unlike the moving window's one list entry per request, which
for a 6000/minute limit is 6000 entries per active user), and all window arithmetic
runs in Redis Lua scripts on Redis' clock, so replicas with skewed clocks agree.
It approximates a true sliding window by weighting the previous window's count.

Failure policy: **fail open**. If Redis cannot be reached (or does not answer
within :data:`REDIS_TIMEOUT_S`), the request is allowed and a warning is logged (at
most once per :data:`FAILURE_LOG_INTERVAL_S`): the limiter protects the service
from abusive clients, and turning a Redis outage into refusing every request would
be a bigger outage than the one it prevents. Everything else the API does needs
Redis too, so the window is short in practice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

__all__ = [
    "AUTH",
    "FAILURE_LOG_INTERVAL_S",
    "GROUPS",
    "READ",
    "REDIS_TIMEOUT_S",
    "TASK",
    "UPLOAD",
    "Decision",
    "RateLimiter",
    "parse_limits",
]

logger = logging.getLogger(__name__)

#: Anonymous account endpoints (register, log in, refresh), keyed by client address.
AUTH = "auth"
#: File uploads (audio and image), keyed by user.
UPLOAD = "upload"
#: Task creation (processing, extraction, comparison), keyed by user.
TASK = "task"
#: Everything else that is limited: status polls, results, downloads, model lists.
READ = "read"
GROUPS = (AUTH, UPLOAD, TASK, READ)

#: Longest wait for the limiter's Redis round trips of one request, in seconds. A
#: Redis on the same network answers in about a millisecond; past this the request
#: is let through (fail open) rather than held up by a hung Redis.
REDIS_TIMEOUT_S = 0.5
#: Shortest interval between two "rate limiting is not enforced" warnings, in seconds.
FAILURE_LOG_INTERVAL_S = 60.0


def parse_limits(value: str) -> list[RateLimitItem]:
    """Parse limit strings such as ``"600/minute"`` or ``"20/second;600/minute"``.

    Raises:
        ValueError: the string is not in the ``limits`` notation, has no limit, or
            allows no request at all (to turn limiting off, use
            ``Settings.rate_limit_enabled``).
    """
    items = parse_many(value)
    if not items:
        raise ValueError(f"no rate limit in {value!r}")
    if any(item.amount < 1 for item in items):
        raise ValueError(f"a rate limit must allow at least 1 request: {value!r}")
    return items


@dataclass(frozen=True)
class Decision:
    """The outcome of counting one request.

    Attributes:
        allowed: Whether the request may proceed.
        retry_after_s: When refused, whole seconds until a retry can succeed (at
            least 1, rounded up; RFC 9110 section 10.2.3 ``Retry-After``); 0 when allowed.
        limit: Requests allowed per window by the limit that decided (for several
            limits: the refusing one, else the one with the fewest left).
        remaining: Requests left in that window after this one.
        reset: Unix time, in seconds, at which that limit has room again.
        enforced: False when the limit could not be checked (Redis unreachable) and
            the request was let through; see the module's failure policy.
    """

    allowed: bool
    retry_after_s: int
    limit: int
    remaining: int
    reset: float
    enforced: bool = True


class RateLimiter:
    """Counts requests per endpoint group and identity in Redis.

    Args:
        redis: The asyncio client whose connection pool the limiter borrows (its
            ``decode_responses`` setting does not matter).
        key_prefix: Prefix of the service's Redis keys (``Settings.key_prefix``); the
            limiter's keys start with ``{key_prefix}ratelimit:``.
        limits: Group name -> limit string (see :func:`parse_limits`).
        timeout_s: Bound on one :meth:`hit`'s Redis work, in seconds.
    """

    def __init__(
        self,
        redis: Redis,
        key_prefix: str,
        limits: Mapping[str, str],
        timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        self._items = {group: parse_limits(value) for group, value in limits.items()}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=f"{key_prefix}ratelimit",
            wrap_exceptions=True,
            connection_pool=redis.connection_pool,
        )
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._timeout_s = timeout_s
        self._last_failure_log: float | None = None

    @property
    def groups(self) -> frozenset[str]:
        """The groups this limiter has limits for."""
        return frozenset(self._items)

    async def hit(self, group: str, identity: str) -> Decision:
        """Count one request of ``identity`` in ``group``.

        Args:
            group: One of the configured groups.
            identity: Whose budget it is, e.g. ``"user:alice"`` or ``"ip:203.0.113.7"``.

        Raises:
            KeyError: ``group`` has no configured limit.
        """
        items = self._items[group]
        try:
            decision = await asyncio.wait_for(self._hit(items, group, identity), self._timeout_s)
        except (StorageError, OSError, asyncio.TimeoutError, TimeoutError) as error:
            self._log_failure(error)
            item = items[0]
            return Decision(
                allowed=True,
                retry_after_s=0,
                limit=item.amount,
                remaining=item.amount,
                reset=time.time() + item.get_expiry(),
                enforced=False,
            )
        if self._last_failure_log is not None:
            logger.info("Rate limiting is enforced again: Redis answers")
            self._last_failure_log = None
        return decision

    async def clear(self, group: str, identity: str) -> None:
        """Forget the requests counted for ``identity`` in ``group`` (tests, support)."""
        for item in self._items[group]:
            await self._strategy.clear(item, group, identity)

    async def _hit(self, items: list[RateLimitItem], group: str, identity: str) -> Decision:
        decisions = []
        for item in items:
            allowed = await self._strategy.hit(item, group, identity)
            stats = await self._strategy.get_window_stats(item, group, identity)
            now = time.time()
            decision = Decision(
                allowed=allowed,
                retry_after_s=0 if allowed else max(1, math.ceil(stats.reset_time - now)),
                limit=item.amount,
                remaining=max(0, stats.remaining),
                reset=max(stats.reset_time, now),
            )
            if not allowed:
                # Limits before this one have counted the request; later ones not.
                return decision
            decisions.append(decision)
        # The fewest left; on a tie the one refilling last, which is the one binding.
        return min(decisions, key=lambda d: (d.remaining, -d.reset))

    def _log_failure(self, error: BaseException) -> None:
        now = time.monotonic()
        last = self._last_failure_log
        if last is None or now - last >= FAILURE_LOG_INTERVAL_S:
            logger.warning(
                "Rate limiting is NOT enforced (failing open): Redis did not answer "
                "within %.2f s: %r",
                self._timeout_s,
                error,
            )
            self._last_failure_log = now
