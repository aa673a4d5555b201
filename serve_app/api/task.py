"""``/v1/task``: status and raw result of any task."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status

from serve_app.api.common import documented, task_result
from serve_app.deps import CurrentUser, ServicesDep, get_current_active_user
from serve_app.schemas import TaskStatusResponse

router = APIRouter(prefix="/task", tags=["task"], dependencies=[Depends(get_current_active_user)])


@router.get(
    "/status",
    response_model=TaskStatusResponse,
    summary="The status of a task: pending, in_progress, completed or failed.",
    responses=documented((404, "No task with this id belongs to the user", "Task not found")),
)
async def get_job_status(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> TaskStatusResponse:
    """``ready`` turns true when the task is finished (``completed`` or ``failed``);
    a failed task carries its reason in ``error``."""
    task = await services.tasks.get(task_id, owner=user.username)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Task not found")
    return TaskStatusResponse(
        task_id=task.task_id, status=task.status.value, ready=task.finished, error=task.error
    )


@router.get(
    "/result",
    summary="The result of any finished task, in its kind's result schema.",
    responses=documented(
        (
            406,
            "The task does not exist or has not finished",
            "Results are not ready yet or no task with such id exist",
        )
    ),
)
async def get_job_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    return await task_result(
        services, user, task_id, None, "Results are not ready yet or no task with such id exist"
    )
