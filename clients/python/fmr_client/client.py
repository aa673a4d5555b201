"""The synchronous client, on ``httpx.Client``.

    from fmr_client import Client

    with Client("http://127.0.0.1:8000", username="alice", password="...") as fmr:
        result = fmr.check_page("reading.mp3", "page.jpg", image_model="en_easyocr")
        for miscue in result.errors:
            print(miscue.type, miscue.expected, "->", miscue.found)
        print(result.summary.accuracy, result.summary.wcpm)

The logic (token refresh, ``Retry-After``, polling back-off) is in
``fmr_client._session``, shared with :class:`fmr_client.AsyncClient`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from fmr_client._session import Call, Op, Refresh, Send, Session, Sleep
from fmr_client._sources import Source
from fmr_client._version import __version__
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

__all__ = ["Client", "DEFAULT_TIMEOUT"]

T = TypeVar("T")

#: Seconds an HTTP request may take (connect, read, write); ``wait=true`` waits up to
#: the server's ``FMR_WAIT_TIMEOUT_S`` (30 s) inside one request.
DEFAULT_TIMEOUT = 60.0
#: Seconds :meth:`Client.wait` waits for a task by default.
DEFAULT_WAIT = 300.0


def _request_kwargs(step: Send) -> dict[str, Any]:
    call = step.call
    headers = {"Authorization": f"Bearer {step.token}"} if step.token else None
    return {"params": call.params, "json": call.json, "data": call.data,
            "files": call.files, "headers": headers}


class Client:
    """A client of the Follow My Reading API (thread-safe).

    Args:
        base_url: The service, e.g. ``http://127.0.0.1:8000``.
        username, password: Log in on the first call that needs it, and again when
            the login session ends; kept in memory only.
        tokens: Tokens of an earlier login (e.g. from :meth:`login` elsewhere).
        token_store: Where to keep the tokens (default memory;
            :class:`fmr_client.FileTokenStore` shares them with other processes).
        timeout: Seconds per HTTP request.
        max_retries: Retries of an answer 429 or 503, each after its ``Retry-After``
            (else 1, 2, 4... s).
        max_retry_after: The longest ``Retry-After`` (seconds) waited for; a longer
            one raises :class:`fmr_client.RateLimitError` at once.
        poll_interval: First and longest interval (seconds) between status polls.
        transport: An ``httpx`` transport (e.g. ``httpx.MockTransport`` in tests).
        http_client: An ``httpx.Client`` to use instead of making one (not closed).
        sleep: How to wait (seconds); tests pass a recorder.
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
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = Session(
            username=username, password=password, tokens=tokens, token_store=token_store,
            max_retries=max_retries, max_retry_after=max_retry_after,
            poll_interval=poll_interval, clock=clock,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"User-Agent": f"fmr-client/{__version__}", **(headers or {})},
        )
        self._sleep = sleep
        self._refresh_lock = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (unless the ``httpx.Client`` was given)."""
        if self._owns_http:
            self._http.close()

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (they change at each refresh)."""
        return self.session.tokens

    # -- the driver ----------------------------------------------------------------

    def _run(self, op: Op[T]) -> T:
        value: Any = None
        while True:
            try:
                step = op.send(value)
            except StopIteration as stop:
                return stop.value
            value = None
            if isinstance(step, Send):
                value = self._send(step)
            elif isinstance(step, Sleep):
                self._sleep(step.seconds)
            elif isinstance(step, Refresh):
                self._refresh(step.stale)

    def _send(self, step: Send) -> httpx.Response:
        call: Call = step.call
        try:
            return self._http.request(call.method, call.path, **_request_kwargs(step))
        except httpx.HTTPError as error:
            raise TransportError(f"{call.method} {call.path}: {error!r}") from error

    def _refresh(self, stale: str | None) -> None:
        with self._refresh_lock, self.session.store.lock():
            if not self.session.adopt_newer(stale):
                self._run(self.session.refresh())

    # -- accounts ------------------------------------------------------------------

    def register(self, username: str, password: str, email: str | None = None,
                 full_name: str | None = None) -> None:
        """Create an account (``PUT /v1/auth/register``, a form body).

        Raises:
            ValidationError: 422, e.g. "Username is already taken".
        """
        self._run(self.session.register(username, password, email, full_name))

    def login(self, username: str, password: str) -> Tokens:
        """Log in (OAuth2 password flow); the tokens are kept and renewed as needed.

        Raises:
            AuthenticationError: 401 "Incorrect username or password".
        """
        return self._run(self.session.login(username, password))

    def refresh(self) -> Tokens:
        """Renew the tokens now (the refresh token is single use: the new one is kept).

        Raises:
            AuthenticationError: the refresh token is invalid, expired, revoked or
                already used (the service then revoked its whole session), and no
                credentials are known to log in again.
        """
        self._refresh(self.tokens.access_token if self.tokens else None)
        return self.tokens  # type: ignore[return-value]

    def logout(self) -> None:
        """Revoke the login session (``POST /v1/auth/revoke``) and forget the tokens."""
        self._run(self.session.revoke())

    def me(self) -> User:
        """The logged-in user."""
        return self._run(self.session.me())

    # -- models and files ----------------------------------------------------------

    def audio_models(self) -> list[ModelInfo]:
        """The speech recognition models being served."""
        return self._run(self.session.models("audio"))

    def image_models(self) -> list[ModelInfo]:
        """The text recognition models being served."""
        return self._run(self.session.models("image"))

    def upload_audio(self, source: Source, filename: str | None = None) -> str:
        """Upload a recording; returns its file id.

        Args:
            source: A path, bytes, a binary file, or an http(s) URL that the
                service fetches (``POST /v1/audio/upload_url``).
            filename: The name sent with bytes or a file (only a format hint).

        Raises:
            ValidationError: 422, not audio (or a URL refused or not fetched).
            PayloadTooLargeError: 413, over the service's limit.
        """
        return self._run(self.session.upload("audio", source, filename))

    def upload_image(self, source: Source, filename: str | None = None) -> str:
        """Upload a photo of a page; returns its file id (as :meth:`upload_audio`)."""
        return self._run(self.session.upload("image", source, filename))

    def download(self, kind: str, file_id: str) -> bytes:
        """A stored file's bytes: ``kind`` ``audio`` (mp3) or ``image`` (png)."""
        return self._run(self.session.download(kind, file_id))

    # -- tasks ---------------------------------------------------------------------

    def create_transcription(self, audio_file: str, audio_model: str, *,
                             language: str | None = None, wait: bool = False,
                             **options: Any) -> TaskCreated:
        """``POST /v1/audio/process/task``. ``wait``: ``?wait=true`` (the result
        inline if the task ends within the server's wait). ``options``: more body
        fields (``hot_words``, ``session_id``...).

        Raises:
            NotFoundError: 404 "No such audio model available" / "... file ...".
        """
        body = {"audio_file": audio_file, "audio_model": audio_model, "language": language}
        return self._run(self.session.create("/v1/audio/process/task", body | options, wait))

    def create_page_reading(self, image_file: str, image_model: str, *, wait: bool = False,
                            **options: Any) -> TaskCreated:
        """``POST /v1/image/process/task`` (text recognition), as
        :meth:`create_transcription`."""
        body = {"image_file": image_file, "image_model": image_model}
        return self._run(self.session.create("/v1/image/process/task", body | options, wait))

    def create_image_comparison(self, audio_file: str, image_file: str, *, audio_model: str,
                                image_model: str, language: str | None = None,
                                wait: bool = False, **options: Any) -> TaskCreated:
        """``POST /v1/comparison/audio/image/task``: the recording against the page."""
        body = {"audio_file": audio_file, "image_file": image_file, "audio_model": audio_model,
                "image_model": image_model, "language": language}
        return self._run(
            self.session.create("/v1/comparison/audio/image/task", body | options, wait)
        )

    def create_text_comparison(self, audio_file: str, text: str | list[str], *,
                               audio_model: str, language: str | None = None,
                               wait: bool = False, **options: Any) -> TaskCreated:
        """``POST /v1/comparison/audio/text/task``: the recording against ``text``."""
        body = {"audio_file": audio_file, "audio_model": audio_model, "language": language,
                "text": [text] if isinstance(text, str) else text}
        return self._run(
            self.session.create("/v1/comparison/audio/text/task", body | options, wait)
        )

    def task_status(self, task_id: str) -> TaskStatus:
        """``GET /v1/task/status``.

        Raises:
            NotFoundError: 404 "Task not found".
        """
        return self._run(self.session.status(task_id))

    def wait(self, task_id: str, *, timeout: float = DEFAULT_WAIT,
             on_status: Callable[[TaskStatus], None] | None = None) -> TaskStatus:
        """Poll until the task is finished, backing off from 0.25 s to 2 s.

        Args:
            timeout: Seconds to wait at most.
            on_status: Called with each status polled.

        Raises:
            TaskFailed: the task failed (``reason`` is the service's error).
            WaitTimeout: not finished within ``timeout``.
        """
        return self._run(self.session.wait(task_id, timeout, on_status))

    def result(self, cls: type[T], task_id: str, min_confidence: float | None = None) -> T:
        """A finished task's typed result: ``cls`` is :class:`Transcript`,
        :class:`PageText`, :class:`TextComparison` or :class:`ImageComparison`.

        Args:
            min_confidence: Comparisons: leave out errors below it (0-1).

        Raises:
            NotAcceptableError: 406, unknown, unfinished or failed task.
            ValidationError: 422, a task of another kind.
        """
        return self._run(self.session.result(cls, task_id, min_confidence))

    def finish(self, created: TaskCreated, cls: type[T], *, timeout: float = DEFAULT_WAIT,
               min_confidence: float | None = None,
               on_status: Callable[[TaskStatus], None] | None = None) -> T:
        """The typed result of a task just created: inline when ``wait=true`` had it,
        else after :meth:`wait`. Raises as :meth:`wait` and :meth:`result`."""
        return self._run(self.session.finish(created, cls, timeout, min_confidence, on_status))

    def task_result(self, task_id: str) -> Any:
        """Any finished task's result, as the service's JSON (``GET /v1/task/result``)."""
        return self._run(self.session.task_result(task_id))

    def annotated_image(self, task_id: str, min_confidence: float | None = None) -> bytes:
        """The photo of an image comparison with each miscue boxed (PNG bytes)."""
        return self._run(self.session.annotated(task_id, min_confidence))

    # -- in one call ---------------------------------------------------------------

    def check_page(self, audio: Source, image: Source, *, audio_model: str = "whisper",
                   image_model: str = "en_easyocr", language: str | None = None,
                   min_confidence: float | None = None,
                   timeout: float = DEFAULT_WAIT) -> ImageComparison:
        """Upload a recording and a photo of the page read, compare them, and return
        the comparison: ``errors`` (miscues), ``summary`` (accuracy, WCPM...).

        Raises:
            APIError: a 4xx/5xx answer (e.g. NotFoundError for an unknown model).
            TaskFailed, WaitTimeout: as :meth:`wait`.
        """
        return self._run(self.session.check(
            audio, audio_model, timeout, image=image, image_model=image_model,
            language=language, min_confidence=min_confidence,
        ))

    def check_text(self, audio: Source, text: str | list[str], *, audio_model: str = "whisper",
                   language: str | None = None, min_confidence: float | None = None,
                   timeout: float = DEFAULT_WAIT) -> TextComparison:
        """As :meth:`check_page`, against a text instead of a photo."""
        return self._run(self.session.check(
            audio, audio_model, timeout, text=text, language=language,
            min_confidence=min_confidence,
        ))

    def transcribe(self, audio: Source, *, audio_model: str = "whisper",
                   language: str | None = None, timeout: float = DEFAULT_WAIT) -> Transcript:
        """Upload a recording and return its transcript (text, timed segments)."""
        return self._run(self.session.transcribe(audio, audio_model, language, timeout))

    def read_page(self, image: Source, *, image_model: str = "en_easyocr",
                  timeout: float = DEFAULT_WAIT) -> PageText:
        """Upload a photo and return its text and boxes."""
        image_id = self.upload_image(image)
        created = self.create_page_reading(image_id, image_model, wait=True)
        return self.finish(created, PageText, timeout=timeout)
