"""Unit tests for core.tasks.consumer.TaskConsumer against a real Redis, with fake handlers.

Leases are short (0.5 s) and reads block briefly, so redeliveries happen within about a
second. Every test ends by checking that each submitted task ended ``completed`` or
``failed`` and that nothing is left in the stream or its pending list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from core.stores.tasks import TaskKind, TaskStatus, TaskStore
from core.tasks.consumer import ConsumerOptions, TaskConsumer, TaskFailed

LEASE_S = 0.5
#: Long enough for a lapsed lease to be reclaimed several times over.
DEADLINE_S = 10.0


def options(**overrides) -> ConsumerOptions:
    values = {
        "concurrency": 2,
        "lease_s": LEASE_S,
        "max_attempts": 3,
        "task_timeout_s": 5.0,
        "block_ms": 50,
    }
    return ConsumerOptions(**(values | overrides))


@contextlib.asynccontextmanager
async def running(consumer: TaskConsumer) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``consumer`` in the background; cancel its loop and jobs on exit."""
    loop_task = asyncio.create_task(consumer.run())
    try:
        yield loop_task
    finally:
        loop_task.cancel()
        await consumer.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task


async def submit(store: TaskStore, count: int = 1, payload: dict | None = None) -> list[str]:
    return [
        str(await store.create(TaskKind.AUDIO_PROCESSING, "alice", payload or {"n": i}))
        for i in range(count)
    ]


async def wait_finished(store: TaskStore, task_ids: list[str], poll) -> None:
    async def all_finished() -> bool:
        return all([(await store.get(t)).finished for t in task_ids])

    await poll(all_finished, DEADLINE_S, what=f"{len(task_ids)} task(s) finished")


async def assert_drained(store: TaskStore, task_ids: list[str]) -> dict[TaskStatus, int]:
    """Every task is completed or failed and the queue holds nothing."""
    counts = {TaskStatus.COMPLETED: 0, TaskStatus.FAILED: 0}
    for task_id in task_ids:
        counts[(await store.get(task_id)).status] += 1
    assert sum(counts.values()) == len(task_ids)
    assert (await store.redis.xpending(store.stream, store.group))["pending"] == 0
    assert await store.redis.xlen(store.stream) == 0
    return counts


async def echo(task):
    return {"echo": task.payload}


def test_task_completes(connect, prefix, poll):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(store, "w1", echo, options())
            async with running(consumer):
                ids = await submit(store, payload={"audio_file": "x"})
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.COMPLETED
            assert task.attempts == 1
            assert task.error is None
            assert await store.result(ids[0]) == {"echo": {"audio_file": "x"}}
            assert consumer.in_flight == 0
            assert await assert_drained(store, ids) == {
                TaskStatus.COMPLETED: 1,
                TaskStatus.FAILED: 0,
            }

    asyncio.run(scenario())


