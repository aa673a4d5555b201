"""``/v1/comparison``: compare a recording with a photographed page or a given text."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from core.tasks import TaskKind
from serve_app.api.common import create_task, documented, task_result
from serve_app.deps import CurrentUser, ServicesDep, get_current_active_user
from serve_app.schemas import (
    AudioImageComparisonResultsResponse,
    AudioTextComparisonResultsResponse,
    AudioToImageComparisonRequest,
    AudioToTextComparisonRequest,
    TaskCreateResponse,
)

router = APIRouter(
    prefix="/comparison", tags=["comparison"], dependencies=[Depends(get_current_active_user)]
)

_NOT_READY = "Results are not ready yet or no task with such id exist"


@router.post(
    "/audio/image/task",
    response_model=TaskCreateResponse,
    summary="Create a task comparing a recording with the text on an image.",
    responses=documented(
        (404, "The specified file or model was not found.", "No such image model available")
    ),
)
async def compare_audio_to_image(
    request: AudioToImageComparisonRequest, user: CurrentUser, services: ServicesDep
) -> TaskCreateResponse:
    """Parameters: **audio_file**, **audio_model**, **image_file**, **image_model**.

    Speech recognition and text recognition run concurrently on their model
    deployments, then the matcher aligns the two texts word by word.
    """
    return await create_task(
        services,
        user,
        TaskKind.AUDIO_IMAGE_COMPARISON,
        request,
        models=[("image", request.image_model), ("audio", request.audio_model)],
        files=[("image", request.image_file), ("audio", request.audio_file)],
    )


@router.get(
    "/audio/image/result",
    response_model=AudioImageComparisonResultsResponse,
    summary="The result of an audio/image comparison task.",
    responses=documented(
        (406, "The task does not exist or has not finished", _NOT_READY),
        (
            422,
            "The task is not an audio/image comparison",
            "There is no such task consists of the both image and audio",
        ),
    ),
)
async def get_audio_image_comparison_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> AudioImageComparisonResultsResponse:
    """The image and audio results and the ``errors``: for each, ``found`` (heard)
    instead of ``expected`` (on the page) at character ``at_char`` of the segment text."""
    result = await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_IMAGE_COMPARISON},
        _NOT_READY,
        "There is no such task consists of the both image and audio",
    )
    return AudioImageComparisonResultsResponse.model_validate(result)


@router.post(
    "/audio/text/task",
    response_model=TaskCreateResponse,
    summary="Create a task comparing a recording with a given text.",
    responses=documented(
        (404, "The specified file or model was not found.", "No such audio model available")
    ),
)
async def compare_audio_to_text(
    request: AudioToTextComparisonRequest, user: CurrentUser, services: ServicesDep
) -> TaskCreateResponse:
    """Parameters: **audio_file**, **audio_model**, **text** (strings, joined with spaces)."""
    return await create_task(
        services,
        user,
        TaskKind.AUDIO_TEXT_COMPARISON,
        request,
        models=[("audio", request.audio_model)],
        files=[("audio", request.audio_file)],
    )


@router.get(
    "/audio/text/result",
    response_model=AudioTextComparisonResultsResponse,
    summary="The result of an audio/text comparison task.",
    responses=documented(
        (406, "The task does not exist or has not finished", _NOT_READY),
        (
            422,
            "The task is not an audio/text comparison",
            "There is no such task consists of the both audio and text",
        ),
    ),
)
async def get_audio_text_comparison_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> AudioTextComparisonResultsResponse:
    """The audio result and the ``errors`` against the given text."""
    result = await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_TEXT_COMPARISON},
        _NOT_READY,
        "There is no such task consists of the both audio and text",
    )
    return AudioTextComparisonResultsResponse.model_validate(result)
