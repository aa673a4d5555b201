"""The client's logic without I/O: every operation is a generator of steps.

An operation yields :class:`Send` (make this HTTP request, send me the response),
:class:`Sleep` (wait this long) and :class:`Refresh` (renew the tokens, unless
someone already has); the sync and async clients run the same generators with their
own I/O (``fmr_client.client``, ``fmr_client.async_client``). Token refresh,
``Retry-After`` and polling back-off are therefore written once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from fmr_client._sources import Source, is_url, read_source
from fmr_client.errors import (
    AuthenticationError,
    NotLoggedIn,
    TaskFailed,
    UnexpectedResponse,
    WaitTimeout,
    error_from_response,
    retry_after_seconds,
)
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
    from_json,
)
from fmr_client.store import MemoryTokenStore, TokenStore

__all__ = ["Call", "Op", "Refresh", "Send", "Session", "Sleep"]

T = TypeVar("T")

_RESULT_PATHS = {
    Transcript: "/v1/audio/process/result",
    PageText: "/v1/image/process/result",
    TextComparison: "/v1/comparison/audio/text/result",
    ImageComparison: "/v1/comparison/audio/image/result",
}


@dataclass(frozen=True)
class Call:
    """An API request. ``auth``: send the bearer token (and refresh it on 401)."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes]] | None = None
    auth: bool = True


@dataclass(frozen=True)
class Send:
    """Make ``call`` with ``token`` as bearer (none if ``None``); send back the
    ``httpx.Response``."""

    call: Call
    token: str | None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Refresh:
    """Renew the tokens under the store's lock, unless the access token is no longer
    ``stale`` (another caller renewed it meanwhile)."""

    stale: str | None


Step = Send | Sleep | Refresh
Op = Generator[Step, Any, T]


