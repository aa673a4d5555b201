"""Task records in Redis and their hand-off queue (a Redis Stream consumer group).

A task is a hash ``{prefix}task:{uuid}`` (kind, owner, status, payload, result,
error, attempts, timestamps, ``session_id``, ``trace_id``, the ``models`` that served
it). Each task is also indexed for the request archive (:mod:`core.stores.archive`):
by owner, by owner and session, by owner and trace id, and by time for the
retention sweep (sorted sets scored by creation time), and each input file names
the tasks that use it. Creating a task writes the hash and appends its id
to the stream ``{prefix}tasks`` in one MULTI/EXEC transaction, so a task that got
an id is always both recorded and queued. Finishing a task writes the result and
acknowledges (and deletes) its stream entry in one transaction, so an entry leaves
the queue only together with a terminal status. See ``docs/design.md``.

Statuses: ``pending`` -> ``in_progress`` -> ``completed`` | ``failed``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar, overload

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.exceptions import ResponseError, WatchError

M = TypeVar("M", bound=BaseModel)

__all__ = ["Task", "TaskKind", "TaskStatus", "TaskStore", "TERMINAL_STATUSES"]


class TaskStatus(str, Enum):
    """Lifecycle of a task."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"


TERMINAL_STATUSES = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED})


class TaskKind(str, Enum):
    """What a task does; each typed result endpoint accepts exactly one kind."""

    AUDIO_PROCESSING = "audio_processing"
    AUDIO_EXTRACTION = "audio_extraction"
    IMAGE_PROCESSING = "image_processing"
    AUDIO_IMAGE_COMPARISON = "audio_image_comparison"
    AUDIO_TEXT_COMPARISON = "audio_text_comparison"


@dataclass(frozen=True)
class Task:
    """A task record (without its result, which can be large).

    Attributes:
        task_id: The task's UUID.
        kind: What the task does.
        owner: Username of the user who created it.
        status: Current status.
        payload: The task's input (file ids, model names, texts).
        error: Why it failed, for ``failed`` tasks.
        attempts: How many times a worker started it.
        created: Creation time, Unix seconds.
        updated: Last status change, Unix seconds.
        session_id: The client's label grouping tasks (a reading session, a student).
        trace_id: The ``X-Request-ID`` of the request that created the task.
    """

    task_id: uuid.UUID
    kind: TaskKind
    owner: str
    status: TaskStatus
    payload: dict[str, Any]
    error: str | None
    attempts: int
    created: float
    updated: float
    session_id: str | None = None
    trace_id: str | None = None

    @property
    def finished(self) -> bool:
        """True once the task is ``completed`` or ``failed``."""
        return self.status in TERMINAL_STATUSES


