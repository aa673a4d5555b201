"""``/v1/image``: upload, download, models, text recognition tasks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.middleware.body_limit import UPLOAD_FORM_LIMITS
from api.routes.common import (
    URL_UPLOAD_ERRORS,
    WaitQuery,
    create_task,
    documented,
    missing_inputs,
    models_response,
    save_upload,
    send_file,
    task_not_ready,
    task_result,
)
from api.schemas import (
    ImageProcessingRequest,
    ImageProcessingResponse,
    ModelsDataReponse,
    TaskCreateResponse,
    UploadFileResponse,
    UrlUploadRequest,
)
from api.task_service import save_url_upload
from core.stores.tasks import TaskKind

router = APIRouter(prefix="/image", tags=["image"], dependencies=[Depends(get_current_active_user)])

_NOT_DONE = "The job is non-existent or not done"


@router.post(
    "/upload",
    response_model=UploadFileResponse,
    summary="Upload an image file; returns its file id.",
    form_limits=UPLOAD_FORM_LIMITS,
    responses=documented(
        (
            400,
            "The multipart form has more than the one file or an oversized text field",
            "Too many files. Maximum number of files is 1.",
        ),
        (413, "The file is larger than the upload limit", "The file is larger than the limit"),
        (
            422,
            "The file was not sent, has an unallowed extension or is not an image",
            "Only image files uploads are allowed",
        ),
    ),
)
async def upload_image(
    upload_file: UploadFile, user: CurrentUser, services: ServicesDep
) -> UploadFileResponse:
    """Allowed extensions: .avif, .bmp, .gif, .ico, .jpeg, .jpg, .png, .svg, .tif, .tiff,
    .webp. The content is decoded (SVG rendered safely) and stored as ``.png``."""
    return await save_upload(services, user, "image", upload_file)


@router.post(
    "/upload_url",
    response_model=UploadFileResponse,
    summary="Upload an image file from a URL; returns its file id.",
    responses=documented(*URL_UPLOAD_ERRORS),
)
async def upload_image_url(
    request: UrlUploadRequest, user: CurrentUser, services: ServicesDep
) -> UploadFileResponse:
    """As ``/v1/audio/upload_url``, for an image (stored as ``.png``)."""
    return await save_url_upload(services, user, "image", request.url)


@router.get(
    "/download",
    response_class=FileResponse,
    summary="Download an image file (png) by its id.",
    responses={
        200: {"content": {"image/png": {}}, "description": "The file (.png)"},
        307: {
            "description": "With FMR_DOWNLOAD_REDIRECT_MIN_BYTES set, a file at least that "
            "large: a time-limited presigned URL of the object store in `Location`"
        },
        **documented((404, "No file with this id belongs to the user.", "File not found")),
    },
)
async def download_image_file(file: uuid.UUID, user: CurrentUser, services: ServicesDep):
    return await send_file(services, user, "image", file)


@router.get("/models", response_model=ModelsDataReponse, summary="Available (loaded) image models.")
async def get_models(services: ServicesDep) -> ModelsDataReponse:
    """Models whose deployments are up, as the model hosts report them."""
    return await models_response(services, "image")


@router.post(
    "/process/task",
    response_model=TaskCreateResponse,
    response_model_exclude_none=True,
    summary="Create an image processing (text recognition) task.",
    responses=documented(missing_inputs("image")),
)
async def process_image(
    request: ImageProcessingRequest,
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    wait: WaitQuery = False,
) -> TaskCreateResponse:
    """Parameters: **image_file** (file id) or **media_urls.image**, **image_model**
    (see ``/models``); optional **session_id**."""
    return await create_task(
        services, user, http, TaskKind.IMAGE_PROCESSING, request,
        models=[("image", request.image_model)], files=["image"], wait=wait,
    )


@router.get(
    "/process/result",
    response_model=ImageProcessingResponse,
    summary="The result of an image processing task.",
    responses=documented(
        task_not_ready(_NOT_DONE),
        (422, "The task is not an image processing task", "There is no such image processing task"),
    ),
)
async def get_image_processing_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> ImageProcessingResponse:
    """Recognised text and its boxes (pixels), in reading order."""
    return await task_result(
        services,
        user,
        task_id,
        {TaskKind.IMAGE_PROCESSING},
        _NOT_DONE,
        ImageProcessingResponse,
        "There is no such image processing task",
    )
