"""The one way the service opens Redis: an asyncio client with timeouts and retries.

Without a socket timeout a half-open connection (Redis host gone, no RST) blocks a
request or the task consumer forever; without retries one dropped connection fails
a request that a reconnect would have served. Both come from redis-py itself
(``socket_timeout``, ``retry=Retry(...)``): retried are connection errors and
timeouts only, with exponential back-off and jitter (redis-py's
``ExponentialWithJitterBackoff``), so a Redis that is really down is reported after
about a second (the API answers 503 with ``Retry-After``, ``api.error_handlers``).
Commands can be sent twice when a reply is lost; the stores are written for that
(task delivery is at least once, ``core.tasks.consumer``).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["connect"]


def connect(
    url: str,
    *,
    socket_timeout_s: float = 5.0,
    connect_timeout_s: float = 2.0,
    retries: int = 3,
    health_check_interval_s: int = 30,
) -> Redis:
    """An asyncio Redis client (``decode_responses=True``) for ``url``.

    Args:
        url: ``redis://`` or ``rediss://`` URL.
        socket_timeout_s: Longest wait for one reply, seconds. Must exceed the longest
            blocking command (the consumer's ``XREADGROUP BLOCK``, 1 s by default).
        connect_timeout_s: Longest wait for a connection, seconds.
        retries: Retries of a command after a connection error or timeout.
        health_check_interval_s: A connection idle this long is checked with ``PING``
            before use, seconds.
    """
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=connect_timeout_s,
        retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=health_check_interval_s,
    )
