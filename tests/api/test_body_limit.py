"""api.middleware.body_limit.BodySizeLimitMiddleware, driven as a bare ASGI app (no server)."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi import FastAPI, HTTPException, Request, UploadFile

from api.middleware.body_limit import (
    UPLOAD_FORM_LIMITS,
    BodyLimit,
    BodySizeLimitMiddleware,
    require_words_within,
)

DEFAULT = BodyLimit(4500, "The request body is larger than the limit of 4500 bytes")
UPLOAD = BodyLimit(20_000, "The file is larger than the limit of 20000 bytes")
CHUNK = 1000


class Client:
    """Feeds a request body in chunks and records what the app did with it."""

    def __init__(self, chunks: int, chunk: bytes = b"x" * CHUNK) -> None:
        self.chunks_left = chunks
        self.chunk = chunk
        self.receive_calls = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        self.receive_calls += 1
        self.chunks_left -= 1
        more = self.chunks_left > 0
        return {"type": "http.request", "body": self.chunk, "more_body": more}

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.sent if m["type"] == "http.response.start")

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")


def scope(path: str = "/v1/x", content_length: int | None = None) -> dict:
    headers = [(b"content-type", b"application/octet-stream")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }


async def echo_length(scope, receive, send) -> None:
    """Reads the whole body, answers 200 with its length."""
    total = 0
    while True:
        message = await receive()
        total += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(total).encode()})


async def swallowing_app(scope, receive, send) -> None:
    """Like FastAPI's body parsing: any read error becomes its own 400 response."""
    try:
        await echo_length(scope, receive, send)
    except Exception:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"error parsing the body"})


def run(app, client: Client, **scope_args) -> Client:
    middleware = BodySizeLimitMiddleware(app, DEFAULT, {"/v1/audio/upload": UPLOAD})
    asyncio.run(middleware(scope(**scope_args), client.receive, client.send))
    return client


def test_declared_length_over_the_limit_is_refused_before_reading():
    async def never_called(scope, receive, send):
        raise AssertionError("the app must not run")

    client = run(never_called, Client(chunks=100), content_length=100 * CHUNK)
    assert client.status == 413
    assert json.loads(client.body) == {"detail": DEFAULT.detail}
    assert client.receive_calls == 0  # not one byte of the body was read
    start = client.sent[0]
    assert (b"connection", b"close") in start["headers"]


@pytest.mark.parametrize("app", [echo_length, swallowing_app], ids=["raises", "app-answers"])
def test_undeclared_body_is_cut_off_at_the_first_chunk_past_the_limit(app):
    client = run(app, Client(chunks=1000))  # 1 MB, chunked: no Content-Length
    assert client.status == 413
    assert json.loads(client.body) == {"detail": DEFAULT.detail}
    # 4 chunks = 4000 bytes are within 4500; the 5th passes it; nothing more is read.
    assert client.receive_calls == 5
    # Only the 413: the app's own 400 was discarded.
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]


def test_a_client_sending_more_than_it_declared_is_cut_off():
    client = run(echo_length, Client(chunks=1000), content_length=10)
    assert client.status == 413 and client.receive_calls == 5


def test_bodies_within_the_limit_pass_untouched():
    client = run(echo_length, Client(chunks=4, chunk=b"y" * CHUNK), content_length=4 * CHUNK)
    assert client.status == 200 and client.body == b"4000"


def test_routes_have_their_own_limit():
    client = run(echo_length, Client(chunks=15), path="/v1/audio/upload")
    assert client.status == 200 and client.body == b"15000"
    client = run(echo_length, Client(chunks=25), path="/v1/audio/upload")
    assert client.status == 413 and json.loads(client.body) == {"detail": UPLOAD.detail}
    assert client.receive_calls == 21


def test_root_path_is_ignored_when_matching_routes():
    middleware = BodySizeLimitMiddleware(echo_length, DEFAULT, {"/v1/audio/upload": UPLOAD})
    mounted = scope("/api/v1/audio/upload") | {"root_path": "/api"}
    assert middleware.limit_for(mounted) is UPLOAD
    assert middleware.limit_for(scope("/api/v1/audio/upload")) is DEFAULT


def test_errors_unrelated_to_the_limit_propagate():
    async def broken(scope, receive, send):
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        run(broken, Client(chunks=1))


def test_fastapi_multipart_upload_is_stopped_mid_stream():
    """The real thing: Starlette's multipart parser spooling a file, cut off."""
    app = FastAPI()
    parsed: list[str] = []

    @app.post("/v1/audio/upload", form_limits=UPLOAD_FORM_LIMITS)
    async def upload(upload_file: UploadFile, request: Request) -> dict:
        parsed.append(upload_file.filename or "")
        return {"size": len(await upload_file.read())}

    boundary = b"XyZ"
    head = (
        b'--XyZ\r\nContent-Disposition: form-data; name="upload_file"; filename="a.mp3"\r\n'
        b"Content-Type: audio/mpeg\r\n\r\n"
    )

    class MultipartClient(Client):
        async def receive(self) -> dict:
            message = await super().receive()
            if self.receive_calls == 1:
                message["body"] = head + message["body"]
            return message

    middleware = BodySizeLimitMiddleware(app, DEFAULT, {"/v1/audio/upload": UPLOAD})
    request = scope("/v1/audio/upload")
    request["headers"] = [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
    client = MultipartClient(chunks=10_000)  # 10 MB, never finished
    asyncio.run(middleware(request, client.receive, client.send))
    assert client.status == 413
    assert json.loads(client.body) == {"detail": UPLOAD.detail}
    assert client.receive_calls == 20  # 20 KB (+ the part header) read, not 10 MB
    assert parsed == []  # the endpoint never ran


def test_require_words_within():
    require_words_within(["one two", " three\n"], 3, "The text is")
    with pytest.raises(HTTPException) as info:
        require_words_within(["one two", "three four"], 3, "The text is")
    assert info.value.status_code == 422
    assert info.value.detail == "The text is too long: 4 words (maximum 3 words)"
