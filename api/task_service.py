"""Creating tasks for the routes: checks, media URLs, the archive's labels, waiting.

Every task-creating route calls :func:`create_task`; ``wait=true`` goes through
:func:`wait_for_result`, which polls the task's record with back-off (tenacity) on
the event loop, never blocking it.
"""

from __future__ import annotations

import io
import ipaddress
import tempfile
import uuid
from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel
from starlette.requests import HTTPConnection
from tenacity import AsyncRetrying, retry_if_result, stop_after_delay, wait_exponential

from api.middleware.request_id import trace_id_of
from api.schemas import AudioToTextComparisonRequest, TaskCreateResponse, UploadFileResponse
from api.services import Services
from api.settings import Settings
from core.plugins import PluginKind
from core.plugins.languages import LanguageChoice, LanguageUnsupported, choose_language
from core.stores.files import FileKind
from core.stores.tasks import Task, TaskKind, TaskStatus
from core.stores.users import User
from core.uploads.remote import Resolver, UrlPolicy, default_resolver, fetch_media

__all__ = ["check_recording", "create_task", "save_url_upload", "wait_for_result"]

#: First and longest pause between two looks at a waited-for task, in seconds.
WAIT_POLL_FIRST_S = 0.05
WAIT_POLL_MAX_S = 1.0


def upload_limits(settings: Settings) -> dict[str, Any]:
    """The limits every stored upload is held to (``FileStore.save_upload`` keywords):
    bytes, recording seconds, image pixels, decoding seconds."""
    return {
        "max_bytes": settings.max_upload_bytes,
        "max_audio_duration_s": settings.max_audio_duration_s,
        "max_image_pixels": settings.max_image_pixels,
        "decode_timeout_s": settings.decode_timeout_s,
    }


def url_policy(services: Services) -> UrlPolicy:
    """The caps of media URL fetches, from the settings."""
    settings = services.settings
    return UrlPolicy(
        max_bytes=settings.max_upload_bytes,
        timeout_s=settings.url_fetch_timeout_s,
        max_redirects=settings.url_max_redirects,
        allowlist=tuple(ipaddress.ip_network(n) for n in settings.url_allowlist),
    )


def url_resolver(services: Services) -> Resolver | None:
    """How media URL host names resolve: ``services.url_resolver`` when set (tests),
    else the settings' fixed ``url_hosts`` first, then DNS unless ``url_dns`` is off;
    ``None`` (the system's DNS) when neither is configured."""
    if services.url_resolver is not None:
        return services.url_resolver
    settings = services.settings
    if settings.url_dns and not settings.url_hosts:
        return None

    async def resolve(host: str, port: int) -> list[str]:
        fixed = settings.url_hosts.get(host.lower())
        if fixed is not None:
            return [fixed]
        if not settings.url_dns:
            raise OSError(f"{host} is not in url_hosts and DNS is off")
        return await default_resolver(host, port)

    return resolve


async def save_url_upload(
    services: Services, user: User, kind: FileKind, url: str
) -> UploadFileResponse:
    """Fetch a media URL (SSRF-checked, capped: :mod:`core.uploads.remote`) and store
    it as the user's upload, validated by its content like any upload.

    Raises:
        RemoteMediaError: (a MediaError: 422) refused, unreachable, too slow or not
            2xx; ``RemoteTooLarge`` over ``max_upload_bytes``.
        MediaError: the content is not a valid file of ``kind`` (422).
    """
    with tempfile.TemporaryFile(dir=services.files.root / "tmp") as body:
        policy, resolver = url_policy(services), url_resolver(services)
        fetched = await fetch_media(url, body, policy, resolver=resolver)
        body.seek(0)
        file_id = await services.files.save_upload(
            kind,
            user.username,
            body,
            fetched.filename,
            content_type=fetched.content_type,
            **upload_limits(services.settings),
        )
    return UploadFileResponse(file_id=file_id)


async def check_recording(
    services: Services,
    user: User,
    connection: HTTPConnection,
    wav: bytes,
    model: str,
    text: str,
    language: str | None,
) -> TaskCreateResponse:
    """Store a streamed recording as the user's upload and check it against ``text``
    as an audio/text comparison task, waited for (``FMR_WAIT_TIMEOUT_S``).

    Raises:
        MediaError: the recording is not storable (too long, too large: 413/422).
        HTTPException: the model no longer served (404), or its language (422).
    """
    file_id = await services.files.save_upload(
        "audio", user.username, io.BytesIO(wav), "stream.wav", content_type="audio/wav",
        **upload_limits(services.settings),
    )
    request = AudioToTextComparisonRequest(
        audio_file=file_id, audio_model=model, text=[text], language=language
    )
    try:
        return await create_task(
            services, user, connection, TaskKind.AUDIO_TEXT_COMPARISON, request,
            models=[("audio", model)], files=["audio"], language=True, wait=True,
        )
    except BaseException:
        await services.files.delete(file_id)  # no task reads it
        raise


