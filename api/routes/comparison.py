"""``/v1/comparison``: compare a recording with a photographed page or a given text."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.middleware.body_limit import require_words_within
from api.routes.common import (
    WaitQuery,
    create_task,
    documented,
    finished_task,
    missing_inputs,
    task_not_ready,
    task_result,
)
from api.schemas import (
    AudioImageComparisonResultsResponse,
    AudioTextComparisonResultsResponse,
    AudioToImageComparisonRequest,
    AudioToTextComparisonRequest,
    TaskCreateResponse,
)
from api.services import Services
from core.report.photo import annotated_photo
from core.results import AudioImageComparison, AudioTextComparison, MiscueReport
from core.stores.tasks import Task, TaskKind
from core.stores.users import User

C = TypeVar("C", AudioImageComparison, AudioTextComparison)

router = APIRouter(
    prefix="/comparison", tags=["comparison"], dependencies=[Depends(get_current_active_user)]
)

NOT_READY = "Results are not ready yet or no task with such id exist"
NOT_IMAGE_TASK = "There is no such task consists of the both image and audio"

MinConfidence = Annotated[
    float,
    Query(
        ge=0.0,
        le=1.0,
        description="Only return errors whose `confidence` is at least this (0-1). "
        "The summary always counts every miscue.",
    ),
]


def filtered_errors(result: C, min_confidence: float) -> C:
    """The result with the errors below ``min_confidence`` left out."""
    if min_confidence <= 0:
        return result
    errors = [e for e in result.errors if (e.confidence or 0.0) >= min_confidence]
    return result.model_copy(update={"errors": errors})


@router.post(
    "/audio/image/task",
    response_model=TaskCreateResponse,
    response_model_exclude_none=True,
    summary="Create a task comparing a recording with the text on an image.",
    responses=documented(missing_inputs("image", "audio")),
)
async def compare_audio_to_image(
    request: AudioToImageComparisonRequest,
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    wait: WaitQuery = False,
) -> TaskCreateResponse:
    """Parameters: **audio_file**, **audio_model**, **image_file**, **image_model**,
    optional **language** (ISO 639-1).

    Speech recognition and text recognition run concurrently on their model
    deployments, then the matcher aligns the two texts word by word.
    """
    return await create_task(
        services, user, http, TaskKind.AUDIO_IMAGE_COMPARISON, request,
        models=[("image", request.image_model), ("audio", request.audio_model)],
        files=["image", "audio"], language=True, wait=wait,
    )


@router.get(
    "/audio/image/result",
    response_model=AudioImageComparisonResultsResponse,
    summary="The result of an audio/image comparison task.",
    responses=documented(
        task_not_ready(NOT_READY),
        (
            422,
            "The task is not an audio/image comparison",
            "There is no such task consists of the both image and audio",
        ),
    ),
)
async def get_audio_image_comparison_result(
    task_id: uuid.UUID,
    user: CurrentUser,
    services: ServicesDep,
    min_confidence: MinConfidence = 0.0,
) -> AudioImageComparisonResultsResponse:
    """The image and audio results, the ``errors`` (miscues) and the ``summary``.

    Each error: ``found`` (heard) instead of ``expected`` (on the page), its
    ``type``, times, ``confidence`` and ``box`` on the photo.
    """
    result = await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_IMAGE_COMPARISON},
        NOT_READY,
        AudioImageComparisonResultsResponse,
        NOT_IMAGE_TASK,
    )
    return filtered_errors(result, min_confidence)


@router.get(
    "/audio/image/annotated",
    response_class=Response,
    summary="The photo with each miscue boxed, colour-coded by type, with a legend.",
    responses={
        200: {"content": {"image/png": {}}, "description": "A PNG image."},
        **documented(
            task_not_ready(NOT_READY),
            (404, "The task's photo no longer exists", "No such image file available"),
            (422, "The task is not an audio/image comparison", NOT_IMAGE_TASK),
        ),
    },
)
async def get_audio_image_comparison_annotated(
    task_id: uuid.UUID,
    user: CurrentUser,
    services: ServicesDep,
    min_confidence: MinConfidence = 0.0,
) -> Response:
    """Substitutions, omissions and insertions drawn on the uploaded photo (PNG).

    Only the task's owner can fetch it; ``min_confidence`` filters as for the result.
    """
    task, result = await finished_task(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_IMAGE_COMPARISON},
        NOT_READY,
        AudioImageComparisonResultsResponse,
        NOT_IMAGE_TASK,
    )
    png = await annotated_task_photo(
        services, user, task, filtered_errors(result, min_confidence).errors
    )
    return Response(content=png, media_type="image/png")


async def annotated_task_photo(
    services: Services, user: User, task: Task, errors: Sequence[MiscueReport]
) -> bytes:
    """The photo of the user's audio/image comparison task with ``errors`` drawn on it
    (:func:`core.report.photo.annotated_photo`), as PNG bytes; drawn in a worker thread.

    Shared by the annotated photo and the report (``api.routes.report``).

    Raises:
        HTTPException: 404 "No such image file available" when the task's photo no
            longer exists (deleted since the task ran).
    """
    path = await services.files.lookup(
        "image", user.username, uuid.UUID(task.payload["image_file"])
    )
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such image file available")
    return await asyncio.to_thread(annotated_photo, path, errors)


@router.post(
    "/audio/text/task",
    response_model=TaskCreateResponse,
    response_model_exclude_none=True,
    summary="Create a task comparing a recording with a given text.",
    responses=documented(missing_inputs("audio")),
)
async def compare_audio_to_text(
    request: AudioToTextComparisonRequest,
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    wait: WaitQuery = False,
) -> TaskCreateResponse:
    """Parameters: **audio_file**, **audio_model**, **text** (strings, joined with spaces),
    optional **language** (ISO 639-1).

    The text may hold at most ``FMR_MAX_TEXT_WORDS`` words in all (422 beyond)."""
    require_words_within(request.text, services.settings.max_text_words, "The text is")
    return await create_task(
        services, user, http, TaskKind.AUDIO_TEXT_COMPARISON, request,
        models=[("audio", request.audio_model)], files=["audio"], language=True, wait=wait,
    )


@router.get(
    "/audio/text/result",
    response_model=AudioTextComparisonResultsResponse,
    summary="The result of an audio/text comparison task.",
    responses=documented(
        task_not_ready(NOT_READY),
        (
            422,
            "The task is not an audio/text comparison",
            "There is no such task consists of the both audio and text",
        ),
    ),
)
async def get_audio_text_comparison_result(
    task_id: uuid.UUID,
    user: CurrentUser,
    services: ServicesDep,
    min_confidence: MinConfidence = 0.0,
) -> AudioTextComparisonResultsResponse:
    """The audio result, the ``errors`` (miscues) against the given text and the
    ``summary``; ``ref_char`` offsets point into the text items joined with spaces."""
    result = await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_TEXT_COMPARISON},
        NOT_READY,
        AudioTextComparisonResultsResponse,
        "There is no such task consists of the both audio and text",
    )
    return filtered_errors(result, min_confidence)
