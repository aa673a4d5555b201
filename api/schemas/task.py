"""Schemas of ``/v1/task``."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

__all__ = ["TaskStatusResponse"]


class TaskStatusResponse(BaseModel):
    """``ready`` is true once the task is finished, ``completed`` or ``failed``;
    ``error`` says why a ``failed`` task failed."""

    task_id: UUID
    status: str
    ready: bool
    error: str | None = None