class TaskStore:
    """Create, read and finish tasks; owns the stream and its consumer group.

    Args:
        redis: Asyncio Redis client (``decode_responses=True``).
        prefix: Key prefix shared by the service.
        group: Consumer group of the workers.
    """

    def __init__(self, redis: Redis, prefix: str, group: str = "pipeline") -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = f"{prefix}tasks"
        self.group = group

    def _key(self, task_id: uuid.UUID | str) -> str:
        return f"{self.prefix}task:{task_id}"

    def index_key(self, owner: str, field: str | None = None, value: str | None = None) -> str:
        """The sorted set (member: task id, score: creation time) of ``owner``'s tasks,
        or of those whose ``field`` (``session_id`` or ``trace_id``) is ``value``."""
        base = f"{self.prefix}archive:{owner}"
        return base if field is None else f"{base}:{field}:{value}"

    @property
    def by_time_key(self) -> str:
        """The sorted set of every task by creation time (the retention sweep's)."""
        return f"{self.prefix}archive-by-time"

    def users_of_key(self, file_id: uuid.UUID | str) -> str:
        """The set of task ids that use a file as an input."""
        return f"{self.prefix}file-tasks:{file_id}"

    async def ensure_group(self) -> None:
        """Create the stream and consumer group if missing (idempotent)."""
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def create(
        self,
        kind: TaskKind,
        owner: str,
        payload: dict[str, Any],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
        inputs: Sequence[uuid.UUID | str] = (),
    ) -> uuid.UUID:
        """Record a ``pending`` task, index it and queue it, atomically.

        Args:
            kind: What the task does.
            owner: The user's name.
            payload: The task's input (JSON data).
            session_id: The client's grouping label, if any.
            trace_id: The creating request's ``X-Request-ID``.
            inputs: Ids of the files the task reads (their reference sets).

        Returns:
            The new task's UUID.
        """
        task_id = uuid.uuid4()
        created = time.time()
        record: dict[str, Any] = {
            "kind": kind.value,
            "owner": owner,
            "status": TaskStatus.PENDING.value,
            "payload": json.dumps(payload),
            "attempts": 0,
            "created": str(created),
            "updated": str(created),
        }
        member = {str(task_id): created}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self.index_key(owner), member)
            pipe.zadd(self.by_time_key, member)
            for field, value in (("session_id", session_id), ("trace_id", trace_id)):
                if value is not None:
                    record[field] = value
                    pipe.zadd(self.index_key(owner, field, value), member)
            for file_id in inputs:
                pipe.sadd(self.users_of_key(file_id), str(task_id))
            pipe.hset(self._key(task_id), mapping=record)
            pipe.xadd(self.stream, {"task_id": str(task_id)})
            await pipe.execute()
        return task_id

    async def record_models(self, task_id: uuid.UUID | str, models: dict[str, Any]) -> None:
        """Keep the configuration of the models that served a task (``/full_request``).

        Args:
            models: Model name -> its configuration (plugin, options, versions).
        """
        key = self._key(task_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    if not await pipe.exists(key):
                        await pipe.unwatch()
                        return  # deleted meanwhile: do not resurrect it
                    known = json.loads(await pipe.hget(key, "models") or "{}")
                    pipe.multi()
                    pipe.hset(key, "models", json.dumps(known | models))
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def models(self, task_id: uuid.UUID | str) -> dict[str, Any]:
        """The configuration of the models that served a task (empty before any did)."""
        return json.loads(await self.redis.hget(self._key(task_id), "models") or "{}")

    async def get(self, task_id: uuid.UUID | str, owner: str | None = None) -> Task | None:
        """The task, or ``None`` if unknown or (when ``owner`` is given) not theirs."""
        fields = await self.redis.hmget(
            self._key(task_id),
            [
                "kind", "owner", "status", "payload", "error", "attempts", "created", "updated",
                "session_id", "trace_id",
            ],
        )
        kind, task_owner, status, payload, error, attempts, created, updated = fields[:8]
        if kind is None or (owner is not None and task_owner != owner):
            return None
        return Task(
            task_id=uuid.UUID(str(task_id)),
            kind=TaskKind(kind),
            owner=task_owner,
            status=TaskStatus(status),
            payload=json.loads(payload),
            error=error,
            attempts=int(attempts or 0),
            created=float(created),
            updated=float(updated),
            session_id=fields[8],
            trace_id=fields[9],
        )

    @overload
    async def result(self, task_id: uuid.UUID) -> dict[str, Any] | None: ...

    @overload
    async def result(self, task_id: uuid.UUID, model: type[M]) -> M | None: ...

    async def result(
        self, task_id: uuid.UUID, model: type[M] | None = None
    ) -> M | dict[str, Any] | None:
        """The stored result of a completed task, else ``None``: parsed as ``model``
        (a :mod:`core.results` type), or as JSON data without one.

        Raises:
            pydantic.ValidationError: the stored result is not a ``model``.
        """
        raw = await self.redis.hget(self._key(task_id), "result")
        if raw is None:
            return None
        return json.loads(raw) if model is None else model.model_validate_json(raw)

    async def start(self, task_id: str) -> Task | None:
        """Mark a task ``in_progress`` and count the attempt.

        Returns:
            The task, or ``None`` if it is unknown or already finished (a duplicate
            delivery), in which case the caller just acknowledges the entry.
        """
        key = self._key(task_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    status = await pipe.hget(key, "status")
                    if status is None or TaskStatus(status) in TERMINAL_STATUSES:
                        await pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.hset(
                        key,
                        mapping={"status": TaskStatus.IN_PROGRESS.value, "updated": time.time()},
                    )
                    pipe.hincrby(key, "attempts", 1)
                    await pipe.execute()
                    break
                except WatchError:
                    continue
        return await self.get(task_id)

    async def finish(
        self,
        task_id: str,
        entry_id: str,
        *,
        result: BaseModel | dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Store the outcome and remove the stream entry, atomically.

        Exactly one of ``result`` (-> ``completed``; a :mod:`core.results` model,
        stored as its JSON) and ``error`` (-> ``failed``) is given.
        """
        if (result is None) == (error is None):
            raise ValueError("finish() needs exactly one of result and error")
        fields: dict[str, Any] = {"updated": time.time()}
        if result is not None:
            data = (
                result.model_dump_json() if isinstance(result, BaseModel) else json.dumps(result)
            )
            fields |= {"status": TaskStatus.COMPLETED.value, "result": data}
        else:
            fields |= {"status": TaskStatus.FAILED.value, "error": error}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(task_id), mapping=fields)
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def record_outage(self, task_id: str, now: float) -> tuple[int, float]:
        """Count an attempt of the task that met an outage (the object store down).

        Args:
            task_id: The task.
            now: The time of this outage, epoch seconds.

        Returns:
            ``(outages, since)``: the task's outages so far, this one included, and the
            time of its first outage (epoch seconds), kept in its record so that any
            consumer, after any restart, sees the same budget.
        """
        key = self._key(task_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "outage_since", now)
            pipe.hincrby(key, "outages", 1)
            pipe.hget(key, "outage_since")
            _, outages, since = await pipe.execute()
        return int(outages), float(since)

    async def discard_entry(self, entry_id: str) -> None:
        """Acknowledge and delete a stream entry whose task needs no work."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def queue_depth(self) -> dict[str, int]:
        """Entries waiting (``queued``) and delivered but unacknowledged (``in_flight``)."""
        in_flight = 0
        lag = 0
        if not await self.redis.exists(self.stream):
            return {"queued": 0, "in_flight": 0}
        for group in await self.redis.xinfo_groups(self.stream):
            if group["name"] == self.group:
                in_flight = int(group["pending"])
                lag = group.get("lag")
                if lag is None:
                    # Redis reports no lag once an entry behind a pending one was
                    # deleted. Every acknowledged entry is deleted with its ack, so the
                    # stream holds exactly the pending entries and the waiting ones.
                    lag = await self.redis.xlen(self.stream) - in_flight
                lag = int(lag)
        return {"queued": lag, "in_flight": in_flight}
