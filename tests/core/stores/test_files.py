"""Unit tests for core.stores.files.FileStore: real Redis, files under a temporary root."""

from __future__ import annotations

import asyncio
import io
import uuid
from pathlib import Path

import pytest
from PIL import Image

from core.audio import load_audio
from core.errors import MediaError
from core.stores.files import FileStore, UploadTooLarge
from core.uploads.hints import format_hint

LIMITS = {"max_bytes": 10 * 1024 * 1024, "max_audio_duration_s": 600.0, "max_image_pixels": 10**7}


def _files(root: Path) -> dict[str, list[str]]:
    """Every file (hidden ones too) in the three folders of the store."""
    return {
        sub: sorted(p.name for p in (root / sub).iterdir()) for sub in ("audio", "image", "tmp")
    }


async def _save(store: FileStore, kind, owner, path: Path, filename: str | None = None, **limits):
    with path.open("rb") as source:
        return await store.save_upload(
            kind,
            owner,
            source,
            filename if filename is not None else path.name,
            **(LIMITS | limits),
        )


def test_save_audio_upload(connect, prefix, tmp_path, sample_audio):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            file_id = await _save(store, "audio", "alice", sample_audio)

            path = tmp_path / "audio" / f"{file_id}.mp3"
            assert path.is_file()
            assert store.path("audio", file_id) == path
            assert abs(load_audio(path).duration_seconds - 1.776) < 0.1
            assert _files(tmp_path) == {"audio": [path.name], "image": [], "tmp": []}

            assert await store.lookup("audio", "alice", file_id) == path
            assert await store.lookup("audio", "bob", file_id) is None
            assert await store.lookup("image", "alice", file_id) is None
            assert await store.lookup("audio", "alice", uuid.uuid4()) is None
            record = await redis.hgetall(f"{prefix}file:{file_id}")
            assert record["kind"] == "audio" and record["owner"] == "alice"

    asyncio.run(scenario())


def test_save_image_upload(connect, prefix, tmp_path, sample_image):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            # The extension is matched case-insensitively.
            file_id = await _save(store, "image", "alice", sample_image, "Page.JPG")

            path = tmp_path / "image" / f"{file_id}.png"
            assert path.is_file()
            with Image.open(path) as image:
                assert image.format == "PNG"
                assert image.size == (362, 139)
            assert _files(tmp_path) == {"audio": [], "image": [path.name], "tmp": []}

            assert await store.lookup("image", "alice", file_id) == path
            assert await store.lookup("image", "bob", file_id) is None
            assert await store.lookup("audio", "alice", file_id) is None

    asyncio.run(scenario())


def test_lookup_of_a_record_without_bytes_is_none(connect, prefix, tmp_path):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            file_id = uuid.uuid4()
            await store.register("audio", "alice", [file_id])
            assert await store.lookup("audio", "alice", file_id) is None

    asyncio.run(scenario())


_TEXT = b"this is not audio nor an image, only some text\n" * 20