async def create_task(
    services: Services,
    user: User,
    http: HTTPConnection,
    kind: TaskKind,
    request: BaseModel,
    models: list[tuple[PluginKind, str]],
    files: list[FileKind],
    language: bool = False,
    wait: bool = False,
    extra: dict[str, Any] | None = None,
) -> TaskCreateResponse:
    """Check models, then files (the spec's 404s, in that order), then queue the task.

    A file given by URL (``media_urls``) is fetched and stored as the user's upload
    after the models are checked. The task records the request's ``session_id`` and
    trace id (``X-Request-ID``) for the request archive. With ``language``, the
    request's optional ``language`` is settled against the models' languages
    (:func:`core.plugins.languages.choose_language`): the payload gets the language
    (or ``None`` and the ``candidate_languages`` to detect among).

    Args:
        files: The kinds of the task's files; ``{kind}_file`` in the request.
        wait: Wait for the result (:func:`wait_for_result`).
        extra: More payload fields not in ``request`` (``None`` values left out), e.g.
            the decoding ``prompt`` and ``temperature`` of ``/v1/audio/transcriptions``.

    Raises:
        HTTPException: 404 for an unknown model or file; 422 when a model cannot
            read the language asked for, or the models share none.
        RemoteMediaError: a media URL could not be fetched (422; 413 when too large).
    """
    for model_kind, name in models:
        await require_model(services, model_kind, name)
    payload = request.model_dump(mode="json", exclude={"media_urls", "session_id"})
    payload |= {k: v for k, v in (extra or {}).items() if v is not None}
    if language:
        choice = await _settle_language(services, payload.get("language"), models)
        payload["language"] = choice.language
        payload["candidate_languages"] = (
            list(choice.candidates) if choice.candidates is not None else None
        )
    urls = getattr(request, "media_urls", None)
    fetched: list[uuid.UUID] = []
    try:
        for file_kind in files:
            field = f"{file_kind}_file"
            url = getattr(urls, file_kind, None) if urls is not None else None
            if url is not None:
                saved = await save_url_upload(services, user, file_kind, url)
                fetched.append(saved.file_id)
                payload[field] = str(saved.file_id)
            elif not await services.files.owns(
                file_kind, user.username, uuid.UUID(payload[field])
            ):
                raise HTTPException(
                    status.HTTP_404_NOT_FOUND, f"No such {file_kind} file available"
                )
    except BaseException:
        for file_id in fetched:  # no task will use them: a refused request leaves nothing
            await services.files.delete(file_id)
        raise
    task_id = await services.tasks.create(
        kind,
        user.username,
        payload,
        session_id=getattr(request, "session_id", None),
        trace_id=trace_id_of(http.scope),
        inputs=[payload[f"{k}_file"] for k in files],
    )
    if not wait:
        return TaskCreateResponse(task_id=task_id)
    return await wait_for_result(services, task_id, services.settings.wait_timeout_s)


async def wait_for_result(
    services: Services, task_id: uuid.UUID, timeout_s: float
) -> TaskCreateResponse:
    """The task's outcome once it has finished, or ``state: PENDING`` after
    ``timeout_s`` seconds. Looks at the record every 50 ms at first, backing off to
    once a second (``tenacity``), yielding the event loop in between."""
    retrying = AsyncRetrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=WAIT_POLL_FIRST_S, max=WAIT_POLL_MAX_S),
        retry=retry_if_result(lambda task: task is None or not task.finished),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    task: Task | None = await retrying(services.tasks.get, task_id)
    if task is None or not task.finished:
        status_name = task.status.value if task is not None else TaskStatus.PENDING.value
        return TaskCreateResponse(task_id=task_id, state="PENDING", status=status_name)
    if task.status is TaskStatus.FAILED:
        return TaskCreateResponse(
            task_id=task_id, state="FAILURE", status=task.status.value, error=task.error
        )
    result: dict[str, Any] | None = await services.tasks.result(task_id)
    return TaskCreateResponse(
        task_id=task_id, state="SUCCESS", status=task.status.value, result=result
    )


async def require_model(services: Services, kind: PluginKind, name: str) -> None:
    """404 "No such {kind} model available" unless a model host serves ``name``."""
    if not await services.models.has(kind, name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"No such {kind} model available")


async def _settle_language(
    services: Services, requested: str | None, models: list[tuple[PluginKind, str]]
) -> LanguageChoice:
    """The task's language from the request and the catalog's model languages (422)."""
    listed: list[tuple[str, list[str]]] = []
    for model_kind, name in models:
        info = next((i for i in await services.models.list(model_kind) if i.name == name), None)
        listed.append((name, list(info.languages) if info is not None else []))
    try:
        return choose_language(requested, listed)
    except LanguageUnsupported as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from error
