"""The request archive: listing by date, session and trace id; deletion; retention;
and no orphan files from retried tasks. Real Redis and a real FileStore; the files
on disk are counted."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from core.plugins.types import AudioChunk, AudioProcessingResult
from core.stores.archive import BadCursor, delete_all, delete_task, list_tasks, sweep
from core.stores.files import FileStore
from core.stores.tasks import TaskKind, TaskStore
from core.tasks.consumer import TaskFailed
from core.tasks.runner import TaskRunner
from tests.core.tasks.test_runner import REFERENCE, DirectMatcher, FakeModels, add_file

ASR = AudioProcessingResult(
    text="Every path is the right path.",
    segments=[
        AudioChunk(start=0.0, end=0.8, text="Every path is"),
        AudioChunk(start=0.8, end=1.7, text="the right path."),
    ],
)


def on_disk(root: Path) -> set[str]:
    """Names of the files in the store's audio and image folders."""
    return {p.name for kind in ("audio", "image") for p in (root / kind).iterdir()}


class FlakyMatcher(DirectMatcher):
    """Fails the first ``failures`` assessments (after the ASR cut its segments)."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error = failures, error

    async def assess(self, *args, **kwargs):
        if self.failures:
            self.failures -= 1
            raise self.error
        return await super().assess(*args, **kwargs)


async def comparison(tasks: TaskStore, store: FileStore, audio_id: str, **labels):
    task_id = await tasks.create(
        TaskKind.AUDIO_TEXT_COMPARISON,
        "alice",
        {"audio_file": audio_id, "audio_model": "whisper", "text": [REFERENCE], "language": "en"},
        inputs=[audio_id],
        **labels,
    )
    return await tasks.start(str(task_id))


def test_a_retried_task_leaves_only_the_files_its_result_names(
    connect, prefix, tmp_path, sample_audio
):
    async def scenario():
        async with connect() as redis:
            store, tasks = FileStore(redis, prefix, tmp_path), TaskStore(redis, prefix)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=ASR), FlakyMatcher(1, RuntimeError("x")))
            task = await comparison(tasks, store, audio_id)
            with pytest.raises(RuntimeError):
                await runner.run(task)  # attempt 1 cut 2 segments, then broke
            assert len(on_disk(tmp_path)) == 1 + 2
            task = await tasks.start(str(task.task_id))  # the retry: attempt 2
            assert task.attempts == 2
            result = await runner.run(task)
            named = {str(s.file) for s in result.audio.segments}
            named |= {str(e.audio_segment.file) for e in result.errors}
            assert result.errors  # "right" for "wrong": one more cut
            assert on_disk(tmp_path) == {f"{f}.mp3" for f in named | {audio_id}}
            assert await store.task_files(task.task_id) == named

    asyncio.run(scenario())


def test_a_task_failing_for_good_keeps_no_cut(connect, prefix, tmp_path, sample_audio):
    async def scenario():
        async with connect() as redis:
            store, tasks = FileStore(redis, prefix, tmp_path), TaskStore(redis, prefix)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=ASR), FlakyMatcher(1, TaskFailed("no")))
            task = await comparison(tasks, store, audio_id)
            with pytest.raises(TaskFailed):
                await runner.run(task)
            assert on_disk(tmp_path) == {f"{audio_id}.mp3"}
            assert await store.task_files(task.task_id) == set()

    asyncio.run(scenario())


def test_listing_pages_newest_first_with_filters(connect, prefix, tmp_path):
    async def scenario():
        async with connect() as redis:
            tasks = TaskStore(redis, prefix)
            ids = []
            for i in range(7):
                ids.append(
                    await tasks.create(
                        TaskKind.IMAGE_PROCESSING, "alice", {"i": i},
                        session_id="s-even" if i % 2 == 0 else "s-odd", trace_id=f"t{i}",
                    )
                )
            await tasks.create(TaskKind.IMAGE_PROCESSING, "bob", {}, session_id="s-even")
            seen, cursor = [], None
            while True:
                page = await list_tasks(tasks, "alice", limit=3, cursor=cursor)
                assert len(page.tasks) <= 3
                seen += [t.task_id for t in page.tasks]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            assert seen == ids[::-1]  # newest first, each once, only alice's

            even = await list_tasks(tasks, "alice", session_id="s-even")
            assert [t.task_id for t in even.tasks] == [ids[6], ids[4], ids[2], ids[0]]
            traced = await list_tasks(tasks, "alice", trace_id="t3")
            assert [t.task_id for t in traced.tasks] == [ids[3]]
            both = await list_tasks(tasks, "alice", trace_id="t3", session_id="s-even")
            assert both.tasks == []
            assert (await list_tasks(tasks, "bob", trace_id="t3")).tasks == []

            third = (await tasks.get(ids[2])).created
            fifth = (await tasks.get(ids[4])).created
            window = await list_tasks(tasks, "alice", date_from=third, date_to=fifth)
            assert [t.task_id for t in window.tasks] == [ids[4], ids[3], ids[2]]
            assert (await list_tasks(tasks, "alice", date_to=time.time() - 3600)).tasks == []
            with pytest.raises(BadCursor):
                await list_tasks(tasks, "alice", cursor="not-a-cursor")

    asyncio.run(scenario())


def test_deleting_a_request_keeps_an_input_another_request_uses(
    connect, prefix, tmp_path, sample_audio
):
    async def scenario():
        async with connect() as redis:
            store, tasks = FileStore(redis, prefix, tmp_path), TaskStore(redis, prefix)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=ASR), DirectMatcher())
            first = await comparison(tasks, store, audio_id, session_id="s1")
            second = await comparison(tasks, store, audio_id)
            await runner.run(first)
            await runner.run(second)
            second_cuts = await store.task_files(second.task_id)
            assert len(on_disk(tmp_path)) == 1 + 2 * 3

            done = await delete_task(tasks, store, first)
            assert (done.requests, done.files) == (1, 3)  # its cuts, not the shared input
            assert on_disk(tmp_path) == {f"{f}.mp3" for f in second_cuts | {audio_id}}
            assert await tasks.get(first.task_id) is None
            assert (await list_tasks(tasks, "alice", session_id="s1")).tasks == []

            done = await delete_task(tasks, store, second)
            assert (done.requests, done.files) == (1, 4)  # now the input goes too
            assert on_disk(tmp_path) == set()
            assert (await list_tasks(tasks, "alice")).tasks == []

    asyncio.run(scenario())


def test_delete_all_removes_every_request_and_upload_of_one_user_only(
    connect, prefix, tmp_path, sample_audio, sample_image
):
    async def scenario():
        async with connect() as redis:
            store, tasks = FileStore(redis, prefix, tmp_path), TaskStore(redis, prefix)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            await add_file(store, "image", "alice", sample_image)  # never used by a task
            bobs = await add_file(store, "audio", "bob", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=ASR), DirectMatcher())
            await runner.run(await comparison(tasks, store, audio_id))
            done = await delete_all(tasks, store, "alice")
            assert (done.requests, done.files) == (1, 2 + 3)
            assert on_disk(tmp_path) == {f"{bobs}.mp3"}

    asyncio.run(scenario())


def test_the_retention_sweep_deletes_what_is_older_than_the_period(
    connect, prefix, tmp_path, sample_audio
):
    async def scenario():
        async with connect() as redis:
            store, tasks = FileStore(redis, prefix, tmp_path), TaskStore(redis, prefix)
            audio_id = await add_file(store, "audio", "alice", sample_audio)
            runner = TaskRunner(store, FakeModels(asr=ASR), DirectMatcher())
            old = await comparison(tasks, store, audio_id)
            await runner.run(old)
            assert len(on_disk(tmp_path)) == 4
            day = 86400.0
            nothing = await sweep(tasks, store, retention_s=30 * day)  # all is young
            assert (nothing.requests, nothing.files) == (0, 0)
            assert len(on_disk(tmp_path)) == 4

            later = time.time() + 31 * day
            young = await tasks.create(TaskKind.IMAGE_PROCESSING, "alice", {})
            # The young task was created now; pretend it was 2 days before "later".
            await redis.zadd(tasks.by_time_key, {str(young): later - 2 * day})
            done = await sweep(tasks, store, retention_s=30 * day, now=later)
            assert (done.requests, done.files) == (1, 4)
            assert on_disk(tmp_path) == set()
            assert await tasks.get(old.task_id) is None
            assert await tasks.get(young) is not None
            assert not await redis.exists(f"{prefix}file:{audio_id}")

    asyncio.run(scenario())


def test_deleting_an_unknown_file_is_harmless(connect, prefix, tmp_path):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            assert await store.delete(uuid.uuid4()) is False

    asyncio.run(scenario())
