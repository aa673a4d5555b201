"""Typed errors with the service's detail; Retry-After honoured on 429 and 503."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from fmr_client import (
    APIError,
    Client,
    NotAcceptableError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    Tokens,
    TransportError,
    UnexpectedResponse,
    ValidationError,
)

from tests.client.fake_api import FakeAPI

OK = {"models": []}


def answers(*responses: httpx.Response):
    """A handler giving ``responses`` in turn, then the last one again."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def sleeps() -> list[float]:
    return []


def logged_in(api: FakeAPI, sleeps: list[float], **kwargs) -> Client:
    fmr = Client("http://fmr.test", transport=api.transport(), sleep=sleeps.append, **kwargs)
    fmr.login("alice", "secret-pw")
    return fmr


def test_429_waits_retry_after_then_succeeds(api, sleeps):
    api.route("GET", "/v1/audio/models", answers(
        httpx.Response(429, json={"detail": "Rate limit"}, headers={"Retry-After": "7"}),
        httpx.Response(429, json={"detail": "Rate limit"}, headers={"Retry-After": "2"}),
        httpx.Response(200, json=OK)))
    assert logged_in(api, sleeps).audio_models() == []
    assert sleeps == [7.0, 2.0]
    assert api.paths().count("/v1/audio/models") == 3


def test_503_waits_retry_after_and_without_one_backs_off(api, sleeps):
    api.route("GET", "/v1/audio/models", answers(
        httpx.Response(503, json={"detail": "Service temporarily unavailable, retry shortly"},
                       headers={"Retry-After": "1"}),
        httpx.Response(503, json={"detail": "down"}),
        httpx.Response(503, json={"detail": "down"}),
        httpx.Response(200, json=OK)))
    logged_in(api, sleeps).audio_models()
    assert sleeps == [1.0, 2.0, 4.0]


def test_retry_after_as_an_http_date(api, sleeps):
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    api.route("GET", "/v1/audio/models", answers(
        httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": when}),
        httpx.Response(200, json=OK)))
    logged_in(api, sleeps).audio_models()
    assert len(sleeps) == 1 and 3 <= sleeps[0] <= 5


def test_after_max_retries_the_429_is_raised_with_its_retry_after(api, sleeps):
    api.route("GET", "/v1/audio/models", answers(httpx.Response(
        429, json={"detail": "Too many requests: 600 per 1 minute"},
        headers={"Retry-After": "3"})))
    with pytest.raises(RateLimitError) as raised:
        logged_in(api, sleeps, max_retries=2).audio_models()
    assert sleeps == [3.0, 3.0]
    assert raised.value.retry_after == 3.0
    assert raised.value.detail == "Too many requests: 600 per 1 minute"


def test_a_retry_after_longer_than_the_cap_raises_at_once(api, sleeps):
    api.route("GET", "/v1/audio/models", answers(httpx.Response(
        503, json={"detail": "down"}, headers={"Retry-After": "3600"})))
    with pytest.raises(ServiceUnavailableError) as raised:
        logged_in(api, sleeps).audio_models()
    assert sleeps == [] and raised.value.retry_after == 3600
    assert isinstance(raised.value, ServerError)


def test_a_rate_limited_login_is_retried_too(api, sleeps):
    token = api.routes[("POST", "/v1/auth/token")]
    limited = iter([httpx.Response(429, json={"detail": "x"}, headers={"Retry-After": "1"})])
    api.route("POST", "/v1/auth/token", lambda r: next(limited, None) or token(r))
    logged_in(api, sleeps)
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    ("status", "body", "kind", "detail"),
    [
        (404, {"detail": "No such image model available"}, NotFoundError,
         "No such image model available"),
        (406, {"detail": "Results are not ready yet or no task with such id exist"},
         NotAcceptableError, "Results are not ready yet or no task with such id exist"),
        (413, {"detail": "The file is larger than the limit"}, PayloadTooLargeError,
         "The file is larger than the limit"),
        (422, {"detail": [{"loc": ["body", "audio_model"], "msg": "Field required",
                           "type": "missing"}]},
         ValidationError, "body.audio_model: Field required"),
        (500, {"detail": "Internal server error"}, ServerError, "Internal server error"),
        (502, None, ServerError, "Bad Gateway: <html>proxy</html>"),
        (418, {"detail": "teapot"}, APIError, "teapot"),
    ],
)
def test_each_error_status_raises_its_type_with_the_detail(api, sleeps, status, body, kind,
                                                           detail):
    response = (httpx.Response(status, json=body, headers={"X-Request-ID": "trace-1"})
                if body is not None else httpx.Response(status, text="<html>proxy</html>"))
    api.route("GET", "/v1/audio/models", lambda r: response)
    with pytest.raises(kind) as raised:
        logged_in(api, sleeps).audio_models()
    assert type(raised.value) is kind
    assert raised.value.status_code == status and raised.value.detail == detail
    if status == 422:
        assert raised.value.errors[0]["type"] == "missing"
    if body is not None:
        assert raised.value.request_id == "trace-1"
    assert sleeps == []


def test_a_connection_failure_is_a_transport_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    fmr = Client("http://fmr.test", transport=httpx.MockTransport(refuse), tokens=Tokens("a"))
    with pytest.raises(TransportError) as raised:
        fmr.audio_models()
    assert isinstance(raised.value.__cause__, httpx.ConnectError)


def test_an_answer_of_the_wrong_shape_is_unexpected(api, sleeps):
    api.route("GET", "/v1/task/status", {"status": "completed"})
    with pytest.raises(UnexpectedResponse):
        logged_in(api, sleeps).task_status("t1")