class Session:
    """The state a client keeps (tokens, credentials, policies) and its operations.

    Args:
        username, password: Kept in memory to log in again when the login session
            ends (refresh token expired or revoked); optional.
        tokens: Tokens to start with (else the store's).
        token_store: Where tokens are kept (default: memory).
        max_retries: Retries of an answer 429 or 503 (after ``Retry-After``).
        max_retry_after: Longest ``Retry-After`` honoured, seconds; a longer one
            raises at once.
        refresh_margin: Renew an access token this many seconds before it expires.
        poll_interval: First and longest interval between status polls, seconds.
        now: Wall clock (token expiry); clock: monotonic clock (wait deadlines).
    """

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        tokens: Tokens | None = None,
        token_store: TokenStore | None = None,
        max_retries: int = 3,
        max_retry_after: float = 60.0,
        refresh_margin: float = 30.0,
        poll_interval: tuple[float, float] = (0.25, 2.0),
        now: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store: TokenStore = token_store if token_store is not None else MemoryTokenStore()
        self.tokens = tokens if tokens is not None else self.store.load()
        if tokens is not None:
            self.store.save(tokens)
        self.credentials = (username, password) if username and password is not None else None
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.refresh_margin = refresh_margin
        self.poll_interval = poll_interval
        self.now = now
        self.clock = clock

    # -- tokens ------------------------------------------------------------------

    def set_tokens(self, tokens: Tokens | None) -> None:
        self.tokens = tokens
        self.store.save(tokens)

    def adopt_newer(self, stale: str | None) -> bool:
        """Whether tokens newer than ``stale`` exist (here or in the store): if so,
        use them instead of refreshing. Call under the store's lock."""
        if self.tokens is not None and self.tokens.access_token != stale:
            return True
        stored = self.store.load()
        if stored is not None and stored.access_token != stale:
            self.tokens = stored
            return True
        return False

    def login(self, username: str, password: str) -> Op[Tokens]:
        """``POST /v1/auth/token``; keeps the tokens and, in memory, the credentials."""
        body = yield from self.json(
            Call("POST", "/v1/auth/token", data={"username": username, "password": password},
                 auth=False)
        )
        self.credentials = (username, password)
        self.set_tokens(Tokens.from_response(body, self.now()))
        return self.tokens

    def refresh(self) -> Op[Tokens]:
        """Renew the tokens: ``POST /v1/auth/refresh`` with the refresh token (which is
        then spent; the new one is kept), else log in again with the credentials."""
        tokens = self.tokens
        if tokens is not None and tokens.refresh_token:
            try:
                body = yield from self.json(
                    Call("POST", "/v1/auth/refresh", auth=False,
                         data={"grant_type": "refresh_token",
                               "refresh_token": tokens.refresh_token})
                )
            except AuthenticationError:
                if self.credentials is None:
                    raise
            else:
                self.set_tokens(Tokens.from_response(body, self.now()))
                return self.tokens
        if self.credentials is None:
            raise NotLoggedIn("Not logged in (no tokens and no credentials): log in first")
        return (yield from self.login(*self.credentials))

    def revoke(self) -> Op[None]:
        """``POST /v1/auth/revoke`` of the refresh token (ends the login session)."""
        tokens = self.tokens
        if tokens is not None and tokens.refresh_token:
            yield from self.request(
                Call("POST", "/v1/auth/revoke", data={"token": tokens.refresh_token}, auth=False)
            )
        self.credentials = None
        self.set_tokens(None)

    # -- requests ----------------------------------------------------------------

    def request(self, call: Call) -> Op[httpx.Response]:
        """Make ``call``: renew the token before it expires and once on a 401; wait
        ``Retry-After`` (else back off 1, 2, 4... s) and retry on 429 and 503.

        Raises:
            APIError: its subclass for the final 4xx or 5xx answer.
            NotLoggedIn: ``call`` needs a login and there is none.
        """
        refreshed, retries = False, 0
        while True:
            token = None
            if call.auth:
                tokens = self.tokens
                if tokens is None or tokens.expires_within(self.refresh_margin, self.now()):
                    yield Refresh(tokens.access_token if tokens else None)
                    refreshed = refreshed or tokens is not None
                    if self.tokens is None:
                        raise NotLoggedIn("Not logged in: log in first")
                token = self.tokens.access_token
            response = yield Send(call, token)
            if response.status_code == 401 and call.auth and not refreshed:
                refreshed = True
                yield Refresh(token)
                continue
            if response.status_code in (429, 503) and retries < self.max_retries:
                delay = retry_after_seconds(response, self.now())
                if delay is None:
                    delay = float(2**retries)
                if delay <= self.max_retry_after:
                    retries += 1
                    yield Sleep(delay)
                    continue
            if response.is_error:
                raise error_from_response(response)
            return response

    def json(self, call: Call) -> Op[Any]:
        """:meth:`request`, then the answer's JSON.

        Raises:
            UnexpectedResponse: the answer is not JSON.
        """
        response = yield from self.request(call)
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponse(f"{call.path} answered with no JSON") from None

    def parsed(self, call: Call, cls: type[T]) -> Op[T]:
        return from_json(cls, (yield from self.json(call)))

    # -- the API -----------------------------------------------------------------

    def register(self, username: str, password: str, email: str | None,
                 full_name: str | None) -> Op[None]:
        fields = {"username": username, "password": password, "email": email,
                  "full_name": full_name}
        data = {key: value for key, value in fields.items() if value is not None}
        yield from self.request(Call("PUT", "/v1/auth/register", data=data, auth=False))

    def me(self) -> Op[User]:
        return (yield from self.parsed(Call("GET", "/v1/auth/users/me"), User))

    def models(self, kind: str) -> Op[list[ModelInfo]]:
        body = yield from self.json(Call("GET", f"/v1/{kind}/models"))
        if not isinstance(body, dict) or not isinstance(body.get("models"), list):
            raise UnexpectedResponse(f"/v1/{kind}/models: no models list")
        return [from_json(ModelInfo, item) for item in body["models"]]

    def upload(self, kind: str, source: Source, filename: str | None = None) -> Op[str]:
        """Upload a file (or have the service fetch a URL); returns its file id."""
        if is_url(source):
            call = Call("POST", f"/v1/{kind}/upload_url", json={"url": source})
        else:
            name, content = read_source(source, filename)
            call = Call("POST", f"/v1/{kind}/upload", files={"upload_file": (name, content)})
        body = yield from self.json(call)
        if not isinstance(body, dict) or not isinstance(body.get("file_id"), str):
            raise UnexpectedResponse(f"{call.path}: no file_id in the answer")
        return body["file_id"]

    def download(self, kind: str, file_id: str) -> Op[bytes]:
        call = Call("GET", f"/v1/{kind}/download", params={"file": file_id})
        return (yield from self.request(call)).content

    def create(self, path: str, body: dict[str, Any], wait: bool) -> Op[TaskCreated]:
        """``POST`` a task (``None`` fields left out), with ``?wait=true`` if asked."""
        payload = {key: value for key, value in body.items() if value is not None}
        params = {"wait": "true"} if wait else None
        return (yield from self.parsed(Call("POST", path, params=params, json=payload),
                                       TaskCreated))

    def status(self, task_id: str) -> Op[TaskStatus]:
        call = Call("GET", "/v1/task/status", params={"task_id": task_id})
        return (yield from self.parsed(call, TaskStatus))

    def wait(self, task_id: str, timeout: float,
             on_status: Callable[[TaskStatus], None] | None = None) -> Op[TaskStatus]:
        """Poll the status until the task is finished, the interval growing 1.5 times
        from ``poll_interval[0]`` to ``poll_interval[1]`` seconds.

        Raises:
            TaskFailed: the task failed. WaitTimeout: not finished in ``timeout`` s.
        """
        deadline = self.clock() + timeout
        interval, longest = self.poll_interval
        while True:
            status = yield from self.status(task_id)
            if on_status is not None:
                on_status(status)
            if status.ready:
                if status.failed:
                    raise TaskFailed(task_id, status.error)
                return status
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise WaitTimeout(task_id, timeout, status.status)
            yield Sleep(min(interval, remaining))
            interval = min(interval * 1.5, longest)

    def result(self, cls: type[T], task_id: str, min_confidence: float | None = None) -> Op[T]:
        """A finished task's result as ``cls`` (``Transcript``, ``PageText``,
        ``TextComparison`` or ``ImageComparison``)."""
        params: dict[str, Any] = {"task_id": task_id}
        if min_confidence:
            params["min_confidence"] = min_confidence
        return (yield from self.parsed(Call("GET", _RESULT_PATHS[cls], params=params), cls))

    def finish(self, created: TaskCreated, cls: type[T], timeout: float,
               min_confidence: float | None = None,
               on_status: Callable[[TaskStatus], None] | None = None) -> Op[T]:
        """The result of a task just created: inline (``wait=true`` answered
        ``SUCCESS``), else after waiting for it.

        Raises:
            TaskFailed: the task failed. WaitTimeout: not finished in ``timeout`` s.
        """
        if created.state == "FAILURE":
            raise TaskFailed(created.task_id, created.error)
        if created.state == "SUCCESS" and created.result is not None and not min_confidence:
            return from_json(cls, created.result)
        if created.state != "SUCCESS":
            yield from self.wait(created.task_id, timeout, on_status)
        return (yield from self.result(cls, created.task_id, min_confidence))

    def annotated(self, task_id: str, min_confidence: float | None) -> Op[bytes]:
        params: dict[str, Any] = {"task_id": task_id}
        if min_confidence:
            params["min_confidence"] = min_confidence
        call = Call("GET", "/v1/comparison/audio/image/annotated", params=params)
        return (yield from self.request(call)).content

    def task_result(self, task_id: str) -> Op[Any]:
        """Any finished task's result, as the service's JSON."""
        return (yield from self.json(Call("GET", "/v1/task/result", params={"task_id": task_id})))

    def check(self, audio: Source, audio_model: str, timeout: float, *,
              image: Source | None = None, image_model: str | None = None,
              text: str | list[str] | None = None, language: str | None = None,
              min_confidence: float | None = None) -> Op[Any]:
        """Upload, compare (with ``wait=true``) and return the typed comparison."""
        audio_id = yield from self.upload("audio", audio)
        body: dict[str, Any] = {"audio_file": audio_id, "audio_model": audio_model,
                                "language": language}
        if image is not None:
            body |= {"image_file": (yield from self.upload("image", image)),
                     "image_model": image_model}
            path, cls = "/v1/comparison/audio/image/task", ImageComparison
        else:
            body["text"] = [text] if isinstance(text, str) else text
            path, cls = "/v1/comparison/audio/text/task", TextComparison
        created = yield from self.create(path, body, wait=True)
        return (yield from self.finish(created, cls, timeout, min_confidence))

    def transcribe(self, audio: Source, audio_model: str, language: str | None,
                   timeout: float) -> Op[Transcript]:
        audio_id = yield from self.upload("audio", audio)
        created = yield from self.create(
            "/v1/audio/process/task",
            {"audio_file": audio_id, "audio_model": audio_model, "language": language},
            wait=True,
        )
        return (yield from self.finish(created, Transcript, timeout))
