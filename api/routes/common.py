"""Helpers shared by the routers: spec error responses, existence checks, results."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Query, UploadFile, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.schemas import (
    ErrorResponse,
    ModelData,
    ModelsDataReponse,
    UploadFileResponse,
    ValidationErrorResponse,
)
from api.services import Services
from api.task_service import create_task, require_model, upload_limits
from core.plugins import PluginKind
from core.results import RESULT_TYPES
from core.stores.files import FileKind
from core.stores.tasks import Task, TaskKind, TaskStatus
from core.stores.users import User

_MEDIA_TYPES: dict[FileKind, str] = {"audio": "audio/mpeg", "image": "image/png"}

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "URL_UPLOAD_ERRORS",
    "WaitQuery",
    "TASK_MISSING",
    "TASK_NOT_FOUND",
    "TASK_UNAVAILABLE",
    "create_task",
    "documented",
    "finished_task",
    "missing_inputs",
    "models_response",
    "task_not_ready",
    "require_file",
    "require_model",
    "require_task",
    "save_upload",
    "task_result",
]

#: ``documented`` triples of ``POST /v1/{audio,image}/upload_url``.
URL_UPLOAD_ERRORS: tuple[Documented, ...] = (
    (413, "The file at the URL is larger than the upload limit",
     "The file at example.org is larger than the maximum of 52428800 bytes"),
    (
        422,
        "The URL is refused (scheme, credentials, an address that is not public, too "
        "many redirects), cannot be fetched in time or with a 2xx, or is not a valid file",
        {
            "refused": "Downloads from localhost are not allowed",
            "status": "The server example.org answered with HTTP status 404 Not Found",
            "timeout": "Downloading from example.org took longer than 30 seconds",
        },
    ),
)

#: ``?wait=true`` of every task-creating route.
WaitQuery = Annotated[
    bool,
    Query(
        description="Return the finished result inline (`state: SUCCESS` with `result`, or "
        "`FAILURE` with `error`) if the task ends within the server's wait "
        "(`FMR_WAIT_TIMEOUT_S`, 30 s by default); else the task id with `state: PENDING`.",
    ),
]

#: ``/v1/task/status``'s ``detail`` for a task id that is unknown or belongs to another
#: user. The two cases answer the same, so ids of other users' tasks cannot be probed.
TASK_NOT_FOUND = "Task not found"

#: The result endpoints' ``detail`` (406, the spec's sentence) for a task id that is
#: unknown or belongs to another user: the same answer for both, as for TASK_NOT_FOUND.
TASK_UNAVAILABLE = (
    "It is impossible to get task result (task does not exist or it has not finished yet)"
)

#: ``documented`` triple for the 404 of ``/v1/task/status``.
TASK_MISSING = (
    404,
    "No task with this id belongs to the user (unknown, or another user's)",
    TASK_NOT_FOUND,
)

#: A documented error: ``(status, description, detail)``; ``detail`` is one example
#: ``detail`` or a mapping of example names to ``detail``s.
Documented = tuple[int, str, str | dict[str, str]]


def task_not_ready(detail: str) -> Documented:
    """``documented`` triple for a result endpoint's 406, with the three cases' bodies.

    Args:
        detail: The endpoint's spec ``detail`` for the caller's own unfinished task.
    """
    return (
        406,
        "No task with this id belongs to the user (unknown, or another user's: both "
        f'answer "{TASK_UNAVAILABLE}"), or the task has not finished yet, or it failed',
        {
            "unknown": TASK_UNAVAILABLE,
            "not_finished": detail,
            "failed": "The task failed: <reason>",
        },
    )


def missing_inputs(*kinds: str) -> Documented:
    """``documented`` triple for a task creation's 404: each model and file it names.

    Args:
        kinds: ``"audio"`` and/or ``"image"``, in the order they are checked.
    """
    examples = {f"{kind}_model": f"No such {kind} model available" for kind in kinds}
    examples |= {f"{kind}_file": f"No such {kind} file available" for kind in kinds}
    return 404, "The specified file or model was not found.", examples


def documented(*errors: Documented) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``(status, description, example detail(s))`` triples.

    The body is :class:`ErrorResponse`; a 422's is :class:`ValidationErrorResponse`,
    whose ``detail`` may also be FastAPI's list of validation issues. Statuses every
    route shares (401, 413, 429, 503...) are added by ``api.openapi``.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for code, description, detail in errors:
        if isinstance(detail, dict):
            media = {"examples": {k: {"value": {"detail": v}} for k, v in detail.items()}}
        else:
            media = {"example": {"detail": detail}}
        responses[code] = {
            "model": ValidationErrorResponse if code == 422 else ErrorResponse,
            "description": description,
            "content": {"application/json": media},
        }
    return responses


async def require_file(services: Services, user: User, kind: FileKind, file_id: uuid.UUID) -> None:
    """404 "No such {kind} file available" unless the user owns that file."""
    if not await services.files.owns(kind, user.username, file_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No such {kind} file available")


async def send_file(
    services: Services, user: User, kind: FileKind, file_id: uuid.UUID
) -> Response:
    """The user's file: its bytes, or a 307 to a presigned URL of the stored object when
    ``download_redirect_min_bytes`` is set and the file is at least that large.

    Raises:
        HTTPException: 404 "File not found" unless the user owns such a file.
        StorageUnavailable: the object store is unreachable (503, error handler).
    """
    settings = services.settings
    if settings.download_redirect_min_bytes is not None:
        url = await services.files.download_url(
            kind, user.username, file_id, settings.download_redirect_min_bytes,
            settings.download_url_ttl_s,
        )
        if url is not None:
            return RedirectResponse(url, status.HTTP_307_TEMPORARY_REDIRECT)
    path = await services.files.lookup(kind, user.username, file_id)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "File not found")
    return FileResponse(path, media_type=_MEDIA_TYPES[kind], filename=path.name)


async def require_task(services: Services, user: User, task_id: uuid.UUID) -> Task:
    """The user's task; 404 "Task not found" when it is unknown or someone else's."""
    task = await services.tasks.get(task_id, owner=user.username)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, TASK_NOT_FOUND)
    return task


async def task_result(
    services: Services,
    user: User,
    task_id: uuid.UUID,
    kinds: set[TaskKind] | None,
    not_ready: str,
    model: type[M] | None = None,
    wrong_kind: str | None = None,
) -> M:
    """The stored result of the user's completed task (see :func:`finished_task`)."""
    return (await finished_task(services, user, task_id, kinds, not_ready, model, wrong_kind))[1]


