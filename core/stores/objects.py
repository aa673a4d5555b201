"""Object storage for file bytes: a local folder or an S3-compatible bucket.

The file store keeps owners in Redis and bytes here, under keys such as
``audio/{uuid}.mp3``. Two backends implement :class:`ObjectStore`:

* :class:`LocalObjectStore`: a folder (the embedded default; on a multi-node cluster
  every node must mount the same one);
* :class:`S3ObjectStore`: any S3-compatible service (AWS S3, MinIO, SeaweedFS) through
  boto3, so every node reads the same bytes without a shared disk.

Both copy whole files between the store and a local path, because the models, ffmpeg
and Pillow read local files: a reader fetches the object to a temporary file under a
size cap, and a writer puts a finished local file. Sizes are bytes; times are seconds.

:class:`core.stores.files.FileStore` uses one when ``FMR_STORAGE_URL`` is set
(``api.settings.Settings.object_store``). The S3 backend is tested against a real
SeaweedFS server (``tests/core/stores/test_objects.py``, ``test_files_s3.py``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

__all__ = [
    "LocalObjectStore",
    "ObjectStore",
    "ObjectTooLarge",
    "S3ObjectStore",
    "StorageUnavailable",
    "object_store",
]

#: Files above this go up in parts (S3 multipart upload), each this large: boto3's
#: TransferConfig default (8 MiB), kept explicit because it decides the request count.
MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024


class ObjectTooLarge(Exception):
    """The object is larger than the reader's size cap; nothing was written."""


class StorageUnavailable(Exception):
    """The object store cannot be reached or answered with a server error (retry later).

    The API answers it with 503 and ``Retry-After``; the task consumer takes it for an
    outage, during which a task waits without using up its attempts
    (:mod:`core.tasks.consumer`).
    """


class ObjectStore(Protocol):
    """Whole-file access to objects by key (``audio/{uuid}.mp3``)."""

    async def put_file(self, key: str, source: Path) -> None:
        """Store the local file ``source`` under ``key`` (replacing any object there)."""
        ...

    async def fetch(self, key: str, target: Path, max_bytes: int) -> bool:
        """Copy the object to ``target``; False if there is none.

        Raises:
            ObjectTooLarge: it is larger than ``max_bytes`` (``target`` is not written).
            StorageUnavailable: the store cannot be reached.
        """
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; no error if there is none."""
        ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None if there is none.

        Raises:
            StorageUnavailable: the store cannot be reached.
        """
        ...

    def url(
        self, key: str, expires_s: int, content_type: str | None = None,
        filename: str | None = None,
    ) -> str | None:
        """A time-limited download URL for the object, or None if the store has none.

        ``content_type`` and ``filename`` set the ``Content-Type`` and the attachment
        name of the answer to that URL.
        """
        ...


class LocalObjectStore:
    """Objects as files under ``root`` (written to a temporary name, then renamed).

    Args:
        root: The folder; keys are paths relative to it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key {key!r} leaves the store")
        return path

    async def put_file(self, key: str, source: Path) -> None:
        await asyncio.to_thread(_copy_atomically, source, self._path(key))

    async def fetch(self, key: str, target: Path, max_bytes: int) -> bool:
        path = self._path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        if size > max_bytes:
            raise ObjectTooLarge(f"{key} is {size} bytes, over the cap of {max_bytes}")
        await asyncio.to_thread(_copy_atomically, path, target)
        return True

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def url(
        self, key: str, expires_s: int, content_type: str | None = None,
        filename: str | None = None,
    ) -> str | None:
        return None


class S3ObjectStore:
    """Objects in an S3-compatible bucket, through boto3.

    Credentials and region come from boto3's usual chain (``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, profiles, instance roles) unless
    given. boto3's ``standard`` retry mode retries throttling and 5xx answers with
    back-off (at most ``max_attempts`` tries); what still fails is
    :class:`StorageUnavailable`.

    Args:
        bucket: The bucket (created by the operator, not here).
        prefix: Key prefix inside the bucket (``""`` or ``"fmr/"``).
        endpoint_url: The S3 endpoint of MinIO, SeaweedFS...; None for AWS.
        region: The region name; None for boto3's default.
        credentials: Optional ``aws_access_key_id`` / ``aws_secret_access_key``.
        connect_timeout_s, read_timeout_s: Per request.
        max_attempts: Tries per request, the first included.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: dict[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        max_attempts: int = 3,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                connect_timeout=connect_timeout_s,
                read_timeout=read_timeout_s,
                retries={"mode": "standard", "max_attempts": max_attempts},
            ),
            **(credentials or {}),
        )
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_CHUNK_BYTES,
            multipart_chunksize=MULTIPART_CHUNK_BYTES,
            use_threads=False,  # the callers' threads already run in parallel
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def put_file(self, key: str, source: Path) -> None:
        await self._call(
            self._client.upload_file,
            str(source),
            self.bucket,
            self._key(key),
            Config=self._transfer,
        )

    async def fetch(self, key: str, target: Path, max_bytes: int) -> bool:
        head = await self._head(key)
        if head is None:
            return False
        size = int(head["ContentLength"])
        if size > max_bytes:
            raise ObjectTooLarge(f"{key} is {size} bytes, over the cap of {max_bytes}")
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(handle)
        try:
            await self._call(
                self._client.download_file,
                self.bucket,
                self._key(key),
                partial,
                Config=self._transfer,
            )
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)
        return True

    async def exists(self, key: str) -> bool:
        return await self._head(key) is not None

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def size(self, key: str) -> int | None:
        head = await self._head(key)
        return None if head is None else int(head["ContentLength"])

    def url(
        self, key: str, expires_s: int, content_type: str | None = None,
        filename: str | None = None,
    ) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expires_s
        )

    async def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return await self._call(
                self._client.head_object, Bucket=self.bucket, Key=self._key(key), _raw=True
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise _unavailable(error) from error

    async def _call(self, fn: Any, *args: Any, _raw: bool = False, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except ClientError as error:
            if _raw:
                raise
            raise _unavailable(error) from error
        except BotoCoreError as error:  # connection refused, timeouts, ...
            raise StorageUnavailable(f"object store unreachable: {error}") from error


def _unavailable(error: Exception) -> Exception:
    status = getattr(error, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is not None and int(status) >= 500:
        return StorageUnavailable(f"object store error {status}: {error}")
    return error


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".part")
    os.close(handle)
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def object_store(url: str, **s3_options: Any) -> ObjectStore:
    """The store a URL names: ``s3://bucket/prefix`` or a folder (``/data``, ``file:///data``).

    ``s3_options`` are :class:`S3ObjectStore` keyword arguments (endpoint, region...).

    Raises:
        ValueError: another scheme, or an S3 URL without a bucket.
    """
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"no bucket in {url!r}")
        prefix = parsed.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3ObjectStore(parsed.netloc, prefix, **s3_options)
    if parsed.scheme in ("", "file"):
        return LocalObjectStore(Path(parsed.path if parsed.scheme else url))
    raise ValueError(f"unsupported storage URL {url!r}: use s3://bucket/prefix or a folder")
