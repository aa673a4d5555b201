"""Where a client keeps its tokens: in memory, or in a file shared by processes.

Refresh tokens are single use: after a refresh only the new one works, and sending
the old one again revokes the whole login session. A :class:`TokenStore` therefore
both keeps the latest tokens and gives a lock held around each refresh, so that two
clients sharing a store (threads, or processes with :class:`FileTokenStore`) never
refresh with the same token: the second finds the first one's new tokens instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from fmr_client.models import Tokens

try:  # POSIX; elsewhere a file store locks within the process only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["FileTokenStore", "MemoryTokenStore", "TokenStore"]


class TokenStore(Protocol):
    """Keeps a client's tokens between refreshes (and, for a file, between runs)."""

    def load(self) -> Tokens | None:
        """The latest tokens, or ``None``."""

    def save(self, tokens: Tokens | None) -> None:
        """Keep ``tokens`` (``None``: forget them)."""

    def lock(self) -> AbstractContextManager[None]:
        """A lock held around a refresh (load, refresh, save)."""


class MemoryTokenStore:
    """Tokens in memory, for one process."""

    def __init__(self, tokens: Tokens | None = None) -> None:
        self._tokens = tokens
        self._lock = threading.RLock()

    def load(self) -> Tokens | None:
        return self._tokens

    def save(self, tokens: Tokens | None) -> None:
        self._tokens = tokens

    def lock(self) -> AbstractContextManager[None]:
        return _locked(self._lock)


class FileTokenStore:
    """Tokens in a JSON file only its owner can read (mode 0600, folder 0700).

    The file may hold more keys than the tokens (``extra``: e.g. the service URL and
    the user name); :meth:`save` keeps them. Writes go to a temporary file renamed
    over the old one, so a reader never sees half a file. :meth:`lock` takes an
    exclusive ``flock`` on ``<file>.lock``: processes sharing the file refresh one at
    a time.

    Args:
        path: The file, e.g. ``~/.config/fmr/credentials.json``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._thread_lock = threading.RLock()

    def read(self) -> dict[str, Any]:
        """The file's JSON object (``{}`` when there is no readable file)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, data: dict[str, Any]) -> None:
        """Replace the file's content with ``data``, mode 0600.

        Raises:
            OSError: the folder or the file cannot be written.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkstemp creates the file readable by its owner only (0600) from the start.
        handle, temporary = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w") as out:
                json.dump(data, out, indent=2)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        os.chmod(self.path, 0o600)

    def load(self) -> Tokens | None:
        data = self.read()
        if not isinstance(data.get("access_token"), str):
            return None
        return Tokens(
            access_token=data["access_token"],
            refresh_token=data.get("refresh_token"),
            expires_at=data.get("expires_at"),
            token_type=data.get("token_type", "bearer"),
        )

    def save(self, tokens: Tokens | None) -> None:
        data = {
            key: value
            for key, value in self.read().items()
            if key not in ("access_token", "refresh_token", "expires_at", "token_type")
        }
        if tokens is not None:
            data |= {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_at": tokens.expires_at,
                "token_type": tokens.token_type,
            }
        self.write(data)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            if fcntl is None:  # pragma: no cover - Windows
                yield
                return
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock


@contextlib.contextmanager
def _locked(lock: threading.RLock) -> Iterator[None]:
    with lock:
        yield