async def finished_task(
    services: Services,
    user: User,
    task_id: uuid.UUID,
    kinds: set[TaskKind] | None,
    not_ready: str,
    model: type[M] | None = None,
    wrong_kind: str | None = None,
) -> tuple[Task, M]:
    """The user's completed task and its stored result, parsed as ``model`` (by
    default, the result type of the task's kind: ``core.results.RESULT_TYPES``).

    Raises:
        HTTPException: 406 :data:`TASK_UNAVAILABLE` when the task is unknown or
            someone else's (the same answer for both, the spec's); 422 ``wrong_kind``
            when it is not of one of ``kinds``; 406 with the reason when it failed;
            406 ``not_ready`` when it has not finished.
    """
    task = await services.tasks.get(task_id, owner=user.username)
    if task is None:
        raise HTTPException(status.HTTP_406_NOT_ACCEPTABLE, TASK_UNAVAILABLE)
    if kinds is not None and task.kind not in kinds:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, wrong_kind)
    if task.status is TaskStatus.FAILED:
        raise HTTPException(status.HTTP_406_NOT_ACCEPTABLE, f"The task failed: {task.error}")
    as_type = model or RESULT_TYPES[task.kind]
    result = await services.tasks.result(task_id, as_type) if task.finished else None
    if result is None:
        raise HTTPException(status.HTTP_406_NOT_ACCEPTABLE, not_ready)
    return task, result


async def models_response(services: Services, kind: PluginKind) -> ModelsDataReponse:
    """The models of one kind whose deployments are up."""
    return ModelsDataReponse(
        models=[
            ModelData(name=i.name, languages=i.languages, description=i.description)
            for i in await services.models.list(kind)
        ]
    )


async def save_upload(
    services: Services, user: User, kind: FileKind, upload_file: UploadFile
) -> UploadFileResponse:
    """Validate by content, convert and store an upload for the user (limits from
    settings); the file name and MIME type are only hints."""
    file_id = await services.files.save_upload(
        kind,
        user.username,
        upload_file.file,
        upload_file.filename,
        content_type=upload_file.content_type,
        **upload_limits(services.settings),
    )
    return UploadFileResponse(file_id=file_id)