@pytest.mark.parametrize(
    ("kind", "filename", "content", "limits", "error"),
    [
        ("audio", "every_path.mp3", "image", {}, MediaError),
        ("audio", "text.mp3", _TEXT, {}, MediaError),
        ("audio", "empty.mp3", b"", {}, MediaError),
        ("audio", "every_path.mp3", None, {"max_bytes": 4096}, UploadTooLarge),
        ("audio", "every_path.mp3", None, {"max_audio_duration_s": 0.5}, MediaError),
        ("image", "page.jpg", "audio", {}, MediaError),
        ("image", "text.png", _TEXT, {}, MediaError),
        ("image", "every_path.jpg", None, {"max_bytes": 4096}, UploadTooLarge),
        ("image", "every_path.jpg", None, {"max_image_pixels": 1000}, MediaError),
    ],
    ids=[
        "audio-image-content",
        "audio-text-content",
        "audio-empty",
        "audio-too-many-bytes",
        "audio-too-long",
        "image-audio-content",
        "image-text-content",
        "image-too-many-bytes",
        "image-too-many-pixels",
    ],
)
def test_rejected_upload_leaves_nothing(
    connect, prefix, tmp_path, sample_audio, sample_image, kind, filename, content, limits, error
):
    samples = {"audio": sample_audio, "image": sample_image}
    if content is None or isinstance(content, str):  # the sample of that kind
        data = samples[content or kind].read_bytes()
    else:
        data = content

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            with pytest.raises(error) as raised:
                await store.save_upload(
                    kind, "alice", io.BytesIO(data), filename, **(LIMITS | limits)
                )
            assert str(tmp_path) not in str(raised.value)
            assert _files(tmp_path) == {"audio": [], "image": [], "tmp": []}
            assert await redis.keys(f"{prefix}*") == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kind", "filename", "content_type"),
    [
        ("audio", "notes.txt", "text/plain"),
        ("audio", "every_path.png", "image/png"),
        ("audio", None, None),
        ("audio", "", "application/octet-stream"),
        ("audio", "blob", "audio/webm;codecs=opus"),
        ("image", "page.mp3", "audio/mpeg"),
        ("image", " ", None),
    ],
    ids=["txt", "png-name", "no-name", "empty-name", "blob", "image-as-mp3-name", "space"],
)
def test_the_content_decides_not_the_name_or_type(
    connect, prefix, tmp_path, sample_audio, sample_image, kind, filename, content_type
):
    sample = sample_audio if kind == "audio" else sample_image

    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            with sample.open("rb") as source:
                file_id = await store.save_upload(
                    kind, "alice", source, filename, content_type=content_type, **LIMITS
                )
            assert await store.lookup(kind, "alice", file_id) == store.path(kind, file_id)
            assert _files(tmp_path)["tmp"] == []

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("kind", "filename", "content_type", "hint"),
    [
        ("audio", "reading.MP3", None, ".mp3"),
        ("audio", "blob", "audio/webm;codecs=opus", ".webm"),
        ("audio", " ", "audio/mpeg", ".mp3"),
        ("audio", "", "audio/wav", ".wav"),
        ("audio", "reading.txt", "application/octet-stream", ""),
        ("audio", "list.m3u8", "application/vnd.apple.mpegurl", ""),
        ("audio", None, None, ""),
        ("image", "scan", "image/jpeg", ".jpg"),
        ("image", "page.PNG", "image/jpeg", ".png"),
        ("image", "page.pdf", "application/pdf", ""),
    ],
)
def test_format_hint_is_a_known_suffix_or_nothing(kind, filename, content_type, hint):
    assert format_hint(kind, filename, content_type) == hint


def test_failed_registration_removes_the_converted_file(connect, prefix, tmp_path, sample_audio):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)

            async def broken_register(*args, **kwargs):
                raise ConnectionError("redis went away")

            store.register = broken_register
            with pytest.raises(ConnectionError):
                await _save(store, "audio", "alice", sample_audio)
            assert _files(tmp_path) == {"audio": [], "image": [], "tmp": []}

    asyncio.run(scenario())


def test_register_several_files_at_once(connect, prefix, tmp_path):
    async def scenario():
        async with connect() as redis:
            store = FileStore(redis, prefix, tmp_path)
            ids = [uuid.uuid4() for _ in range(3)]
            for file_id in ids:
                store.path("audio", file_id).write_bytes(b"piece")
            await store.register("audio", "alice", ids)
            for file_id in ids:
                assert await store.lookup("audio", "alice", file_id) == store.path("audio", file_id)
                assert await store.lookup("audio", "bob", file_id) is None
            assert len(await redis.keys(f"{prefix}file:*")) == 3
            # A generator works too, and registering nothing is fine.
            more = [uuid.uuid4() for _ in range(2)]
            for file_id in more:
                store.path("image", file_id).write_bytes(b"png")
            await store.register("image", "bob", (file_id for file_id in more))
            await store.register("image", "bob", [])
            assert [await store.lookup("image", "bob", f) for f in more] == [
                store.path("image", f) for f in more
            ]

    asyncio.run(scenario())
