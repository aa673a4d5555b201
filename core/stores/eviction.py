"""Keeping each node's working copy of the object store under its size cap.

With an object store (:mod:`core.stores.objects`), a :class:`~core.stores.files.FileStore`'s
``root`` is this node's cache of it: :func:`evict` (run every minute by the serving
replicas through :func:`evict_periodically`) deletes the least recently used files
beyond a size cap; the next lookup fetches a deleted file again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.stores.files import FileStore

__all__ = ["EVICTION_MIN_AGE_S", "EVICTION_PERIOD_S", "Eviction", "evict", "evict_periodically"]

logger = logging.getLogger(__name__)

#: A working copy used (looked up, written) this recently is never evicted, seconds:
#: a running task may still read it (one attempt runs at most ``task_timeout_s``,
#: 600 s by default), and a file just written may not be in the object store yet.
EVICTION_MIN_AGE_S = 3600.0
#: Seconds between two sweeps of :func:`evict_periodically`.
EVICTION_PERIOD_S = 60.0


@dataclass(frozen=True)
class Eviction:
    """What one sweep of the working copies did.

    Attributes:
        evicted: Files deleted from ``root``; ``freed_bytes``: their total size.
        kept_bytes: Total size of the working copies left, bytes.
        unstored: Recorded files kept over the cap because only this node has them
            (written before the object store was configured).
    """

    evicted: int = 0
    freed_bytes: int = 0
    kept_bytes: int = 0
    unstored: int = 0



async def evict_periodically(
    files: FileStore, max_bytes: int, period_s: float = EVICTION_PERIOD_S
) -> None:
    """Run ``files.evict(max_bytes)`` now and every ``period_s`` seconds, forever.

    A background task of each serving replica that has an object store; a failed
    sweep (the store unreachable) is logged and the next one tries again.
    """
    while True:
        try:
            done = await files.evict(max_bytes)
            if done.evicted:
                logger.info("Working copies in %s: %s", files.root, done)
            if done.unstored:
                message = "%d recorded files in %s are only there, not in the object store"
                logger.warning(message, done.unstored, files.root)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            logger.warning("Evicting working copies failed", exc_info=True)
        await asyncio.sleep(period_s)


async def evict(
    files: FileStore, max_bytes: int, min_age_s: float = EVICTION_MIN_AGE_S
) -> Eviction:
    """Delete the least recently used working copies until they total ``max_bytes``.

    Only with an object store, of which ``root`` is then a cache (without one,
    ``root`` is the store and nothing is deleted). Only ``root/audio`` and
    ``root/image`` files named as the store names them are considered, oldest
    modification time first (:meth:`lookup` updates it), never staging files
    (``root/tmp``) or partial downloads. Kept even over the cap: a file used in
    the last ``min_age_s`` seconds, and a recorded file the store lacks
    (``Eviction.unstored``). A file neither stored nor recorded is an orphan
    (``register`` failed) and goes. The next lookup fetches a deleted file again.

    Raises:
        StorageUnavailable: the object store is unreachable (the sweep stops).
    """
    if files.objects is None:
        return Eviction()
    copies = await asyncio.to_thread(_working_copies, files)
    total = sum(size for _, _, _, size, _ in copies)
    oldest_kept = time.time() - min_age_s
    evicted = freed = unstored = 0
    for path, file_id, key, size, mtime in copies:  # least recently used first
        if total <= max_bytes or mtime > oldest_kept:
            break
        if not await files.objects.exists(key) and await files.is_recorded(file_id):
            unstored += 1  # deleting it would lose it
            continue
        # FileNotFoundError: another replica of this node (same root) deleted it.
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime != mtime:
                continue  # looked up meanwhile: in use again
            path.unlink()
            evicted, freed, total = evicted + 1, freed + size, total - size
    return Eviction(evicted, freed, total, unstored)

def _working_copies(files: FileStore) -> list[tuple[Path, uuid.UUID, str, int, float]]:
    """(path, file id, object key, size, mtime) of every working copy, oldest first."""
    copies = []
    for kind, suffix in (("audio", ".mp3"), ("image", ".png")):
        for path in (files.root / kind).glob(f"*{suffix}"):
            try:
                file_id, stat = uuid.UUID(path.stem), path.stat()
            except (ValueError, FileNotFoundError):
                continue  # not a working copy, or just deleted
            key = files.object_key(kind, file_id)
            copies.append((path, file_id, key, stat.st_size, stat.st_mtime))
    return sorted(copies, key=lambda copy: copy[4])