def test_task_failed_is_reported_with_its_message(connect, prefix, poll):
    async def handler(task):
        raise TaskFailed("No such audio file available")

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            async with running(TaskConsumer(store, "w1", handler, options())):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert task.error == "No such audio file available"
            assert await store.result(ids[0]) is None
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_handler_exceeding_the_timeout_fails_the_task(connect, prefix, poll):
    cancelled = []

    async def handler(task):
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(task.task_id)
            raise
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(store, "w1", handler, options(task_timeout_s=0.2))
            async with running(consumer):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert "timed out" in task.error
            assert "0.2 s" in task.error
            assert task.attempts == 1
            assert [str(t) for t in cancelled] == ids
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_unexpected_error_that_is_not_retryable_fails_the_task(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.task_id)
        raise RuntimeError("boom")

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(
                store,
                "w1",
                handler,
                options(),
                is_retryable=lambda error: isinstance(error, ConnectionError),
            )
            async with running(consumer):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert task.error.startswith("Internal error")
            assert "boom" in task.error
            assert len(calls) == 1
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_retryable_error_is_retried_after_the_lease(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        if len(calls) == 1:
            raise ConnectionError("model replica died")
        return {"ok": True}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(
                store,
                "w1",
                handler,
                options(),
                is_retryable=lambda error: isinstance(error, ConnectionError),
            )
            async with running(consumer):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.COMPLETED
            assert task.attempts == 2
            assert calls == [1, 2]
            assert await store.result(ids[0]) == {"ok": True}
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_retryable_error_on_the_last_attempt_fails_the_task(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        raise ConnectionError("model replica died")

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(
                store, "w1", handler, options(max_attempts=2), is_retryable=lambda _: True
            )
            async with running(consumer):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert "Internal error" in task.error
            assert calls == [1, 2]
            await assert_drained(store, ids)

    asyncio.run(scenario())


async def _blocks_forever(task):
    await asyncio.Event().wait()
    return {}


async def _kill_while_running(store: TaskStore, name: str, task_id: str, attempt: int, poll):
    """Start a consumer whose handler hangs, wait for ``attempt`` to start, kill it."""
    doomed = TaskConsumer(store, name, _blocks_forever, options(max_attempts=2))
    async with running(doomed):

        async def started() -> bool:
            task = await store.get(task_id)
            return task.status is TaskStatus.IN_PROGRESS and task.attempts == attempt

        await poll(started, DEADLINE_S, what=f"attempt {attempt} started")
        assert doomed.in_flight == 1
    # Leaving ``running`` cancelled the loop and the job without finishing the task.
    task = await store.get(task_id)
    assert task.status is TaskStatus.IN_PROGRESS
    assert doomed.in_flight == 0
    pending = await store.redis.xpending(store.stream, store.group)
    assert pending["pending"] == 1


def test_task_of_a_dead_consumer_is_taken_over_after_the_lease(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        return {"by": "B"}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store)
            await _kill_while_running(store, "A", ids[0], 1, poll)

            async with running(TaskConsumer(store, "B", handler, options())):
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.COMPLETED
            assert task.attempts == 2
            assert calls == [2]
            assert await store.result(ids[0]) == {"by": "B"}
            await assert_drained(store, ids)

    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def _hanging_on(store: TaskStore, name: str, ids: list[str], poll) -> AsyncIterator[None]:
    """A consumer running every task of ``ids`` forever (renewing their leases); it
    dies, leaving them in progress, when the block exits."""
    consumer = TaskConsumer(store, name, _blocks_forever, options(concurrency=len(ids)))
    async with running(consumer):

        async def all_started() -> bool:
            return all([await _in_progress(store, i) for i in ids])

        await poll(all_started, DEADLINE_S, what=f"{name} running {len(ids)} task(s)")
        yield


def test_every_task_of_a_dead_consumer_is_taken_over_in_one_scan(connect, prefix, poll):
    """A dead consumer's six tasks are claimed by one XAUTOCLAIM, not one per scan
    (which made a lost node's tasks resume one every ``lease_s / 3``)."""
    started = []

    async def handler(task):
        started.append(task.task_id)
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store, 6)
            async with _hanging_on(store, "A", ids, poll):
                pass
            # A is dead. Start B once every lease has lapsed, so its first scan sees all.

            async def all_lapsed() -> bool:
                pending = await redis.xpending_range(
                    store.stream, store.group, min="-", max="+", count=10
                )
                return len(pending) == 6 and all(
                    p["time_since_delivered"] >= LEASE_S * 1000 for p in pending
                )

            await poll(all_lapsed, DEADLINE_S, what="A's leases lapsed")
            claims = []
            original = redis.xautoclaim

            async def counted(*args, **kwargs):
                answer = await original(*args, **kwargs)
                claims.append(len(answer[1]))
                return answer

            redis.xautoclaim = counted
            async with running(TaskConsumer(store, "B", handler, options(concurrency=6))):
                await wait_finished(store, ids, poll)
            assert [n for n in claims if n] == [6]
            assert sorted(map(str, started)) == sorted(ids)
            assert all(t.attempts == 2 for t in [await store.get(i) for i in ids])
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_a_lapsed_entry_behind_many_healthy_ones_is_found(connect, prefix, poll):
    """XAUTOCLAIM reads ``10 * count`` pending entries per call; 25 healthy long tasks
    at the head of the list must not hide a dead consumer's task behind them."""
    done = []

    async def handler(task):
        done.append(task.task_id)
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            healthy = await submit(store, 25)
            async with _hanging_on(store, "busy", healthy, poll):
                behind = await submit(store, 1)
                async with _hanging_on(store, "doomed", behind, poll):
                    pass
                async with running(TaskConsumer(store, "B", handler, options(concurrency=1))):
                    await wait_finished(store, behind, poll)
                assert [str(t) for t in done] == behind
                assert (await store.get(behind[0])).attempts == 2
                # The healthy tasks were never taken from their live consumer.
                assert all([(await store.get(i)).attempts == 1 for i in healthy])

    asyncio.run(scenario())


def test_retryable_error_is_retried_after_the_retry_delay_not_the_lease(connect, prefix, poll):
    """A model replica that died mid-call costs ``retry_delay_s``, not a whole lease."""
    failed_at = []
    started_at = []

    async def handler(task):
        started_at.append(time.monotonic())
        if len(started_at) == 1:
            failed_at.append(time.monotonic())
            raise ConnectionError("model replica died")
        return {"ok": True}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            slow_lease = options(lease_s=30.0, retry_delay_s=0.2)
            consumer = TaskConsumer(
                store,
                "w1",
                handler,
                slow_lease,
                is_retryable=lambda error: isinstance(error, ConnectionError),
            )
            async with running(consumer):
                ids = await submit(store)
                await wait_finished(store, ids, poll)  # DEADLINE_S is a third of the lease
            task = await store.get(ids[0])
            assert (task.status, task.attempts) == (TaskStatus.COMPLETED, 2)
            assert started_at[1] - failed_at[0] >= 0.2
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_task_that_kills_its_worker_every_time_is_given_up(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store)
            await _kill_while_running(store, "A", ids[0], 1, poll)
            await _kill_while_running(store, "B", ids[0], 2, poll)

            consumer = TaskConsumer(store, "C", handler, options(max_attempts=2))
            async with running(consumer):
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert "gave up after 2 attempts" in task.error
            assert task.attempts == 2
            assert calls == []
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_lease_is_renewed_while_a_long_task_runs(connect, prefix, poll):
    # The task runs for three lease periods while a second consumer keeps looking for
    # lapsed leases: it must not take the task over. A longer lease than the other
    # tests': under CI load a 0.5-s lease was seen to lapse between two renewals.
    lease_s = 3 * LEASE_S
    calls = []

    async def slow(task):
        calls.append("A")
        await asyncio.sleep(3 * lease_s)
        return {"by": "A"}

    async def thief(task):
        calls.append("B")
        return {"by": "B"}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store)
            a = TaskConsumer(store, "A", slow, options(lease_s=lease_s))
            async with running(a):
                await poll(lambda: _in_progress(store, ids[0]), DEADLINE_S, what="A started")
                async with running(TaskConsumer(store, "B", thief, options(lease_s=lease_s))):
                    await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.status is TaskStatus.COMPLETED
            assert task.attempts == 1
            assert calls == ["A"]
            assert await store.result(ids[0]) == {"by": "A"}
            await assert_drained(store, ids)

    asyncio.run(scenario())


