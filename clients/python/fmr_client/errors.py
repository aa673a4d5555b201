"""The exceptions the client raises.

Every answer of the service with a 4xx or 5xx status raises an :class:`APIError`
subclass chosen by the status, carrying the service's ``detail``. Everything the
client raises derives from :class:`FMRError`.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "FMRError",
    "NotAcceptableError",
    "NotFoundError",
    "NotLoggedIn",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryableError",
    "ServerError",
    "ServiceUnavailableError",
    "TaskFailed",
    "TransportError",
    "UnexpectedResponse",
    "ValidationError",
    "WaitTimeout",
    "error_from_response",
    "retry_after_seconds",
]


class FMRError(Exception):
    """Base class of every error of the client."""


class TransportError(FMRError):
    """The service could not be reached, or the connection failed (``httpx`` error
    as ``__cause__``)."""


class UnexpectedResponse(FMRError):
    """A 2xx answer whose body does not have the expected shape."""


class NotLoggedIn(FMRError):
    """A call that needs a login was made without tokens or credentials."""


class TaskFailed(FMRError):
    """The task finished as ``failed``.

    Attributes:
        task_id: The task's id.
        reason: The service's ``error`` for it.
    """

    def __init__(self, task_id: str, reason: str | None) -> None:
        super().__init__(f"Task {task_id} failed: {reason or 'no reason given'}")
        self.task_id = task_id
        self.reason = reason


class WaitTimeout(FMRError, TimeoutError):
    """The task did not finish within the wait's timeout (it may still finish).

    Attributes:
        task_id: The task's id.
        status: Its last status (pending or in_progress).
    """

    def __init__(self, task_id: str, timeout_s: float, status: str | None) -> None:
        super().__init__(f"Task {task_id} not finished after {timeout_s:g} s (status {status})")
        self.task_id = task_id
        self.status = status


class APIError(FMRError):
    """The service answered with a 4xx or 5xx status.

    Attributes:
        status_code: The HTTP status.
        detail: The service's ``detail`` (validation issues joined into one line).
        errors: For a 422 from schema validation, the service's list of issues
            (``loc``, ``msg``, ``type``); else ``[]``.
        request_id: The answer's ``X-Request-ID`` (the service's trace id).
        response: The ``httpx.Response``.
    """

    def __init__(self, response: httpx.Response, detail: str, errors: list[Any]) -> None:
        super().__init__(f"{response.status_code}: {detail}")
        self.status_code = response.status_code
        self.detail = detail
        self.errors = errors
        self.request_id = response.headers.get("X-Request-ID")
        self.response = response


class BadRequestError(APIError):
    """400 (e.g. "Inactive user", a malformed multipart form)."""


class AuthenticationError(APIError):
    """401: bad credentials, or an access token or refresh token that is invalid,
    expired, revoked or already used (the client refreshes once before raising)."""


class PermissionDeniedError(APIError):
    """403."""


class NotFoundError(APIError):
    """404: unknown (or another user's) file, task or model."""


class NotAcceptableError(APIError):
    """406: a result asked for before the task finished, of a failed task, or of an
    unknown task (the service's spec answers all three so)."""


class ConflictError(APIError):
    """409."""


class PayloadTooLargeError(APIError):
    """413: an upload or a body over the service's limit."""


class ValidationError(APIError):
    """422: the request or the file is not acceptable (see ``errors``)."""


class RetryableError(APIError):
    """An answer asking to come back later: ``retry_after`` in seconds, or ``None``.

    The client has already retried as told (up to ``max_retries``) before raising it.
    """

    def __init__(self, response: httpx.Response, detail: str, errors: list[Any]) -> None:
        super().__init__(response, detail, errors)
        self.retry_after = retry_after_seconds(response)


class RateLimitError(RetryableError):
    """429: a rate limit is spent; ``retry_after`` says when it refills."""


class ServerError(APIError):
    """5xx."""


class ServiceUnavailableError(RetryableError, ServerError):
    """503: the service's store or a model is unavailable for now."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    406: NotAcceptableError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_from_response(response: httpx.Response) -> APIError:
    """The :class:`APIError` subclass for an error answer, with its ``detail``.

    ``detail`` is the body's ``detail`` when it is a string; a list of validation
    issues becomes ``"loc: msg; ..."``; a body that is not the API's error shape
    gives the status phrase and the start of the body.
    """
    errors: list[Any] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    raw = body.get("detail") if isinstance(body, dict) else None
    if isinstance(raw, str):
        detail = raw
    elif isinstance(raw, list):
        errors = raw
        detail = "; ".join(_issue(item) for item in raw) or response.reason_phrase
    else:
        text = response.text.strip()[:200]
        detail = f"{response.reason_phrase}: {text}" if text else response.reason_phrase
    kind = _BY_STATUS.get(response.status_code)
    if kind is None:
        kind = ServerError if response.status_code >= 500 else APIError
    return kind(response, detail, errors)


def _issue(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []))
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (RFC 9110 10.2.3: delay-seconds or an HTTP-date),
    never negative; ``None`` when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
