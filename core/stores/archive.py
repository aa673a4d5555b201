"""The request archive: a user's past tasks by date, their deletion and retention.

Every task is indexed when it is created (:meth:`core.stores.tasks.TaskStore.create`):
in sorted sets scored by creation time (Unix seconds) per owner, per owner and
``session_id``, per owner and ``trace_id``, and in one set of all tasks for the
retention sweep. Files are indexed alike by :meth:`core.stores.files.FileStore.register`
(per owner, by time, and per task for the segments a task cut).

Deleting a task deletes its record, its index entries, the files it cut and, unless
another of the owner's tasks still uses them, its input files. :func:`sweep` deletes
every task and file older than the retention period; :func:`sweep_periodically` runs
it in the serving replicas.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
import uuid
from dataclasses import dataclass

from core.stores.files import FileStore
from core.stores.tasks import Task, TaskStore

__all__ = [
    "ArchivePage",
    "BadCursor",
    "Deleted",
    "RETENTION_PERIOD_S",
    "delete_all",
    "delete_task",
    "list_tasks",
    "sweep",
    "sweep_periodically",
]

logger = logging.getLogger(__name__)

#: Seconds between two retention sweeps of :func:`sweep_periodically`.
RETENTION_PERIOD_S = 3600.0
#: Tasks (or files) deleted per round trip of a sweep, so one sweep never holds Redis.
_SWEEP_BATCH = 500


class BadCursor(ValueError):
    """A pagination cursor that this service did not hand out."""


@dataclass(frozen=True)
class ArchivePage:
    """One page of a user's tasks, newest first.

    Attributes:
        tasks: The tasks of this page (at most the page size).
        next_cursor: Pass it back to get the next page; ``None`` on the last one.
    """

    tasks: list[Task]
    next_cursor: str | None


@dataclass(frozen=True)
class Deleted:
    """What a deletion removed: task records and files (inputs and cut segments)."""

    requests: int = 0
    files: int = 0

    def __add__(self, other: Deleted) -> Deleted:
        return Deleted(self.requests + other.requests, self.files + other.files)


def _encode_cursor(score: float, task_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}|{task_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, task_id = raw.split("|", 1)
        return float(score), str(uuid.UUID(task_id))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise BadCursor("The cursor is not one this service handed out") from error


async def list_tasks(
    tasks: TaskStore,
    owner: str,
    *,
    date_from: float | None = None,
    date_to: float | None = None,
    session_id: str | None = None,
    trace_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> ArchivePage:
    """The owner's tasks created in ``[date_from, date_to]`` (Unix seconds, both
    inclusive; open when ``None``), newest first, filtered by session and trace id.

    The most selective index answers (trace id, else session, else all tasks); the
    other filter is applied to its rows. The cursor is the last row's creation time
    and id, so pages stay stable while new tasks arrive.

    Raises:
        BadCursor: ``cursor`` was not handed out by this function.
    """
    if trace_id is not None:
        key = tasks.index_key(owner, "trace_id", trace_id)
    elif session_id is not None:
        key = tasks.index_key(owner, "session_id", session_id)
    else:
        key = tasks.index_key(owner)
    high: float | str = "+inf" if date_to is None else date_to
    after: tuple[float, str] | None = None
    if cursor is not None:
        after = _decode_cursor(cursor)
        high = after[0] if date_to is None else min(after[0], date_to)
    low: float | str = "-inf" if date_from is None else date_from
    found: list[Task] = []
    offset = 0
    while len(found) <= limit:
        rows = await tasks.redis.zrevrangebyscore(
            key, high, low, start=offset, num=limit + 1, withscores=True
        )
        if not rows:
            break
        offset += len(rows)
        for task_id, score in rows:
            # Equal scores come in reverse member order: skip up to the cursor's row.
            if after is not None and score == after[0] and task_id >= after[1]:
                continue
            task = await tasks.get(task_id, owner=owner)
            if task is None:
                continue  # deleted meanwhile (its index entry goes with it)
            if session_id is not None and task.session_id != session_id:
                continue
            found.append(task)
            if len(found) > limit:
                break
    page = found[:limit]
    more = len(found) > limit
    next_cursor = _encode_cursor(page[-1].created, str(page[-1].task_id)) if more else None
    return ArchivePage(page, next_cursor)


async def delete_task(tasks: TaskStore, files: FileStore, task: Task) -> Deleted:
    """Delete a task: its files (cut segments; inputs no other task of the owner
    uses), then its record and index entries. Files go first, so a failure leaves a
    task that a retry deletes in full.

    Raises:
        StorageUnavailable: the object store is unreachable.
    """
    redis = tasks.redis
    task_id = str(task.task_id)
    deleted_files = 0
    for file_id in await files.task_files(task_id):
        deleted_files += await files.delete(file_id)
    for file_id in _inputs(task):
        users = tasks.users_of_key(file_id)
        others = [f"{tasks.prefix}task:{t}" for t in await redis.smembers(users) if t != task_id]
        if not others or not await redis.exists(*others):  # one round trip for all
            deleted_files += await files.delete(file_id)
            await redis.delete(users)
        else:
            await redis.srem(users, task_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(f"{tasks.prefix}task:{task_id}", files.task_files_key(task_id))
        pipe.zrem(tasks.index_key(task.owner), task_id)
        pipe.zrem(tasks.by_time_key, task_id)
        for field, value in (("session_id", task.session_id), ("trace_id", task.trace_id)):
            if value is not None:
                pipe.zrem(tasks.index_key(task.owner, field, value), task_id)
        await pipe.execute()
    return Deleted(requests=1, files=deleted_files)


def _inputs(task: Task) -> list[str]:
    """Ids of the files a task reads (``audio_file``, ``image_file``)."""
    return [str(task.payload[k]) for k in ("audio_file", "image_file") if task.payload.get(k)]


async def delete_all(tasks: TaskStore, files: FileStore, owner: str) -> Deleted:
    """Delete every task and every file of ``owner`` (uploads never used included).

    Raises:
        StorageUnavailable: the object store is unreachable.
    """
    done = Deleted()
    while ids := await tasks.redis.zrange(tasks.index_key(owner), 0, _SWEEP_BATCH - 1):
        for task_id in ids:
            task = await tasks.get(task_id, owner=owner)
            if task is None:
                await tasks.redis.zrem(tasks.index_key(owner), task_id)
                continue
            done += await delete_task(tasks, files, task)
    while ids := await tasks.redis.zrange(files.user_files_key(owner), 0, _SWEEP_BATCH - 1):
        for file_id in ids:
            done += Deleted(files=int(await files.delete(file_id)))
            await tasks.redis.zrem(files.user_files_key(owner), file_id)
    return done


async def sweep(
    tasks: TaskStore, files: FileStore, retention_s: float, now: float | None = None
) -> Deleted:
    """Delete every task and file created more than ``retention_s`` seconds before
    ``now`` (default: the current time), with what each task cut.

    A task still queued or running that old is deleted too: its inputs are gone.

    Raises:
        StorageUnavailable: the object store is unreachable (the next sweep resumes).
    """
    cutoff = (time.time() if now is None else now) - retention_s
    done = Deleted()
    while ids := await tasks.redis.zrangebyscore(
        tasks.by_time_key, "-inf", f"({cutoff}", start=0, num=_SWEEP_BATCH
    ):
        for task_id in ids:
            task = await tasks.get(task_id)
            if task is None:
                await tasks.redis.zrem(tasks.by_time_key, task_id)
                continue
            done += await delete_task(tasks, files, task)
    while ids := await tasks.redis.zrangebyscore(
        files.by_time_key, "-inf", f"({cutoff}", start=0, num=_SWEEP_BATCH
    ):
        for file_id in ids:
            done += Deleted(files=int(await files.delete(file_id)))
            await tasks.redis.zrem(files.by_time_key, file_id)
    return done


async def sweep_periodically(
    tasks: TaskStore, files: FileStore, retention_s: float, period_s: float = RETENTION_PERIOD_S
) -> None:
    """Run :func:`sweep` now and every ``period_s`` seconds, forever (a background
    task of each pipeline replica; concurrent sweeps only repeat each other's work).
    A failed sweep is logged and the next one tries again."""
    while True:
        try:
            done = await sweep(tasks, files, retention_s)
            if done.requests or done.files:
                logger.info("Retention sweep deleted %d requests, %d files",
                            done.requests, done.files)
        except Exception:  # noqa: BLE001 - the next sweep tries again
            logger.warning("Retention sweep failed", exc_info=True)
        await asyncio.sleep(period_s)
