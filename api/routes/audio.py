"""``/v1/audio``: upload, download, models, processing and phrase extraction tasks."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import FileResponse

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.middleware.body_limit import UPLOAD_FORM_LIMITS, require_words_within
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
    AudioExtractPhrasesRequest,
    AudioExtractPhrasesResponse,
    AudioProcessingRequest,
    AudioProcessingResponse,
    ModelsDataReponse,
    TaskCreateResponse,
    UploadFileResponse,
    UrlUploadRequest,
)
from api.task_service import save_url_upload
from core.stores.tasks import TaskKind

router = APIRouter(prefix="/audio", tags=["audio"], dependencies=[Depends(get_current_active_user)])

_NOT_DONE = "The job is non-existent or not done"
_MISSING = documented(missing_inputs("audio"))


@router.post(
    "/upload",
    response_model=UploadFileResponse,
    summary="Upload an audio file; returns its file id.",
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
            "The file was not sent, has an unallowed extension or is not audio",
            "Only audio files uploads are allowed",
        ),
    ),
)
async def upload_audio_file(
    upload_file: UploadFile, user: CurrentUser, services: ServicesDep
) -> UploadFileResponse:
    """Allowed extensions: .aac (also .acc), .mp3, .m4a, .oga, .ogv, .ogg, .opus, .wav.

    The content is checked with ffprobe and decoded with ffmpeg (the extension and
    the client's MIME type are not trusted); the file is stored as ``.mp3``. Decoding
    that takes longer than the server's budget (``FMR_DECODE_TIMEOUT_S``) is stopped:
    422 "Decoding the file took longer than N s".
    """
    return await save_upload(services, user, "audio", upload_file)


@router.post(
    "/upload_url",
    response_model=UploadFileResponse,
    summary="Upload an audio file from a URL; returns its file id.",
    responses=documented(*URL_UPLOAD_ERRORS),
)
async def upload_audio_url(
    request: UrlUploadRequest, user: CurrentUser, services: ServicesDep
) -> UploadFileResponse:
    """The service fetches **url** (http or https; public addresses only, unless the
    server allow-lists one with ``FMR_URL_ALLOWLIST``; size cap ``FMR_MAX_UPLOAD_BYTES``,
    time cap ``FMR_URL_FETCH_TIMEOUT_S``, at most ``FMR_URL_MAX_REDIRECTS`` redirects,
    each checked) and stores it like an uploaded file."""
    return await save_url_upload(services, user, "audio", request.url)


@router.get(
    "/download",
    response_class=FileResponse,
    summary="Download an audio file (mp3) by its id.",
    responses={
        200: {"content": {"audio/mpeg": {}}, "description": "The file (.mp3)"},
        307: {
            "description": "With FMR_DOWNLOAD_REDIRECT_MIN_BYTES set, a file at least that "
            "large: a time-limited presigned URL of the object store in `Location`"
        },
        **documented((404, "No file with this id belongs to the user.", "File not found")),
    },
)
async def download_audio_file(file: uuid.UUID, user: CurrentUser, services: ServicesDep):
    """Uploaded files and the segments cut by processing tasks are downloadable."""
    return await send_file(services, user, "audio", file)


@router.get("/models", response_model=ModelsDataReponse, summary="Available (loaded) audio models.")
async def get_audio_processing_models(services: ServicesDep) -> ModelsDataReponse:
    """Models whose deployments are up, as the model hosts report them."""
    return await models_response(services, "audio")


@router.post(
    "/process/task",
    response_model=TaskCreateResponse,
    response_model_exclude_none=True,
    summary="Create an audio processing (speech recognition) task.",
    responses=_MISSING,
)
async def process_audio(
    request: AudioProcessingRequest,
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    wait: WaitQuery = False,
) -> TaskCreateResponse:
    """Parameters: **audio_file** (file id) or **media_urls.audio**, **audio_model**
    (see ``/models``); optional **language**, **hot_words**, **session_id**."""
    return await create_task(
        services, user, http, TaskKind.AUDIO_PROCESSING, request,
        models=[("audio", request.audio_model)], files=["audio"], wait=wait,
    )


@router.get(
    "/process/result",
    response_model=AudioProcessingResponse,
    summary="The result of an audio processing task.",
    responses=documented(
        task_not_ready(_NOT_DONE),
        (422, "The task is not an audio processing task", "There is no such audio processing task"),
    ),
)
async def get_audio_processing_result(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> AudioProcessingResponse:
    """Recognised text and timed segments; each segment's ``file`` is downloadable."""
    return await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_PROCESSING},
        _NOT_DONE,
        AudioProcessingResponse,
        "There is no such audio processing task",
    )


@router.post(
    "/extract/task",
    response_model=TaskCreateResponse,
    response_model_exclude_none=True,
    summary="Create a task extracting the given phrases from an audio file.",
    responses=_MISSING,
)
async def extract_text_from_audio(
    request: AudioExtractPhrasesRequest,
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    wait: WaitQuery = False,
) -> TaskCreateResponse:
    """Parameters: **audio_file**, **audio_model**, **phrases** (texts to find).

    The phrases may hold at most ``FMR_MAX_TEXT_WORDS`` words in all (422 beyond)."""
    require_words_within(request.phrases, services.settings.max_text_words, "The phrases are")
    return await create_task(
        services, user, http, TaskKind.AUDIO_EXTRACTION, request,
        models=[("audio", request.audio_model)], files=["audio"], wait=wait,
    )


@router.get(
    "/extract/result",
    response_model=AudioExtractPhrasesResponse,
    summary="The result of a phrase extraction task.",
    responses=documented(
        task_not_ready(_NOT_DONE),
        (422, "The task is not an audio extraction task", "There is no such audio extraction task"),
    ),
)
async def get_extracted_results(
    task_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> AudioExtractPhrasesResponse:
    """For each phrase: whether it was heard and the audio cut from the recording."""
    return await task_result(
        services,
        user,
        task_id,
        {TaskKind.AUDIO_EXTRACTION},
        _NOT_DONE,
        AudioExtractPhrasesResponse,
        "There is no such audio extraction task",
    )
