"""What the client can upload: a path, bytes, an open binary file, or a URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import IO, Any

__all__ = ["Source", "is_url", "read_source"]

#: A file to upload: a path, its bytes, an open binary file, or an http(s) URL (a
#: ``str``) the service fetches itself (``POST /v1/{kind}/upload_url``).
Source = str | os.PathLike[str] | bytes | IO[bytes]

_URL = re.compile(r"^https?://", re.IGNORECASE)


def is_url(source: Any) -> bool:
    """Whether ``source`` is an http(s) URL (a ``str``) rather than a path."""
    return isinstance(source, str) and _URL.match(source) is not None


def read_source(source: Source, filename: str | None) -> tuple[str, bytes]:
    """The upload's file name and bytes.

    Raises:
        OSError: a path cannot be read.
        TypeError: ``source`` is none of the accepted kinds.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return filename or "upload", bytes(source)
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        return filename or path.name, path.read_bytes()
    if hasattr(source, "read"):
        name = filename or os.path.basename(str(getattr(source, "name", "") or "upload"))
        return name, source.read()
    raise TypeError(f"Cannot upload a {type(source).__name__}: give a path, bytes, a file or a URL")
