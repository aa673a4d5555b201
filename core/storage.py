"""Uploaded and derived files: bytes on a local (or shared) folder, owners in Redis.

Layout: ``{root}/audio/{uuid}.mp3``, ``{root}/image/{uuid}.png``, staging in
``{root}/tmp``. A file exists for the API only when both its bytes and its Redis
record exist, and the record names the caller as owner; the bytes are always
written first and the record last, so a crash in between leaves an orphan file
but never a record pointing at nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Literal

from redis.asyncio import Redis

from core.audio import ALLOWED_AUDIO_EXTENSIONS, DEFAULT_DECODE_TIMEOUT_S, convert_upload_to_mp3
from core.errors import MediaError
from core.media import ALLOWED_IMAGE_EXTENSIONS, convert_upload_to_png

__all__ = ["FileKind", "FileStore", "UploadTooLarge"]

FileKind = Literal["audio", "image"]
_SUFFIX: dict[str, str] = {"audio": ".mp3", "image": ".png"}
_COPY_CHUNK = 1024 * 1024


class UploadTooLarge(MediaError):
    """The upload is larger than the configured byte limit."""


class FileStore:
    """Owner-scoped file storage.

    Args:
        redis: Asyncio Redis client (``decode_responses=True``).
        prefix: Key prefix shared by the service.
        root: Folder holding the files; must be shared by every node that runs an
            ingress or pipeline replica.
    """

    def __init__(self, redis: Redis, prefix: str, root: Path) -> None:
        self._redis = redis
        self._prefix = prefix
        self.root = root
        for sub in ("audio", "image", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def _key(self, file_id: uuid.UUID) -> str:
        return f"{self._prefix}file:{file_id}"

    def path(self, kind: FileKind, file_id: uuid.UUID) -> Path:
        """Where the bytes of a file live (whether or not they exist)."""
        return self.root / kind / f"{file_id}{_SUFFIX[kind]}"

    def directory(self, kind: FileKind) -> Path:
        """The folder of one kind of file."""
        return self.root / kind

    async def register(self, kind: FileKind, owner: str, file_ids: Iterable[uuid.UUID]) -> None:
        """Record files whose bytes are already in place as belonging to ``owner``."""
        record = {"kind": kind, "owner": owner, "created": str(time.time())}
        async with self._redis.pipeline(transaction=True) as pipe:
            for file_id in file_ids:
                pipe.hset(self._key(file_id), mapping=record)
            await pipe.execute()

    async def lookup(self, kind: FileKind, owner: str, file_id: uuid.UUID) -> Path | None:
        """The file's path if it exists, is of ``kind`` and belongs to ``owner``.

        Another user's file looks exactly like a missing one (``None``).
        """
        record = await self._redis.hgetall(self._key(file_id))
        if record.get("kind") != kind or record.get("owner") != owner:
            return None
        path = self.path(kind, file_id)
        return path if path.is_file() else None

    async def save_upload(
        self,
        kind: FileKind,
        owner: str,
        source: BinaryIO,
        filename: str | None,
        *,
        max_bytes: int,
        max_audio_duration_s: float,
        max_image_pixels: int,
        decode_timeout_s: float = DEFAULT_DECODE_TIMEOUT_S,
    ) -> uuid.UUID:
        """Validate an upload by its content, convert it and store it for ``owner``.

        Audio is decoded with ffmpeg (through pydub) and stored as mp3; images are
        decoded with Pillow (SVG rendered with cairosvg) and stored as png.

        Args:
            kind: ``"audio"`` or ``"image"``.
            owner: Username of the uploader.
            source: The uploaded bytes (read in 1 MiB chunks).
            filename: The client's file name; only its extension is used.
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
            MediaError: wrong extension, not decodable, too long or too large; nothing
                is left on disk or in Redis.
        """
        allowed = ALLOWED_AUDIO_EXTENSIONS if kind == "audio" else ALLOWED_IMAGE_EXTENSIONS
        suffix = Path(filename or "").suffix.lower()
        if suffix not in allowed:
            raise MediaError(f"Only {kind} files uploads are allowed")
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


def _copy_limited(source: BinaryIO, target: BinaryIO, max_bytes: int) -> None:
    copied = 0
    while chunk := source.read(_COPY_CHUNK):
        copied += len(chunk)
        if copied > max_bytes:
            raise UploadTooLarge(f"The file is larger than the limit of {max_bytes} bytes")
        target.write(chunk)

