"""core.tasks.consumer during an outage of the object store (``StorageUnavailable``):
tasks are tried again without using up their attempts, with a growing wait, until the
store is back or the outage budget is spent; nothing is lost.

Fake handlers on a real Redis, and one scenario on a real SeaweedFS server that is
stopped while tasks need its files, then started again.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from core.stores.files import FileStore
from core.stores.objects import StorageUnavailable
from core.stores.tasks import TaskKind, TaskStatus, TaskStore
from core.tasks.consumer import ConsumerOptions, TaskConsumer, outage_delay_s
from tests.core.tasks.test_consumer import assert_drained, running, submit, wait_finished


def options(**overrides) -> ConsumerOptions:
    """Short leases and waits: an outage retry takes tens of milliseconds."""
    values = {
        "concurrency": 2,
        "lease_s": 0.5,
        "max_attempts": 2,
        "task_timeout_s": 5.0,
        "block_ms": 50,
        "retry_delay_s": 0.02,
        "outage_max_delay_s": 0.1,
    }
    return ConsumerOptions(**(values | overrides))


async def record(store: TaskStore, task_id: str) -> dict[str, str]:
    return await store.redis.hgetall(f"{store.prefix}task:{task_id}")


def test_outages_do_not_use_up_attempts(connect, prefix, poll):
    """Five outages, then the store is back: the task completes with max_attempts=2."""
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        if len(calls) <= 5:
            raise StorageUnavailable("object store unreachable: connection refused")
        return {"ok": True}

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            async with running(TaskConsumer(store, "w1", handler, options())):
                ids = await submit(store)
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert (task.status, task.error) == (TaskStatus.COMPLETED, None)
            assert calls == [1, 2, 3, 4, 5, 6]  # ``attempts`` counts every start
            assert (await record(store, ids[0]))["outages"] == "5"
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_an_outage_longer_than_the_budget_fails_the_task(connect, prefix, poll):
    async def handler(task):
        raise StorageUnavailable("object store unreachable: connection refused")

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            consumer = TaskConsumer(store, "w1", handler, options(outage_budget_s=0.3))
            async with running(consumer):
                ids = await submit(store)
                began = time.monotonic()
                await wait_finished(store, ids, poll)
            took = time.monotonic() - began
            task = await store.get(ids[0])
            assert task.status is TaskStatus.FAILED
            assert task.error.startswith("Task gave up: the file store was unreachable for ")
            assert 0.3 <= float(task.error.split(" for ")[1].removesuffix(" s")) < took + 0.1
            assert task.attempts > 2  # past max_attempts: the outage used none of them
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_the_budget_runs_from_the_first_outage_in_the_task_record(connect, prefix, poll):
    """Any consumer (a restarted one too) reads when the task first met the outage."""

    async def handler(task):
        raise StorageUnavailable("object store unreachable")

    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            ids = await submit(store)
            first = time.time() - 1000  # as if another consumer saw it 1000 s ago
            await redis.hset(f"{prefix}task:{ids[0]}", "outage_since", first)
            async with running(TaskConsumer(store, "w2", handler, options())):
                await wait_finished(store, ids, poll)
            task = await store.get(ids[0])
            assert task.attempts == 1
            assert task.error.startswith("Task gave up: the file store was unreachable for 100")
            await assert_drained(store, ids)

    asyncio.run(scenario())


def test_other_retryable_errors_still_use_up_attempts(connect, prefix, poll):
    """Three outages (free), then a replica dies twice: failed after max_attempts=2."""
    calls = []

    async def handler(task):
        calls.append(task.attempts)
        if len(calls) <= 3:
            raise StorageUnavailable("object store unreachable")
        raise ConnectionError("model replica died")

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
            assert task.error == "Internal error while processing the task: model replica died"
            assert calls == [1, 2, 3, 4, 5]
            await assert_drained(store, ids)

    asyncio.run(scenario())


@pytest.mark.parametrize("outages", [1, 2, 3, 5, 10, 100])
def test_the_wait_doubles_up_to_its_cap_with_jitter(outages):
    full = min(30.0, 1.0 * 2 ** (outages - 1))
    waits = [outage_delay_s(outages, first_s=1.0, max_s=30.0) for _ in range(50)]
    assert all(full / 2 <= wait <= full for wait in waits)
    assert len(set(waits)) > 1
    assert outage_delay_s(1, first_s=0.0, max_s=30.0) >= 0.025  # never a busy loop


def test_tasks_wait_out_a_stopped_object_store_and_complete(
    connect, prefix, poll, seaweed, tmp_path
):
    """SeaweedFS stopped while a node without working copies needs the tasks' files:
    every task waits (max_attempts=1) and completes once the store is back."""
    objects = seaweed.store(prefix.replace(":", "/"), connect_timeout_s=1, max_attempts=1)
    contents = {}

    async def put_files(redis) -> None:
        node_a = FileStore(redis, prefix, tmp_path / "a", objects)
        for n in range(3):
            file_id = uuid.uuid4()
            contents[str(file_id)] = f"recording {n}".encode()
            node_a.path("audio", file_id).write_bytes(contents[str(file_id)])
        await node_a.register("audio", "alice", [uuid.UUID(f) for f in contents])

    async def scenario():
        async with connect() as redis:
            await put_files(redis)
        seaweed.stop()
        async with connect() as redis:
            node_b = FileStore(redis, prefix, tmp_path / "b", objects)

            async def handler(task):
                path = await node_b.lookup("audio", "alice", uuid.UUID(task.payload["file"]))
                return {"bytes": path.read_bytes().decode()}

            store = TaskStore(redis, prefix)
            # A slot per task: with fewer, the oldest lapsed entries are claimed first
            # and the others wait for the outage to end without a try (not lost either).
            tuning = options(max_attempts=1, concurrency=len(contents))
            consumer = TaskConsumer(store, "w1", handler, tuning)
            async with running(consumer):
                ids = [
                    str(await store.create(TaskKind.AUDIO_PROCESSING, "alice", {"file": file_id}))
                    for file_id in contents
                ]

                async def all_met_the_outage_twice() -> bool:
                    return all([int((await record(store, t)).get("outages", 0)) >= 2 for t in ids])

                await poll(all_met_the_outage_twice, 20, what="every task met the outage twice")
                assert not any([(await store.get(t)).finished for t in ids])
                await asyncio.to_thread(seaweed.start)
                await wait_finished(store, ids, poll)
            for task_id, file_id in zip(ids, contents, strict=True):
                assert (await store.get(task_id)).status is TaskStatus.COMPLETED
                assert await store.result(task_id) == {"bytes": contents[file_id].decode()}
            await assert_drained(store, ids)

    try:
        asyncio.run(scenario())
    finally:
        seaweed.start()  # a no-op if it runs
