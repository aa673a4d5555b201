"""The task consumer: takes tasks off the Redis Stream and runs them to an end.

Delivery is at least once. A consumer holds a lease on each entry it works on,
renewed every ``lease_s / 3`` seconds (``XCLAIM ... JUSTID``, which does not count
as a delivery). If the consumer dies, renewals stop and any other consumer claims
the entry once it has been idle ``lease_s`` seconds (``XAUTOCLAIM``). After
``max_attempts`` deliveries the task is failed instead of run again, so a task
that kills its worker cannot loop forever. Every task thus ends ``completed`` or
``failed``. Handlers must tolerate being run twice for the same task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from core.tasks import Task, TaskStore

__all__ = ["ConsumerOptions", "TaskConsumer", "TaskFailed"]

logger = logging.getLogger(__name__)

Handler = Callable[[Task], Awaitable[dict[str, Any]]]


class TaskFailed(Exception):
    """A task cannot succeed (bad input, model error); the message is shown to the user."""


@dataclass(frozen=True)
class ConsumerOptions:
    """Tuning of a consumer.

    Attributes:
        concurrency: Tasks one consumer runs at once.
        lease_s: Seconds an entry may go without a lease renewal before another
            consumer takes it over (the visibility timeout).
        max_attempts: Deliveries of one task before it is failed.
        task_timeout_s: Seconds one attempt may run before the task is failed.
        block_ms: How long one read waits for new entries, in milliseconds.
    """

    concurrency: int = 2
    lease_s: float = 30.0
    max_attempts: int = 3
    task_timeout_s: float = 600.0
    block_ms: int = 1000


class TaskConsumer:
    """Runs ``handler`` for each queued task.

    Args:
        store: The task store (owns the stream and group).
        name: This consumer's unique name in the group (e.g. the replica id).
        handler: Coroutine computing a task's result; raises ``TaskFailed`` for
            user-facing failures.
        options: Tuning.
        is_retryable: Tells errors worth another delivery (a model replica died)
            from errors that would fail again (anything else).
        on_finished: Called with ``(task kind, "completed" | "failed", seconds of
            the last attempt)`` when a task reaches a terminal status (metrics).
    """

    def __init__(
        self,
        store: TaskStore,
        name: str,
        handler: Handler,
        options: ConsumerOptions | None = None,
        is_retryable: Callable[[BaseException], bool] = lambda _: False,
        on_finished: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._store = store
        self._redis: Redis = store.redis
        self.name = name
        self._handler = handler
        self.options = options or ConsumerOptions()
        self._is_retryable = is_retryable
        self._on_finished = on_finished or (lambda kind, status, seconds: None)
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._last_reclaim = 0.0

    @property
    def in_flight(self) -> int:
        """Tasks this consumer is running now."""
        return len(self._running)

    async def run(self) -> None:
        """Consume until ``stop()``; survives Redis outages by retrying reads."""
        await self._store.ensure_group()
        slots = asyncio.Semaphore(self.options.concurrency)
        while not self._stopping.is_set():
            await slots.acquire()
            try:
                entry = await self._next_entry()
            except asyncio.CancelledError:
                slots.release()
                raise
            except Exception:
                slots.release()
                logger.exception("Reading the task stream failed; retrying in 1 s")
                await asyncio.sleep(1)
                continue
            if entry is None:
                slots.release()
                continue
            if self._stopping.is_set():
                # Read while stop() ran: leave the entry pending; its lease lapses
                # and another consumer takes it over.
                slots.release()
                break
            job = asyncio.create_task(self._process(*entry))
            self._running.add(job)
            job.add_done_callback(self._running.discard)
            job.add_done_callback(lambda _: slots.release())
            job.add_done_callback(_log_crash)

    async def stop(self) -> None:
        """Stop taking tasks and cancel running ones (their leases lapse, others resume)."""
        self._stopping.set()
        for job in list(self._running):
            job.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _next_entry(self) -> tuple[str, str, int] | None:
        """Next (entry id, task id, deliveries): a lapsed lease first, else a new entry."""
        now = time.monotonic()
        if now - self._last_reclaim >= self.options.lease_s / 3:
            self._last_reclaim = now
            _, claimed, _ = await self._redis.xautoclaim(
                self._store.stream,
                self._store.group,
                self.name,
                min_idle_time=int(self.options.lease_s * 1000),
                count=1,
            )
            if claimed:
                entry_id, fields = claimed[0]
                return entry_id, fields["task_id"], await self._deliveries(entry_id)
        response = await self._redis.xreadgroup(
            self._store.group,
            self.name,
            {self._store.stream: ">"},
            count=1,
            block=self.options.block_ms,
        )
        if not response:
            return None
        entry_id, fields = response[0][1][0]
        return entry_id, fields["task_id"], 1

    async def _deliveries(self, entry_id: str) -> int:
        pending = await self._redis.xpending_range(
            self._store.stream, self._store.group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _renew_lease(self, entry_id: str) -> None:
        while True:
            await asyncio.sleep(self.options.lease_s / 3)
            with contextlib.suppress(Exception):
                await self._redis.xclaim(
                    self._store.stream,
                    self._store.group,
                    self.name,
                    min_idle_time=0,
                    message_ids=[entry_id],
                    justid=True,
                )

    async def _process(self, entry_id: str, task_id: str, deliveries: int) -> None:
        started = time.monotonic()

        async def finish(kind: str, result: Any = None, error: str | None = None) -> None:
            await self._store.finish(task_id, entry_id, result=result, error=error)
            status = "failed" if error is not None else "completed"
            self._on_finished(kind, status, time.monotonic() - started)

        if deliveries > self.options.max_attempts:
            await finish(
                "unknown",
                error=(
                    f"Task gave up after {self.options.max_attempts} attempts: "
                    "the worker running it stopped each time"
                ),
            )
            return
        task = await self._store.start(task_id)
        if task is None:
            await self._store.discard_entry(entry_id)
            return
        kind = task.kind.value
        lease = asyncio.create_task(self._renew_lease(entry_id))
        try:
            result = await asyncio.wait_for(self._handler(task), self.options.task_timeout_s)
        except TaskFailed as error:
            await finish(kind, error=str(error))
        except asyncio.TimeoutError:
            await finish(kind, error=f"Task timed out after {self.options.task_timeout_s:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self._is_retryable(error) and deliveries < self.options.max_attempts:
                # Leave the entry pending: its lease lapses and a consumer retries it.
                logger.warning("Task %s attempt %d will be retried: %r", task_id, deliveries, error)
                return
            logger.exception("Task %s failed", task_id)
            await finish(kind, error=f"Internal error while processing the task: {error}")
        else:
            await finish(kind, result=result)
        finally:
            lease.cancel()


def _log_crash(job: asyncio.Task[None]) -> None:
    # e.g. Redis down while finishing: the entry stays pending and is retried after
    # its lease, but the cause must reach the logs.
    if not job.cancelled() and job.exception() is not None:
        logger.error("Task processing crashed", exc_info=job.exception())