async def _in_progress(store: TaskStore, task_id: str) -> bool:
    return (await store.get(task_id)).status is TaskStatus.IN_PROGRESS


@pytest.mark.parametrize("concurrency", [1, 2])
def test_concurrency_limits_simultaneous_tasks(connect, prefix, poll, concurrency):
    running_now = 0
    most = 0

    async def handler(task):
        nonlocal running_now, most
        running_now += 1
        most = max(most, running_now)
        try:
            await asyncio.sleep(0.15)
        finally:
            running_now -= 1
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            ids = await submit(store, 4)
            consumer = TaskConsumer(store, "w1", handler, options(concurrency=concurrency))
            async with running(consumer):
                await wait_finished(store, ids, poll)
            counts = await assert_drained(store, ids)
            assert counts[TaskStatus.COMPLETED] == 4

    asyncio.run(scenario())
    assert most == concurrency


def test_duplicate_delivery_of_a_finished_task_is_discarded(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task.task_id)
        return {"n": len(calls)}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            async with running(TaskConsumer(store, "w1", handler, options())):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
                before = await store.get(ids[0])
                # A second entry for the same task (e.g. a producer retry).
                await redis.xadd(store.stream, {"task_id": ids[0]})

                async def drained() -> bool:
                    pending = await redis.xpending(store.stream, store.group)
                    return await redis.xlen(store.stream) == 0 and pending["pending"] == 0

                await poll(drained, DEADLINE_S, what="duplicate entry discarded")
            assert len(calls) == 1
            assert await store.get(ids[0]) == before
            assert await store.result(ids[0]) == {"n": 1}
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_entry_of_an_unknown_task_is_discarded(connect, prefix, poll):
    calls = []

    async def handler(task):
        calls.append(task)
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            await redis.xadd(store.stream, {"task_id": "00000000-0000-0000-0000-000000000000"})
            async with running(TaskConsumer(store, "w1", handler, options())):

                async def drained() -> bool:
                    return await redis.xlen(store.stream) == 0

                await poll(drained, DEADLINE_S, what="unknown task's entry discarded")
            assert calls == []
            assert (await redis.xpending(store.stream, store.group))["pending"] == 0

    asyncio.run(scenario())


