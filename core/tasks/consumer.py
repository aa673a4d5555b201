"""The task consumer: takes tasks off the Redis Stream and runs them to an end.

Delivery is at least once. A consumer holds a lease on each entry it works on,
renewed every ``lease_s / 3`` seconds (``XCLAIM ... JUSTID``, which does not count
as a delivery). If the consumer dies, renewals stop and any other consumer claims
the entry once it has been idle ``lease_s`` seconds (``XAUTOCLAIM``, every lapsed
entry it has free slots for, scanned at least every second), so a dead consumer's
tasks resume within about ``lease_s + 1`` seconds of its death where a consumer has
free slots. An attempt that hit an infrastructure error
(a model replica died) gives its lease back early, so the task is retried after
``retry_delay_s`` instead of a whole lease. After ``max_attempts`` deliveries the
task is failed instead of run again, so a task that kills its worker cannot loop
forever. Every task thus ends ``completed`` or ``failed``. Handlers must tolerate
being run twice for the same task.

An outage of the object store (``StorageUnavailable``: every task would fail alike
until it is back) is not the task's fault, so it does not use up an attempt: the
entry is released with its delivery count set back (``XCLAIM ... RETRYCOUNT``) and
tried again after a wait that starts at ``retry_delay_s`` and doubles up to
``outage_max_delay_s``. Only a task that still meets the outage ``outage_budget_s``
after it first did is failed ("the file store was unreachable for N s"). The first
outage's time and the count of outages are kept in the task's record
(``outage_since``, ``outages``), so the budget and the back-off hold whichever
consumer takes the next try, across restarts. The task's ``attempts`` counts every
start, these tries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from core.stores.objects import StorageUnavailable
from core.stores.tasks import Task, TaskStore

__all__ = ["ConsumerOptions", "TaskConsumer", "TaskFailed", "is_storage_outage", "outage_delay_s"]

logger = logging.getLogger(__name__)

#: Computes a task's result: a :mod:`core.results` model (JSON data from tests).
Handler = Callable[[Task], Awaitable[Any]]


class TaskFailed(Exception):
    """A task cannot succeed (bad input, model error); the message is shown to the user."""


class ConsumerOptions(BaseModel):
    """Tuning of a consumer; ``serve_app.args.WorkerConfig`` extends it for the
    pipeline deployment. Unknown fields are refused.

    Attributes:
        concurrency: Tasks one consumer runs at once.
        lease_s: Seconds an entry may go without a lease renewal before another
            consumer takes it over (the visibility timeout). Renewed every third of
            it, so a healthy task misses two renewals before it could be taken.
        max_attempts: Deliveries of one task before it is failed.
        task_timeout_s: Seconds one attempt may run before the task is failed.
        block_ms: How long one read waits for new entries, in milliseconds.
        retry_delay_s: Seconds before an attempt that hit a retryable error is
            run again (by any consumer); at most ``lease_s``. Also the first wait
            of a task that met an outage.
        outage_max_delay_s: Longest wait between two tries of a task that meets an
            outage (the wait doubles from ``retry_delay_s``); at most ``lease_s``.
        outage_budget_s: Seconds from a task's first outage after which a task that
            meets it again is failed instead of tried again.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    concurrency: int = Field(default=2, ge=1)
    lease_s: float = Field(default=15.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    task_timeout_s: float = Field(default=600.0, gt=0)
    block_ms: int = Field(default=1000, ge=1)
    retry_delay_s: float = Field(default=1.0, ge=0)
    outage_max_delay_s: float = Field(default=15.0, gt=0)
    outage_budget_s: float = Field(default=600.0, ge=0)


def is_storage_outage(error: BaseException) -> bool:
    """The object store is unreachable: every task would fail alike until it is back."""
    return isinstance(error, StorageUnavailable)


def outage_delay_s(outages: int, first_s: float, max_s: float) -> float:
    """Wait before the next try of a task that met its ``outages``-th outage, seconds.

    ``first_s`` doubled at each outage, capped at ``max_s`` (exponential back-off),
    of which up to half is random (jitter), so that the tasks held up by one outage do
    not all come back at the same instant. At least 50 ms, so that a zero
    ``first_s`` does not hammer a store that is down.
    """
    delay = min(max_s, max(first_s, 0.05) * 2 ** min(outages - 1, 32))
    return delay * random.uniform(0.5, 1.0)


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
        is_outage: Tells errors of an outage, tried again without using up an
            attempt, until ``outage_budget_s`` (default: ``StorageUnavailable``).
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
        is_outage: Callable[[BaseException], bool] = is_storage_outage,
        on_finished: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self._store = store
        self._redis: Redis = store.redis
        self.name = name
        self._handler = handler
        self.options = options or ConsumerOptions()
        self._is_retryable = is_retryable
        self._is_outage = is_outage
        self._on_finished = on_finished or (lambda kind, status, seconds: None)
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._last_reclaim = float("-inf")
        # Entries claimed from lapsed leases, not started yet: (entry, task, deliveries).
        self._claimed: deque[tuple[str, str, int]] = deque()

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
        """Next (entry id, task id, deliveries): a lapsed lease first, else a new entry.

        Every :meth:`scan_period_s` seconds the whole pending list is scanned and all
        lapsed entries this consumer has free slots for are claimed: a dead
        consumer's tasks resume together, not one per scan, and lapsed entries behind
        many healthy ones are found too.
        """
        if self._claimed:
            return self._claimed.popleft()
        now = time.monotonic()
        if now - self._last_reclaim >= self.scan_period_s:
            self._last_reclaim = now
            # The caller holds one slot already; count it too.
            free = max(1, self.options.concurrency - len(self._running))
            for entry_id, task_id in await self._claim_lapsed(free):
                deliveries = await self._deliveries(entry_id)
                self._claimed.append((entry_id, task_id, deliveries))
            if self._claimed:
                return self._claimed.popleft()
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

    @property
    def scan_period_s(self) -> float:
        """Seconds between two scans for lapsed leases: a third of the lease, at most
        1 s, so a lapsed entry waits at most that long for a consumer with a free slot."""
        return min(self.options.lease_s / 3, 1.0)

    async def _claim_lapsed(self, most: int) -> list[tuple[str, str]]:
        """Claim up to ``most`` entries idle for ``lease_s``; returns (entry, task) ids.

        ``XAUTOCLAIM`` looks at ``10 * count`` pending entries per call, oldest first,
        so the cursor is followed to the end: healthy long tasks at the head of the
        list must not hide lapsed ones behind them.
        """
        claimed: list[tuple[str, str]] = []
        cursor = "0-0"
        while len(claimed) < most:
            cursor, entries, _ = await self._redis.xautoclaim(
                self._store.stream,
                self._store.group,
                self.name,
                min_idle_time=int(self.options.lease_s * 1000),
                start_id=cursor,
                count=most - len(claimed),
            )
            claimed += [(entry_id, fields["task_id"]) for entry_id, fields in entries]
            if cursor == "0-0":
                break
        return claimed

    async def _deliveries(self, entry_id: str) -> int:
        pending = await self._redis.xpending_range(
            self._store.stream, self._store.group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _release(self, entry_id: str, delay_s: float, retrycount: int | None = None) -> None:
        """Give an entry's lease back so that it lapses ``delay_s`` (at most ``lease_s``)
        from now.

        ``XCLAIM ... IDLE`` backdates the entry's idle time; the next ``XAUTOCLAIM``
        scan of any consumer after the delay takes it (this one scans then too).
        ``retrycount`` sets the entry's delivery count, to which that claim adds one.
        """
        lease_ms = int(self.options.lease_s * 1000)
        delay_s = min(delay_s, self.options.lease_s)
        await self._set_idle(entry_id, max(0, lease_ms - int(delay_s * 1000)), retrycount)
        # Scan just after the delay (50 ms after, so the entry's idle time has passed).
        scan_at = time.monotonic() + delay_s + 0.05
        self._last_reclaim = min(self._last_reclaim, scan_at - self.scan_period_s)

    async def _renew_lease(self, entry_id: str) -> None:
        while True:
            await asyncio.sleep(self.options.lease_s / 3)
            with contextlib.suppress(Exception):
                await self._set_idle(entry_id, 0)

    async def _set_idle(self, entry_id: str, idle_ms: int, retrycount: int | None = None) -> None:
        """Keep the entry with this consumer and set its idle time (``XCLAIM ... IDLE
        ... JUSTID``, which does not count as a delivery) and, if given, its delivery
        count (``RETRYCOUNT``)."""
        await self._redis.xclaim(
            self._store.stream,
            self._store.group,
            self.name,
            min_idle_time=0,
            message_ids=[entry_id],
            idle=idle_ms,
            retrycount=retrycount,
            justid=True,
        )

    async def _outage(
        self, task_id: str, entry_id: str, deliveries: int, error: Exception
    ) -> str | None:
        """An attempt met an outage: release the entry for a later try that does not
        count as a delivery; or, once the task's first outage is ``outage_budget_s``
        old, return the message to fail the task with."""
        now = time.time()
        outages, since = await self._store.record_outage(task_id, now)
        down_s = now - since
        if down_s >= self.options.outage_budget_s:
            logger.error("Task %s gave up after %.1f s of outage: %r", task_id, down_s, error)
            return f"Task gave up: the file store was unreachable for {round(down_s, 1):g} s"
        options = self.options
        delay_s = outage_delay_s(outages, options.retry_delay_s, options.outage_max_delay_s)
        logger.warning("Task %s outage %d, again in %.1f s: %r", task_id, outages, delay_s, error)
        # The next claim adds one to the delivery count: back to ``deliveries``.
        with contextlib.suppress(Exception):
            await self._release(entry_id, delay_s, retrycount=deliveries - 1)
        return None

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
            try:
                result = await asyncio.wait_for(self._handler(task), self.options.task_timeout_s)
            finally:
                # Before any outcome is written: a renewal must not undo a release.
                lease.cancel()
        except TaskFailed as error:
            await finish(kind, error=str(error))
        except asyncio.TimeoutError:
            await finish(kind, error=f"Task timed out after {self.options.task_timeout_s:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            if self._is_outage(error):
                gave_up = await self._outage(task_id, entry_id, deliveries, error)
                if gave_up is not None:
                    await finish(kind, error=gave_up)
                return
            if self._is_retryable(error) and deliveries < self.options.max_attempts:
                # The entry stays pending; its lease lapses after retry_delay_s and a
                # consumer retries it (should the release fail, after lease_s).
                logger.warning("Task %s attempt %d will be retried: %r", task_id, deliveries, error)
                with contextlib.suppress(Exception):
                    await self._release(entry_id, self.options.retry_delay_s)
                return
            logger.exception("Task %s failed", task_id)
            await finish(kind, error=f"Internal error while processing the task: {error}")
        else:
            await finish(kind, result=result)


def _log_crash(job: asyncio.Task[None]) -> None:
    # e.g. Redis down while finishing: the entry stays pending and is retried after
    # its lease, but the cause must reach the logs.
    if not job.cancelled() and job.exception() is not None:
        logger.error("Task processing crashed", exc_info=job.exception())
