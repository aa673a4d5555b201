"""``POST /v1/audio/transcriptions``: OpenAI's audio transcription API, on this service.

Existing OpenAI clients work unchanged with ``base_url`` set to the service's ``/v1``
and an access token as the API key: the file is uploaded and transcribed as an audio
processing task (so it is in the request archive), waited for, and answered in the
requested ``response_format`` (:mod:`api.openai_format`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.middleware.body_limit import UPLOAD_FORM_LIMITS
from api.openai_format import Granularity, ResponseFormat, as_srt, as_vtt, verbose_json
from api.routes.common import documented, save_upload
from api.schemas import AudioProcessingRequest
from api.task_service import create_task
from core.audio import load_audio
from core.plugins.languages import LANGUAGE_PATTERN
from core.results import Transcript
from core.stores.tasks import TaskKind

router = APIRouter(
    prefix="/audio", tags=["openai"], dependencies=[Depends(get_current_active_user)]
)

#: OpenAI's model names, served by the service's default ASR model.
OPENAI_MODEL_ALIASES = {"whisper-1": "whisper", "gpt-4o-transcribe": "whisper",
                        "gpt-4o-mini-transcribe": "whisper"}
#: Longest ``prompt`` accepted, characters (OpenAI: 224 tokens; Whisper's limit).
MAX_PROMPT_CHARS = 2000


@router.post(
    "/transcriptions",
    summary="Transcribe audio, OpenAI-compatible (file, model, language, prompt, ...).",
    form_limits={**UPLOAD_FORM_LIMITS, "max_fields": 16},
    responses={
        200: {
            "content": {
                "application/json": {"example": {"text": "Once upon a time"}},
                "text/plain": {},
                "text/vtt": {},
            },
            "description": "The transcript in `response_format`: json `{text}`, text, srt "
            "and vtt (text), or verbose_json (language, duration, segments, words).",
        },
        **documented(
            (404, "The model is not served", "No such audio model available"),
            (413, "The file is larger than the upload limit", "The file is larger than the limit"),
            (422, "The file is not audio, or a field is invalid",
             "Only audio files uploads are allowed"),
            (504, "The transcription did not finish within the server's wait",
             "The transcription is still running: task <id>"),
        ),
    },
)
async def create_transcription(
    user: CurrentUser,
    services: ServicesDep,
    http: Request,
    file: UploadFile,
    model: Annotated[str, Form(min_length=1, max_length=64)],
    language: Annotated[str | None, Form(pattern=LANGUAGE_PATTERN)] = None,
    prompt: Annotated[str | None, Form(max_length=MAX_PROMPT_CHARS)] = None,
    response_format: Annotated[ResponseFormat, Form()] = "json",
    timestamp_granularities: Annotated[
        list[Granularity] | None, Form(alias="timestamp_granularities[]")
    ] = None,
    temperature: Annotated[float, Form(ge=0.0, le=1.0)] = 0.0,
) -> Response:
    """**model**: a model of ``/v1/audio/models``, or ``whisper-1`` for the default
    (``whisper``). **prompt** and **temperature** go to models that take them (Whisper);
    a model that does not ignores them. The wait is ``FMR_WAIT_TIMEOUT_S``: a longer
    transcription answers 504 with its task id (``/v1/audio/process/result``)."""
    served = model if await services.models.has("audio", model) else OPENAI_MODEL_ALIASES.get(model)
    if served is None or not await services.models.has("audio", served):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "No such audio model available")
    upload = await save_upload(services, user, "audio", file)
    request = AudioProcessingRequest(
        audio_file=upload.file_id, audio_model=served, language=language
    )
    extra = {"prompt": prompt, "temperature": temperature if temperature > 0 else None}
    created = await create_task(
        services, user, http, TaskKind.AUDIO_PROCESSING, request,
        models=[("audio", served)], files=["audio"], wait=True, extra=extra,
    )
    if created.state == "PENDING":
        raise HTTPException(
            status.HTTP_504_GATEWAY_TIMEOUT,
            f"The transcription is still running: task {created.task_id}",
        )
    if created.state == "FAILURE" or created.result is None:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"The model failed: {created.error}")
    transcript = Transcript.model_validate(created.result)
    if response_format == "json":
        return JSONResponse({"text": transcript.text})
    if response_format == "text":
        return PlainTextResponse(transcript.text)
    if response_format == "srt":
        return PlainTextResponse(as_srt(transcript))
    if response_format == "vtt":
        return PlainTextResponse(as_vtt(transcript), media_type="text/vtt")
    path = await services.files.lookup("audio", user.username, upload.file_id)
    duration = len(await asyncio.to_thread(load_audio, path)) / 1000 if path else 0.0
    granularities = set(timestamp_granularities or [])
    return JSONResponse(verbose_json(transcript, duration, granularities, temperature))
