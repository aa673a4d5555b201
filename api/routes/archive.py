"""``/v1/archive``: the user's past requests, what each one was, heard and deleted.

Only the owner sees a request: another user's id answers 404 like an unknown one.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import FileResponse

from api.deps import CurrentUser, ServicesDep, get_current_active_user
from api.routes.common import documented
from api.schemas import (
    ArchivedRequest,
    ArchiveListResponse,
    DeletedResponse,
    FullRequestResponse,
    TranscriptResponse,
    TranscriptSegment,
    TranscriptWord,
    VoiceActivityMark,
    VoiceActivityResponse,
)
from api.schemas.common import SessionId
from api.services import Services
from core.audio import load_audio, speech_intervals
from core.results import RESULT_TYPES, Transcript
from core.stores.archive import BadCursor, delete_all, delete_task, list_tasks
from core.stores.tasks import Task, TaskKind
from core.stores.users import User

router = APIRouter(
    prefix="/archive", tags=["archive"], dependencies=[Depends(get_current_active_user)]
)

_MISSING = (404, "No request with this id belongs to the user", "Request not found")
_NO_AUDIO = "This request has no recording"
_MISSING_AUDIO = (
    404,
    "No request with this id belongs to the user, or it has no recording",
    {"unknown": "Request not found", "no_recording": _NO_AUDIO},
)
#: Voice activity: every sounding range of ``split_silence`` on its own (pieces are
#: merged only up to this length, seconds, i.e. never beyond one range).
VAD_MAX_INTERVAL_S = 0.1


#: An ISO 8601 date, or date and time with an optional UTC offset (no bare numbers).
_ISO_TIME = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?)?$"
)


def _utc(text: str, end_of_day: bool) -> float:
    """Unix seconds of an ISO 8601 date-time (naive = UTC) or of a date's first or
    last instant.

    Raises:
        HTTPException: 422 for a date that does not exist (``2026-02-30``).
    """
    try:
        if "T" in text:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            value = datetime.combine(
                date.fromisoformat(text), time.max if end_of_day else time.min
            )
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"Not a valid date or time: {text}"
        ) from error
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _row(task: Task) -> dict:
    return {
        "id": task.task_id,
        "created_at": datetime.fromtimestamp(task.created, timezone.utc),
        "kind": task.kind.value,
        "status": task.status.value,
        "session_id": task.session_id,
        "trace_id": task.trace_id,
    }


async def _task(services: Services, user: User, request_id: uuid.UUID) -> Task:
    task = await services.tasks.get(request_id, owner=user.username)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Request not found")
    return task


@router.get(
    "/requests",
    response_model=ArchiveListResponse,
    summary="The user's past requests (tasks of every kind), newest first.",
    responses=documented((422, "A bad date, cursor or limit", "Bad cursor")),
)
async def list_requests(
    user: CurrentUser,
    services: ServicesDep,
    date_from: Annotated[
        str | None,
        Query(
            pattern=_ISO_TIME,
            description="Created at or after: ISO 8601, `2026-12-04` (its first instant, "
            "UTC) or `2026-12-04T09:30:00+01:00` (no offset: UTC).",
        ),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(
            pattern=_ISO_TIME,
            description="Created at or before (a date includes the whole day, UTC).",
        ),
    ] = None,
    session_id: Annotated[SessionId | None, Query()] = None,
    trace_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ArchiveListResponse:
    """Filter by creation time, ``session_id`` and ``trace_id`` (the ``X-Request-ID``
    of the request that created the task); page with ``cursor``."""
    try:
        page = await list_tasks(
            services.tasks,
            user.username,
            date_from=None if date_from is None else _utc(date_from, end_of_day=False),
            date_to=None if date_to is None else _utc(date_to, end_of_day=True),
            session_id=session_id,
            trace_id=trace_id,
            limit=limit,
            cursor=cursor,
        )
    except BadCursor as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
    return ArchiveListResponse(
        requests=[ArchivedRequest(**_row(t)) for t in page.tasks], next_cursor=page.next_cursor
    )


@router.get(
    "/requests/{request_id}",
    response_model=ArchivedRequest,
    summary="One past request.",
    responses=documented(_MISSING),
)
async def get_request(
    request_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> ArchivedRequest:
    return ArchivedRequest(**_row(await _task(services, user, request_id)))


@router.get(
    "/requests/{request_id}/audio",
    response_class=FileResponse,
    summary="The request's recording (mp3).",
    responses={
        200: {"content": {"audio/mpeg": {}}, "description": "The recording (.mp3)"},
        **documented(_MISSING_AUDIO),
    },
)
async def get_request_audio(request_id: uuid.UUID, user: CurrentUser, services: ServicesDep):
    return FileResponse(await _audio_path(services, user, request_id), media_type="audio/mpeg")


async def _audio_path(services: Services, user: User, request_id: uuid.UUID):
    task = await _task(services, user, request_id)
    file_id = task.payload.get("audio_file")
    path = None
    if file_id:
        path = await services.files.lookup("audio", user.username, uuid.UUID(file_id))
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _NO_AUDIO)
    return path


@router.get(
    "/requests/{request_id}/full_request",
    response_model=FullRequestResponse,
    summary="The request's body and the configuration of the models that served it.",
    responses=documented(_MISSING),
)
async def get_full_request(
    request_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> FullRequestResponse:
    task = await _task(services, user, request_id)
    return FullRequestResponse(
        **_row(task),
        body=task.payload,
        models=await services.tasks.models(task.task_id),
        error=task.error,
    )


@router.get(
    "/requests/{request_id}/transcript",
    response_model=TranscriptResponse,
    summary="What was heard: segments and words, times in ms, with confidence.",
    responses=documented(
        _MISSING,
        (409, "The request has not finished, failed, or has no transcript",
         "This request has no transcript"),
    ),
)
async def get_transcript(
    request_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> TranscriptResponse:
    """For audio processing and comparisons, once completed."""
    task = await _task(services, user, request_id)
    transcript = await _transcript_of(services, task)
    segments = []
    for segment in transcript.segments:
        words = [
            TranscriptWord(word=w.word, start_ms=_ms(w.start), end_ms=_ms(w.end),
                           confidence=w.probability)
            for w in segment.words or []
        ]
        scored = [w.confidence for w in words if w.confidence is not None]
        segments.append(
            TranscriptSegment(
                text=segment.text, start_ms=_ms(segment.start), end_ms=_ms(segment.end),
                confidence=sum(scored) / len(scored) if scored else None, words=words,
            )
        )
    language = transcript.language or task.payload.get("language")
    return TranscriptResponse(
        id=task.task_id, text=transcript.text, language=language, segments=segments
    )


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


async def _transcript_of(services: Services, task: Task) -> Transcript:
    if task.kind in (TaskKind.IMAGE_PROCESSING, TaskKind.AUDIO_EXTRACTION) or not task.finished:
        raise HTTPException(status.HTTP_409_CONFLICT, "This request has no transcript")
    result = await services.tasks.result(task.task_id, RESULT_TYPES[task.kind])
    if result is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "This request has no transcript")
    if isinstance(result, Transcript):
        return result
    audio: Transcript = result.audio  # type: ignore[union-attr]
    language = getattr(result, "language", None)
    return audio.model_copy(update={"language": audio.language or language})


@router.get(
    "/requests/{request_id}/voice_activity_marks",
    response_model=VoiceActivityResponse,
    summary="Speech and silence in the request's recording, in ms.",
    responses=documented(_MISSING_AUDIO),
)
async def get_voice_activity_marks(
    request_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> VoiceActivityResponse:
    """Computed from the recording with the spec's silence detection
    (``split_silence``: quieter than 5 % of the peak for at least 100 ms)."""
    path = await _audio_path(services, user, request_id)
    duration_ms, speech = await asyncio.to_thread(_voice_activity, path)
    marks: list[VoiceActivityMark] = []
    position = 0
    for start, end in speech:
        if start > position:
            marks.append(VoiceActivityMark(type="silence", start_ms=position, end_ms=start))
        marks.append(VoiceActivityMark(type="speech", start_ms=start, end_ms=end))
        position = end
    if position < duration_ms:
        marks.append(VoiceActivityMark(type="silence", start_ms=position, end_ms=duration_ms))
    return VoiceActivityResponse(id=request_id, duration_ms=duration_ms, marks=marks)


def _voice_activity(path) -> tuple[int, list[tuple[int, int]]]:
    audio = load_audio(path)
    return len(audio), speech_intervals(audio, max_interval=VAD_MAX_INTERVAL_S)


@router.delete(
    "/requests/{request_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete one request: its record, the segments it cut and its files.",
    responses=documented(_MISSING),
)
async def delete_request(
    request_id: uuid.UUID, user: CurrentUser, services: ServicesDep
) -> Response:
    """Input files another of the user's requests still uses are kept."""
    await delete_task(services.tasks, services.files, await _task(services, user, request_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/requests",
    response_model=DeletedResponse,
    summary="Delete every request and every file of the user.",
)
async def delete_requests(user: CurrentUser, services: ServicesDep) -> DeletedResponse:
    """Uploads no request used are deleted too. The account stays."""
    done = await delete_all(services.tasks, services.files, user.username)
    return DeletedResponse(deleted_requests=done.requests, deleted_files=done.files)
