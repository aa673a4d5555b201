"""The asynchronous client, on ``httpx.AsyncClient``: :class:`Client`'s methods as
coroutines.

    async with AsyncClient("http://127.0.0.1:8000", username="alice", password="...") as fmr:
        results = await asyncio.gather(*(fmr.check_text(path, TEXT) for path in paths))

Concurrent calls share one login: when the access token expires, one of them
refreshes it and the others wait for the new one (refresh tokens are single use).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from fmr_client._session import Op, Refresh, Send, Session, Sleep
from fmr_client._sources import Source
from fmr_client._version import __version__
from fmr_client.client import DEFAULT_TIMEOUT, DEFAULT_WAIT, _request_kwargs
from fmr_client.errors import TransportError
from fmr_client.models import (
    ImageComparison,
    ModelInfo,
    PageText,
    TaskCreated,
    TaskStatus,
    TextComparison,
    Tokens,
    Transcript,
    User,
)
from fmr_client.store import TokenStore

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient:
    """The asynchronous client: the arguments and methods of :class:`fmr_client.Client`,
    each method a coroutine. ``sleep`` is an async callable (default ``asyncio.sleep``).

    The token store's lock is taken around a refresh as in the sync client (a
    :class:`fmr_client.FileTokenStore` lock may block the loop while another process
    refreshes). Share one ``AsyncClient`` among the coroutines of a loop: two of them
    on one store would not exclude each other's refreshes.
    """

    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        tokens: Tokens | None = None,
        token_store: TokenStore | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        max_retry_after: float = 60.0,
        poll_interval: tuple[float, float] = (0.25, 2.0),
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        extra = {"clock": clock} if clock is not None else {}
        self.session = Session(
            username=username, password=password, tokens=tokens, token_store=token_store,
            max_retries=max_retries, max_retry_after=max_retry_after,
            poll_interval=poll_interval, **extra,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"User-Agent": f"fmr-client/{__version__}", **(headers or {})},
        )
        self._sleep = sleep
        self._refresh_lock: asyncio.Lock | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections (unless the ``httpx.AsyncClient`` was given)."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def tokens(self) -> Tokens | None:
        return self.session.tokens

    async def _run(self, op: Op[T]) -> T:
        value: Any = None
        while True:
            try:
                step = op.send(value)
            except StopIteration as stop:
                return stop.value
            value = None
            if isinstance(step, Send):
                value = await self._send(step)
            elif isinstance(step, Sleep):
                await self._sleep(step.seconds)
            elif isinstance(step, Refresh):
                await self._refresh(step.stale)

    async def _send(self, step: Send) -> httpx.Response:
        call = step.call
        try:
            return await self._http.request(call.method, call.path, **_request_kwargs(step))
        except httpx.HTTPError as error:
            raise TransportError(f"{call.method} {call.path}: {error!r}") from error

    async def _refresh(self, stale: str | None) -> None:
        if self._refresh_lock is None:
            self._refresh_lock = asyncio.Lock()
        async with self._refresh_lock:
            with self.session.store.lock():
                if not self.session.adopt_newer(stale):
                    await self._run(self.session.refresh())

    async def register(self, username: str, password: str, email: str | None = None,
                       full_name: str | None = None) -> None:
        """See :meth:`Client.register`."""
        await self._run(self.session.register(username, password, email, full_name))

    async def login(self, username: str, password: str) -> Tokens:
        """See :meth:`Client.login`."""
        return await self._run(self.session.login(username, password))

    async def refresh(self) -> Tokens:
        """See :meth:`Client.refresh`."""
        await self._refresh(self.tokens.access_token if self.tokens else None)
        return self.tokens  # type: ignore[return-value]

    async def logout(self) -> None:
        """See :meth:`Client.logout`."""
        await self._run(self.session.revoke())

    async def me(self) -> User:
        return await self._run(self.session.me())

    async def audio_models(self) -> list[ModelInfo]:
        return await self._run(self.session.models("audio"))

    async def image_models(self) -> list[ModelInfo]:
        return await self._run(self.session.models("image"))

    async def upload_audio(self, source: Source, filename: str | None = None) -> str:
        """See :meth:`Client.upload_audio` (a path is read on the event loop)."""
        return await self._run(self.session.upload("audio", source, filename))

    async def upload_image(self, source: Source, filename: str | None = None) -> str:
        """See :meth:`Client.upload_image`."""
        return await self._run(self.session.upload("image", source, filename))

    async def download(self, kind: str, file_id: str) -> bytes:
        return await self._run(self.session.download(kind, file_id))

    async def create_transcription(self, audio_file: str, audio_model: str, *,
                                   language: str | None = None, wait: bool = False,
                                   **options: Any) -> TaskCreated:
        body = {"audio_file": audio_file, "audio_model": audio_model, "language": language}
        return await self._run(
            self.session.create("/v1/audio/process/task", body | options, wait)
        )

    async def create_page_reading(self, image_file: str, image_model: str, *,
                                  wait: bool = False, **options: Any) -> TaskCreated:
        body = {"image_file": image_file, "image_model": image_model}
        return await self._run(
            self.session.create("/v1/image/process/task", body | options, wait)
        )

    async def create_image_comparison(self, audio_file: str, image_file: str, *,
                                      audio_model: str, image_model: str,
                                      language: str | None = None, wait: bool = False,
                                      **options: Any) -> TaskCreated:
        body = {"audio_file": audio_file, "image_file": image_file, "audio_model": audio_model,
                "image_model": image_model, "language": language}
        return await self._run(
            self.session.create("/v1/comparison/audio/image/task", body | options, wait)
        )

    async def create_text_comparison(self, audio_file: str, text: str | list[str], *,
                                     audio_model: str, language: str | None = None,
                                     wait: bool = False, **options: Any) -> TaskCreated:
        body = {"audio_file": audio_file, "audio_model": audio_model, "language": language,
                "text": [text] if isinstance(text, str) else text}
        return await self._run(
            self.session.create("/v1/comparison/audio/text/task", body | options, wait)
        )

    async def task_status(self, task_id: str) -> TaskStatus:
        return await self._run(self.session.status(task_id))

    async def wait(self, task_id: str, *, timeout: float = DEFAULT_WAIT,
                   on_status: Callable[[TaskStatus], None] | None = None) -> TaskStatus:
        """See :meth:`Client.wait`."""
        return await self._run(self.session.wait(task_id, timeout, on_status))

    async def result(self, cls: type[T], task_id: str,
                     min_confidence: float | None = None) -> T:
        """See :meth:`Client.result`."""
        return await self._run(self.session.result(cls, task_id, min_confidence))

    async def finish(self, created: TaskCreated, cls: type[T], *,
                     timeout: float = DEFAULT_WAIT, min_confidence: float | None = None,
                     on_status: Callable[[TaskStatus], None] | None = None) -> T:
        """See :meth:`Client.finish`."""
        return await self._run(
            self.session.finish(created, cls, timeout, min_confidence, on_status)
        )

    async def task_result(self, task_id: str) -> Any:
        return await self._run(self.session.task_result(task_id))

    async def annotated_image(self, task_id: str, min_confidence: float | None = None) -> bytes:
        return await self._run(self.session.annotated(task_id, min_confidence))

    async def check_page(self, audio: Source, image: Source, *, audio_model: str = "whisper",
                         image_model: str = "en_easyocr", language: str | None = None,
                         min_confidence: float | None = None,
                         timeout: float = DEFAULT_WAIT) -> ImageComparison:
        """See :meth:`Client.check_page`."""
        return await self._run(self.session.check(
            audio, audio_model, timeout, image=image, image_model=image_model,
            language=language, min_confidence=min_confidence,
        ))

    async def check_text(self, audio: Source, text: str | list[str], *,
                         audio_model: str = "whisper", language: str | None = None,
                         min_confidence: float | None = None,
                         timeout: float = DEFAULT_WAIT) -> TextComparison:
        """See :meth:`Client.check_text`."""
        return await self._run(self.session.check(
            audio, audio_model, timeout, text=text, language=language,
            min_confidence=min_confidence,
        ))

    async def transcribe(self, audio: Source, *, audio_model: str = "whisper",
                         language: str | None = None,
                         timeout: float = DEFAULT_WAIT) -> Transcript:
        """See :meth:`Client.transcribe`."""
        return await self._run(self.session.transcribe(audio, audio_model, language, timeout))

    async def read_page(self, image: Source, *, image_model: str = "en_easyocr",
                        timeout: float = DEFAULT_WAIT) -> PageText:
        """See :meth:`Client.read_page`."""
        image_id = await self.upload_image(image)
        created = await self.create_page_reading(image_id, image_model, wait=True)
        return await self.finish(created, PageText, timeout=timeout)
