"""core.stores.files: a node's working copies of an object store's files (a real
SeaweedFS server) are evicted least recently used first, and fetched again when needed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid

import pytest
from pydantic import ValidationError

from api.settings import Settings
from core.stores.files import Eviction, FileStore, evict_periodically
from core.stores.objects import StorageUnavailable
from tests.conftest import unreachable_store

SIZE = 10_000


async def add_files(store: FileStore, count: int, ages_s: list[float]) -> list[uuid.UUID]:
    """Register ``count`` audio files of SIZE random bytes, last used ``ages_s`` ago."""
    ids = [uuid.uuid4() for _ in range(count)]
    for file_id in ids:
        store.path("audio", file_id).write_bytes(os.urandom(SIZE))
    await store.register("audio", "alice", ids)
    for file_id, age in zip(ids, ages_s, strict=True):
        used = time.time() - age
        os.utime(store.path("audio", file_id), (used, used))
    return ids


def test_the_least_recently_used_copies_go_and_come_back_on_lookup(
    connect, prefix, tmp_path, seaweed
):
    async def scenario():
        async with connect() as redis:
            objects = seaweed.store(prefix.replace(":", "/"))
            node = FileStore(redis, prefix, tmp_path / "node", objects)
            ids = await add_files(node, 4, ages_s=[400, 300, 200, 100])
            originals = {f: node.path("audio", f).read_bytes() for f in ids}
            # The oldest is used again: now the most recently used.
            assert await node.lookup("audio", "alice", ids[0]) == node.path("audio", ids[0])
            # Not working copies: staging, a partial download, another name.
            others = [
                node.root / "tmp" / "upload.wav",
                node.root / "audio" / "x.mp3.part",
                node.root / "image" / "notes.png",
            ]
            for other in others:
                other.write_bytes(b"x" * SIZE)
                os.utime(other, (0, 0))

            done = await node.evict(max_bytes=2 * SIZE, min_age_s=0)

            assert done == Eviction(evicted=2, freed_bytes=2 * SIZE, kept_bytes=2 * SIZE)
            present = [f for f in ids if node.path("audio", f).exists()]
            assert present == [ids[0], ids[3]]
            assert all(other.exists() for other in others)
            assert await node.evict(max_bytes=2 * SIZE, min_age_s=0) == Eviction(
                kept_bytes=2 * SIZE
            )
            for file_id in ids:  # the evicted ones are fetched again, byte for byte
                path = await node.lookup("audio", "alice", file_id)
                assert path is not None and path.read_bytes() == originals[file_id]

    asyncio.run(scenario())


def test_recently_used_and_unstored_copies_stay_and_orphans_go(connect, prefix, tmp_path, seaweed):
    async def scenario():
        async with connect() as redis:
            objects = seaweed.store(prefix.replace(":", "/"))
            node = FileStore(redis, prefix, tmp_path / "node", objects)
            recent = await add_files(node, 2, ages_s=[30, 10])
            # Over the cap, but used within the minimum age: nothing goes.
            assert await node.evict(max_bytes=1, min_age_s=60) == Eviction(kept_bytes=2 * SIZE)
            # Recorded but only on this disk (from before the store): kept.
            [unstored, orphan] = [uuid.uuid4(), uuid.uuid4()]
            for file_id in (unstored, orphan):
                node.path("image", file_id).write_bytes(b"p" * SIZE)
                os.utime(node.path("image", file_id), (1000, 1000))
            await redis.hset(f"{prefix}file:{unstored}", mapping={"kind": "image", "owner": "a"})
            # Neither stored nor recorded (a register that failed): an orphan, deleted.
            done = await node.evict(max_bytes=1, min_age_s=60)
            assert done == Eviction(evicted=1, freed_bytes=SIZE, kept_bytes=3 * SIZE, unstored=1)
            assert node.path("image", unstored).exists()
            assert not node.path("image", orphan).exists()
            assert all(node.path("audio", f).exists() for f in recent)

    asyncio.run(scenario())


def test_without_an_object_store_nothing_is_evicted(connect, prefix, tmp_path):
    async def scenario():
        async with connect() as redis:
            node = FileStore(redis, prefix, tmp_path / "node")
            ids = await add_files(node, 3, ages_s=[9000, 9000, 9000])
            assert await node.evict(max_bytes=1, min_age_s=0) == Eviction()
            assert all(node.path("audio", f).exists() for f in ids)
            assert await node.lookup("audio", "alice", ids[0]) is not None

    asyncio.run(scenario())


def test_the_periodic_sweep_evicts_and_outlives_an_unreachable_store(
    connect, prefix, tmp_path, seaweed, caplog
):
    dead = unreachable_store()

    async def scenario():
        async with connect() as redis:
            node = FileStore(redis, prefix, tmp_path / "node", seaweed.store("sweep/"))
            ids = await add_files(node, 3, ages_s=[9000, 8000, 7000])
            down = FileStore(redis, prefix, tmp_path / "down", dead)
            for file_id in ids:
                down.path("audio", file_id).write_bytes(b"d" * SIZE)
                os.utime(down.path("audio", file_id), (1000, 1000))
            with pytest.raises(StorageUnavailable):
                await down.evict(max_bytes=1, min_age_s=0)
            sweeps = [
                asyncio.create_task(evict_periodically(store, max_bytes=SIZE, period_s=0.05))
                for store in (node, down)
            ]
            try:
                deadline = time.monotonic() + 10
                while any(node.path("audio", f).exists() for f in ids[:2]):
                    assert time.monotonic() < deadline, "the sweep did not evict"
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.2)  # a few failed sweeps of the unreachable store
                assert all(not sweep.done() for sweep in sweeps)
            finally:
                for sweep in sweeps:
                    sweep.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sweep
            assert all(down.path("audio", f).exists() for f in ids)

    asyncio.run(scenario())
    assert "Evicting working copies failed" in caplog.text


def test_the_cap_is_a_positive_setting(monkeypatch):
    assert Settings().working_copy_max_bytes == 2 * 1024**3
    monkeypatch.setenv("FMR_WORKING_COPY_MAX_BYTES", "1000")
    assert Settings().working_copy_max_bytes == 1000
    monkeypatch.setenv("FMR_WORKING_COPY_MAX_BYTES", "0")
    with pytest.raises(ValidationError):
        Settings()
