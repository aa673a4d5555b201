"""Uploaded and derived files: bytes in a folder or an object store, owners in Redis.

Layout: ``{root}/audio/{uuid}.mp3``, ``{root}/image/{uuid}.png``, staging in
``{root}/tmp``. With an object store (:mod:`core.stores.objects`, e.g. S3) the same
names are its keys (``audio/{uuid}.mp3``) and ``root`` is this node's working copy: a
file is put in the store before it is recorded, and a node that lacks it fetches it
on lookup, so no node relies on another node's disk. The working copy is a cache:
:meth:`FileStore.evict` (run every minute by the serving replicas through
:func:`evict_periodically`) deletes the least recently used files beyond a size cap.

A file exists for the API only when both its bytes and its Redis record exist, and
the record names the caller as owner; the bytes are always written first and the
record last, so a crash in between leaves an orphan file but never a record pointing
at nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Literal

from redis.asyncio import Redis

from core.errors import MediaError
from core.stores.eviction import (
    EVICTION_MIN_AGE_S,
    Eviction,
    evict,
    evict_periodically,
)
from core.stores.objects import ObjectStore
from core.uploads.audio import (
    DEFAULT_DECODE_TIMEOUT_S,
    convert_upload_to_mp3,
)
from core.uploads.hints import MIME_TYPES, format_hint
from core.uploads.images import convert_upload_to_png

__all__ = [
    "Eviction",  # re-exported from core.stores.eviction
    "FileKind",
    "FileStore",
    "UploadTooLarge",
    "evict_periodically",  # re-exported from core.stores.eviction
    "format_hint",  # re-exported from core.uploads.hints
]

logger = logging.getLogger(__name__)

FileKind = Literal["audio", "image"]
_SUFFIX: dict[FileKind, str] = {"audio": ".mp3", "image": ".png"}
_COPY_CHUNK = 1024 * 1024

class UploadTooLarge(MediaError):
    """The upload is larger than the configured byte limit."""


class FileStore:
    """Owner-scoped file storage.

    Args:
        redis: Asyncio Redis client (``decode_responses=True``).
        prefix: Key prefix shared by the service.
        root: Folder holding the files. Without ``objects`` it must be shared by every
            node that runs an ingress or pipeline replica; with it, it is this
            node's working copy.
        objects: Where the bytes are kept for every node (None: ``root`` only).
        max_fetch_bytes: Largest object fetched from ``objects`` on lookup, in bytes.
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        root: Path,
        objects: ObjectStore | None = None,
        max_fetch_bytes: int = 1 << 30,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self.root = root
        self.objects = objects
        self._max_fetch_bytes = max_fetch_bytes
        for sub in ("audio", "image", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _key(self, file_id: uuid.UUID | str) -> str:
        return f"{self._prefix}file:{file_id}"

    def user_files_key(self, owner: str) -> str:
        """The sorted set of ``owner``'s file ids, scored by creation time."""
        return f"{self._prefix}user-files:{owner}"

    @property
    def by_time_key(self) -> str:
        """The sorted set of every file id by creation time (the retention sweep's)."""
        return f"{self._prefix}files-by-time"

    def task_files_key(self, task_id: uuid.UUID | str) -> str:
        """The set of files a task derived (cut segments), over all its attempts."""
        return f"{self._prefix}task-files:{task_id}"

    @staticmethod
    def object_key(kind: FileKind, file_id: uuid.UUID) -> str:
        """The file's key in the object store (``audio/{uuid}.mp3``)."""
        return _object_key(kind, file_id)

    async def is_recorded(self, file_id: uuid.UUID) -> bool:
        """Whether the file has a record (whoever owns it)."""
        return bool(await self._redis.exists(self._key(file_id)))

    async def task_files(self, task_id: uuid.UUID | str) -> set[str]:
        """Ids of the files a task derived, over all its attempts."""
        return set(await self._redis.smembers(self.task_files_key(task_id)))

    async def forget_task_files(self, task_id: uuid.UUID | str, file_ids: Iterable[str]) -> None:
        """Drop deleted files from a task's set of derived files."""
        await self._redis.srem(self.task_files_key(task_id), *file_ids)

    async def delete(self, file_id: uuid.UUID | str) -> bool:
        """Delete a file: its bytes (here and in the object store), record and index
        entries. Bytes go first, so a failure leaves a record a retry can finish.

        Returns:
            Whether a record existed.

        Raises:
            StorageUnavailable: the object store is unreachable (nothing more is deleted).
        """
        record = await self._redis.hgetall(self._key(file_id))
        kind = record.get("kind")
        if kind in _SUFFIX:
            file_uuid = uuid.UUID(str(file_id))
            if self.objects is not None:
                await self.objects.delete(_object_key(kind, file_uuid))
            self.path(kind, file_uuid).unlink(missing_ok=True)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(file_id))
            pipe.zrem(self.by_time_key, str(file_id))
            if record.get("owner"):
                pipe.zrem(self.user_files_key(record["owner"]), str(file_id))
            await pipe.execute()
        return bool(record)

    def path(self, kind: FileKind, file_id: uuid.UUID) -> Path:
        """Where the bytes of a file live (whether or not they exist)."""
        return self.root / kind / f"{file_id}{_SUFFIX[kind]}"

    def directory(self, kind: FileKind) -> Path:
        """The folder of one kind of file."""
        return self.root / kind

    async def register(
        self,
        kind: FileKind,
        owner: str,
        file_ids: Iterable[uuid.UUID],
        task_id: uuid.UUID | str | None = None,
    ) -> None:
        """Record files whose bytes are already in place as belonging to ``owner``.

        With an object store, each file is first put there from ``root``. Each file is
        indexed by owner and by time (retention, deletion), and, with ``task_id``, as
        derived by that task (so a retried task's earlier cuts can be found).

        Raises:
            StorageUnavailable: the object store is unreachable (nothing is recorded).
        """
        file_ids = list(file_ids)
        if self.objects is not None:
            for file_id in file_ids:
                await self.objects.put_file(_object_key(kind, file_id), self.path(kind, file_id))
        created = time.time()
        record = {"kind": kind, "owner": owner, "created": str(created)}
        async with self._redis.pipeline(transaction=True) as pipe:
            for file_id in file_ids:
                pipe.hset(self._key(file_id), mapping=record)
                pipe.zadd(self.user_files_key(owner), {str(file_id): created})
                pipe.zadd(self.by_time_key, {str(file_id): created})
                if task_id is not None:
                    pipe.sadd(self.task_files_key(task_id), str(file_id))
            await pipe.execute()

    async def owns(self, kind: FileKind, owner: str, file_id: uuid.UUID) -> bool:
        """Whether the file exists, is of ``kind`` and belongs to ``owner``, without
        fetching it: with an object store, a record implies the object (it is put first).
        """
        record = await self._redis.hgetall(self._key(file_id))
        if record.get("kind") != kind or record.get("owner") != owner:
            return False
        return self.objects is not None or self.path(kind, file_id).is_file()

    async def download_url(
        self, kind: FileKind, owner: str, file_id: uuid.UUID, min_bytes: int, expires_s: int
    ) -> str | None:
        """A presigned URL of the stored object, for a redirect instead of streaming it
        through the API: only with an object store that gives URLs, for a file of
        ``owner`` of at least ``min_bytes`` bytes; the URL is valid ``expires_s`` seconds
        and answers with the file's MIME type and name. None otherwise.

        Raises:
            StorageUnavailable: the object store is unreachable.
        """
        if self.objects is None or not await self.owns(kind, owner, file_id):
            return None
        key = _object_key(kind, file_id)
        size = await self.objects.size(key)
        if size is None or size < min_bytes:
            return None
        name = f"{file_id}{_SUFFIX[kind]}"
        return self.objects.url(key, expires_s, MIME_TYPES.guess_type(name)[0], name)

    async def lookup(self, kind: FileKind, owner: str, file_id: uuid.UUID) -> Path | None:
        """The file's path if it exists, is of ``kind`` and belongs to ``owner``.

        Another user's file looks exactly like a missing one (``None``). With an
        object store, a file this node lacks is fetched into ``root`` first.

        Raises:
            StorageUnavailable: the object store is unreachable.
        """
        record = await self._redis.hgetall(self._key(file_id))
        if record.get("kind") != kind or record.get("owner") != owner:
            return None
        path = self.path(kind, file_id)
        if self.objects is None:
            return path if path.is_file() else None
        try:
            os.utime(path)  # its last use: evict() deletes the least recently used
            return path
        except FileNotFoundError:
            pass
        if await self.objects.fetch(_object_key(kind, file_id), path, self._max_fetch_bytes):
            return path
        return None

    async def evict(self, max_bytes: int, min_age_s: float = EVICTION_MIN_AGE_S) -> Eviction:
        """Delete the least recently used working copies beyond ``max_bytes``
        (:func:`core.stores.eviction.evict`)."""
        return await evict(self, max_bytes, min_age_s)

    async def save_upload(
        self,
        kind: FileKind,
        owner: str,
        source: BinaryIO,
        filename: str | None,
        *,
        content_type: str | None = None,
        max_bytes: int,
        max_audio_duration_s: float,
        max_image_pixels: int,
        decode_timeout_s: float = DEFAULT_DECODE_TIMEOUT_S,
    ) -> uuid.UUID:
        """Validate an upload by its content, convert it and store it for ``owner``.

        The content alone decides whether the upload is accepted: audio is probed with
        ffprobe and decoded with ffmpeg, then stored as mp3; images are detected and
        decoded with Pillow (SVG parsed with defusedxml, rendered with cairosvg), then
        stored as png. The file name and MIME type are only hints (see
        :func:`format_hint`): a browser's ``blob``, a name without an extension or a
        wrong extension does not refuse a valid file, and a right one does not admit
        an invalid file.

        Args:
            kind: ``"audio"`` or ``"image"``.
            owner: Username of the uploader.
            source: The uploaded bytes (read in 1 MiB chunks).
            filename: The client's file name (any string, possibly empty); a hint only.
            content_type: The part's MIME type as the client sent it; a hint only.
            max_bytes: Upload size limit in bytes.
            max_audio_duration_s: Longest accepted recording, in seconds.
            max_image_pixels: Largest accepted image area, in pixels.
            decode_timeout_s: Time budget of ffmpeg/ffprobe on an audio upload, in
                seconds; the decoder is killed when it runs out.

        Returns:
            The new file's UUID.

        Raises:
            UploadTooLarge: (a MediaError) more than ``max_bytes`` bytes.
            DecodeTimeoutError: (a MediaError) decoding took over ``decode_timeout_s``.
            MediaError: not a file of ``kind`` by its content, not decodable, too long
                or too large; nothing is left on disk or in Redis.
        """
        suffix = format_hint(kind, filename, content_type)
        file_id = uuid.uuid4()
        destination = self.path(kind, file_id)
        # Copy and decode in a worker thread: both block for as long as the file is big.
        await asyncio.to_thread(
            self._stage_and_convert,
            kind,
            source,
            suffix,
            destination,
            max_bytes,
            max_audio_duration_s,
            max_image_pixels,
            decode_timeout_s,
        )
        try:
            await self.register(kind, owner, [file_id])
        except BaseException:
            destination.unlink(missing_ok=True)
            raise
        return file_id

    def _stage_and_convert(
        self,
        kind: FileKind,
        source: BinaryIO,
        suffix: str,
        destination: Path,
        max_bytes: int,
        max_audio_duration_s: float,
        max_image_pixels: int,
        decode_timeout_s: float,
    ) -> None:
        with tempfile.NamedTemporaryFile(dir=self.root / "tmp", suffix=suffix) as staged:
            _copy_limited(source, staged, max_bytes)
            staged.flush()
            if kind == "audio":
                convert_upload_to_mp3(
                    staged.name,
                    destination,
                    max_duration_s=max_audio_duration_s,
                    timeout_s=decode_timeout_s,
                )
            else:
                convert_upload_to_png(staged.name, destination, max_pixels=max_image_pixels)


def _object_key(kind: FileKind, file_id: uuid.UUID) -> str:
    return f"{kind}/{file_id}{_SUFFIX[kind]}"


def _copy_limited(source: BinaryIO, target: BinaryIO, max_bytes: int) -> None:
    copied = 0
    while chunk := source.read(_COPY_CHUNK):
        copied += len(chunk)
        if copied > max_bytes:
            raise UploadTooLarge(f"The file is larger than the limit of {max_bytes} bytes")
        target.write(chunk)
