"""core.stores.files on an S3 object store (a real SeaweedFS server): no node needs
another node's disk, and an unreachable store loses nothing."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from core.stores.files import FileStore
from core.stores.objects import StorageUnavailable
from tests.conftest import unreachable_store

LIMITS = {"max_bytes": 10_000_000, "max_audio_duration_s": 600, "max_image_pixels": 10**8}


def test_a_file_saved_on_one_node_is_read_on_another(
    connect, prefix, tmp_path, seaweed, sample_audio
):
    async def scenario():
        async with connect() as redis:
            objects = seaweed.store(prefix.replace(":", "/"))
            node_a = FileStore(redis, prefix, tmp_path / "a", objects)
            node_b = FileStore(redis, prefix, tmp_path / "b", objects)  # its own empty disk
            with sample_audio.open("rb") as upload:
                file_id = await node_a.save_upload("audio", "alice", upload, "r.mp3", **LIMITS)
            assert not node_b.path("audio", file_id).exists()
            # Checking that it exists (a task's input) fetches nothing.
            assert await node_b.owns("audio", "alice", file_id)
            assert not await node_b.owns("audio", "bob", file_id)
            assert not await node_b.owns("image", "alice", file_id)
            assert not node_b.path("audio", file_id).exists()
            path = await node_b.lookup("audio", "alice", file_id)
            assert path is not None and path.is_relative_to(tmp_path / "b")
            assert path.read_bytes() == node_a.path("audio", file_id).read_bytes()
            assert await node_b.lookup("audio", "bob", file_id) is None  # owners still hold
            # A derived file (a cut segment) written on B is readable on A.
            cut = uuid.uuid4()
            node_b.path("audio", cut).write_bytes(b"cut bytes")
            await node_b.register("audio", "alice", [cut])
            node_b.path("audio", cut).unlink()
            again = await node_a.lookup("audio", "alice", cut)
            assert again is not None and again.read_bytes() == b"cut bytes"

    asyncio.run(scenario())


def test_an_unreachable_store_refuses_the_upload_and_leaves_nothing(
    connect, prefix, tmp_path, sample_audio
):
    dead = unreachable_store()

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path / "n", dead)
            with sample_audio.open("rb") as upload, pytest.raises(StorageUnavailable):
                await store.save_upload("audio", "alice", upload, "r.mp3", **LIMITS)
            assert list((tmp_path / "n" / "audio").iterdir()) == []
            assert await redis.keys(f"{prefix}file:*") == []

    asyncio.run(scenario())