def test_mixed_outcomes_are_all_accounted_for(connect, prefix, poll):
    async def handler(task):
        n = task.payload["n"]
        if n % 3 == 1:
            raise TaskFailed(f"bad {n}")
        if n % 3 == 2:
            raise KeyError(n)
        return {"n": n}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store, 9)
            consumers = [TaskConsumer(store, f"w{i}", handler, options()) for i in range(2)]
            async with running(consumers[0]), running(consumers[1]):
                await wait_finished(store, ids, poll)
            counts = await assert_drained(store, ids)
            assert counts == {TaskStatus.COMPLETED: 3, TaskStatus.FAILED: 6}
            for task_id in ids:
                task = await store.get(task_id)
                assert task.attempts == 1
                if task.status is TaskStatus.COMPLETED:
                    assert await store.result(task_id) == {"n": task.payload["n"]}

    asyncio.run(scenario())


def test_stop_takes_no_new_task(connect, prefix, poll):
    # stop() while the loop waits in XREADGROUP, then a task arrives: the stopping
    # consumer must not run it; another consumer takes it over after the lease.
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        return {}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            stopping = TaskConsumer(store, "A", handler, options(block_ms=2000))
            loop_task = asyncio.create_task(stopping.run())
            try:

                async def blocked_in_read() -> bool:
                    clients = await redis.client_list()
                    return any(c["cmd"] == "xreadgroup" and "b" in c["flags"] for c in clients)

                await poll(blocked_in_read, DEADLINE_S, what="consumer waiting for entries")
                await stopping.stop()
                ids = await submit(store)
                await poll(lambda: _done(loop_task), DEADLINE_S, what="consumer loop ended")
                assert calls == []
                assert stopping.in_flight == 0
                assert (await store.get(ids[0])).status is TaskStatus.PENDING
            finally:
                loop_task.cancel()
                await stopping.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop_task

            async with running(TaskConsumer(store, "B", handler, options())):
                await wait_finished(store, ids, poll)
            assert calls == [1]
            await assert_drained(store, ids)

    asyncio.run(scenario())


async def _done(task: asyncio.Task) -> bool:
    return task.done()
