"""``/v1/task``: status and raw result of any task."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.routes.common import (
    TASK_MISSING,
    documented,
    require_task,
    task_not_ready,
    task_result,
)
from api.schemas import TaskStatusResponse
from core.results import TaskResult

router = APIRouter(prefix="/task", tags=["task"], dependencies=[Depends(get_current_active_user)])

_NOT_READY = "Results are not ready yet or no task with such id exist"


@router.get(
    "/status",
    response_model=TaskStatusResponse,
    summary="The status of a task: pending, in_progress, completed or failed.",
    responses=documented(TASK_MISSING),
)
async def get_job_status(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> TaskStatusResponse:
    """``ready`` turns true when the task is finished (``completed`` or ``failed``);
    a failed task carries its reason in ``error``."""
    task = await require_task(services, user, task_id)
    return TaskStatusResponse(
        task_id=task.task_id, status=task.status.value, ready=task.finished, error=task.error
    )


@router.get(
    "/result",
    summary="The result of any finished task, in its kind's result schema.",
    responses=documented(task_not_ready(_NOT_READY)),
)
async def get_job_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> TaskResult:
    """406 for an unknown task or another user's (the same answer), and until it has
    finished."""
    return await task_result(services, user, task_id, None, _NOT_READY)
