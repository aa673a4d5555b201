"""Unit tests for core.stores.tasks.TaskStore against a real Redis."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from core.stores.tasks import TaskKind, TaskStatus, TaskStore

PAYLOAD = {"audio_file": str(uuid.uuid4()), "audio_model": "whisper", "text": ["Ünïcode ✓"]}


async def _read_one(store: TaskStore, consumer: str = "c1") -> tuple[str, str]:
    """Deliver the next stream entry to ``consumer``: (entry id, task id)."""
    response = await store.redis.xreadgroup(store.group, consumer, {store.stream: ">"}, count=1)
    entry_id, fields = response[0][1][0]
    return entry_id, fields["task_id"]


async def _pending_count(store: TaskStore) -> int:
    return (await store.redis.xpending(store.stream, store.group))["pending"]


def test_create_records_pending_task_and_queues_it(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            before = time.time()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)

            assert isinstance(task_id, uuid.UUID)
            raw = await redis.hgetall(f"{prefix}task:{task_id}")
            assert raw["status"] == "pending"
            assert raw["attempts"] == "0"
            assert raw["owner"] == "alice"
            assert raw["kind"] == "audio_processing"
            assert json.loads(raw["payload"]) == PAYLOAD
            assert "result" not in raw and "error" not in raw

            entries = await redis.xrange(store.stream)
            assert [fields for _, fields in entries] == [{"task_id": str(task_id)}]

            task = await store.get(task_id)
            assert task is not None
            assert task.task_id == task_id
            assert task.kind is TaskKind.AUDIO_PROCESSING
            assert task.status is TaskStatus.PENDING
            assert task.attempts == 0
            assert task.payload == PAYLOAD
            assert task.error is None
            assert not task.finished
            assert before <= task.created == task.updated <= time.time()
            assert await store.result(task_id) is None

    asyncio.run(scenario())


def test_get_checks_owner_and_existence(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            task_id = await store.create(TaskKind.IMAGE_PROCESSING, "alice", {})
            assert (await store.get(task_id, owner="alice")).owner == "alice"
            assert (await store.get(str(task_id), owner="alice")).task_id == task_id
            assert await store.get(task_id, owner="bob") is None
            assert await store.get(uuid.uuid4()) is None
            assert await store.get(uuid.uuid4(), owner="alice") is None

    asyncio.run(scenario())


def test_start_marks_in_progress_and_counts_attempts(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)

            task = await store.start(str(task_id))
            assert task is not None
            assert task.status is TaskStatus.IN_PROGRESS
            assert task.attempts == 1
            assert task.updated >= task.created

            again = await store.start(str(task_id))  # a redelivery after a lapsed lease
            assert again.status is TaskStatus.IN_PROGRESS
            assert again.attempts == 2

            assert await store.start(str(uuid.uuid4())) is None

    asyncio.run(scenario())


@pytest.mark.parametrize("outcome", [{"result": {"ok": 1}}, {"error": "bad input"}])
def test_start_on_finished_task_is_none(connect, prefix, outcome):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)
            entry_id, _ = await _read_one(store)
            await store.start(str(task_id))
            await store.finish(str(task_id), entry_id, **outcome)
            finished = await store.get(task_id)

            assert await store.start(str(task_id)) is None
            unchanged = await store.get(task_id)
            assert unchanged == finished
            assert unchanged.attempts == 1
            assert unchanged.finished

    asyncio.run(scenario())


def test_finish_with_result_completes_and_removes_the_entry(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)
            entry_id, read_task_id = await _read_one(store)
            assert read_task_id == str(task_id)
            await store.start(read_task_id)
            assert await _pending_count(store) == 1

            result = {"text": "every path", "segments": [{"start": 0.0, "end": 1.5}]}
            await store.finish(read_task_id, entry_id, result=result)

            task = await store.get(task_id)
            assert task.status is TaskStatus.COMPLETED
            assert task.finished
            assert task.error is None
            assert await store.result(task_id) == result
            assert await redis.xlen(store.stream) == 0
            assert await _pending_count(store) == 0

    asyncio.run(scenario())


def test_finish_with_error_fails_and_removes_the_entry(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)
            entry_id, _ = await _read_one(store)
            await store.start(str(task_id))
            await store.finish(str(task_id), entry_id, error="No such audio file available")

            task = await store.get(task_id)
            assert task.status is TaskStatus.FAILED
            assert task.error == "No such audio file available"
            assert await store.result(task_id) is None
            assert await redis.xlen(store.stream) == 0
            assert await _pending_count(store) == 0

    asyncio.run(scenario())


@pytest.mark.parametrize("outcome", [{}, {"result": {"a": 1}, "error": "x"}])
def test_finish_needs_exactly_one_outcome(connect, prefix, outcome):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)
            entry_id, _ = await _read_one(store)
            with pytest.raises(ValueError):
                await store.finish(str(task_id), entry_id, **outcome)
            # Nothing was written or acknowledged.
            assert (await store.get(task_id)).status is TaskStatus.PENDING
            assert await redis.xlen(store.stream) == 1
            assert await _pending_count(store) == 1

    asyncio.run(scenario())


def test_discard_entry_removes_it(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            await store.create(TaskKind.AUDIO_PROCESSING, "alice", PAYLOAD)
            entry_id, _ = await _read_one(store)
            await store.discard_entry(entry_id)
            assert await redis.xlen(store.stream) == 0
            assert await _pending_count(store) == 0

    asyncio.run(scenario())


def test_queue_depth_counts_queued_and_in_flight(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            assert await store.queue_depth() == {"queued": 0, "in_flight": 0}
            ids = [await store.create(TaskKind.AUDIO_PROCESSING, "a", {}) for _ in range(3)]
            assert await store.queue_depth() == {"queued": 3, "in_flight": 0}
            entry_id, task_id = await _read_one(store)
            assert task_id == str(ids[0])
            assert await store.queue_depth() == {"queued": 2, "in_flight": 1}
            await store.finish(task_id, entry_id, result={})
            assert await store.queue_depth() == {"queued": 2, "in_flight": 0}

    asyncio.run(scenario())


def test_queue_depth_when_tasks_finish_out_of_order(connect, prefix):
    # Two consumers take the first two tasks; the second finishes first. Deleting an
    # entry behind a still-pending one makes Redis report the group's lag as nil.
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            await store.ensure_group()
            for _ in range(4):
                await store.create(TaskKind.AUDIO_PROCESSING, "a", {})
            first_entry, first_task = await _read_one(store, "c1")
            second_entry, second_task = await _read_one(store, "c2")
            assert await store.queue_depth() == {"queued": 2, "in_flight": 2}

            await store.finish(second_task, second_entry, result={})
            assert await store.queue_depth() == {"queued": 2, "in_flight": 1}
            await store.create(TaskKind.AUDIO_PROCESSING, "a", {})
            assert await store.queue_depth() == {"queued": 3, "in_flight": 1}

            await store.finish(first_task, first_entry, error="x")
            assert await store.queue_depth() == {"queued": 3, "in_flight": 0}

    asyncio.run(scenario())


def test_ensure_group_is_idempotent(connect, prefix):
    async def scenario():
        async with connect() as redis:
            store = TaskStore(redis, prefix)
            # Tasks created before the group exists are still delivered (group from id 0).
            task_id = await store.create(TaskKind.AUDIO_PROCESSING, "a", {})
            await store.ensure_group()
            entry_id, read_task_id = await _read_one(store)
            assert read_task_id == str(task_id)

            await store.ensure_group()  # BUSYGROUP is swallowed; the group is not reset
            groups = await redis.xinfo_groups(store.stream)
            assert [g["name"] for g in groups] == [store.group]
            assert groups[0]["last-delivered-id"] == entry_id
            assert await _pending_count(store) == 1

    asyncio.run(scenario())


def test_queue_depth_before_any_task_is_zero(connect, prefix):
    async def scenario():
        async with connect() as redis:
            return await TaskStore(redis, prefix).queue_depth()

    assert asyncio.run(scenario()) == {"queued": 0, "in_flight": 0}
