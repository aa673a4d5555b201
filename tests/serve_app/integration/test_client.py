"""``fmr_client`` against the whole service on Ray Serve: login and refresh rotation,
uploads from a path, bytes and a URL, comparisons with the planted miscues, typed
errors with the service's details, the async client."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import uuid
from collections.abc import Iterator

import pytest
from fmr_client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ImageComparison,
    NotAcceptableError,
    NotFoundError,
    TaskStatus,
    TextComparison,
    Tokens,
    ValidationError,
)

from tests.conftest import DATA

pytestmark = pytest.mark.serve

MISCUE = json.loads((DATA / "miscue.json").read_text())
PAGE, READING = DATA / "miscue.png", DATA / "miscue.mp3"
PASSWORD = "correct horse battery"


def planted(result: ImageComparison | TextComparison) -> set[tuple[str, str, str]]:
    return {(e.type, e.expected.lower().strip(".,"), e.found.lower().strip(".,"))
            for e in result.errors}


@pytest.fixture(scope="module")
def username(serve_url: str) -> str:
    name = f"client-{uuid.uuid4().hex[:10]}"
    with Client(serve_url) as fmr:
        fmr.register(name, PASSWORD, email="client@example.org")
    return name


@pytest.fixture
def fmr(serve_url: str, username: str) -> Iterator[Client]:
    with Client(serve_url) as client:
        client.login(username, PASSWORD)
        yield client


@pytest.fixture(scope="module")
def media_url() -> Iterator[str]:
    """The sample files over HTTP at ``media.test`` (allow-listed by the session)."""
    files = {"/reading.mp3": READING.read_bytes(), "/page.png": PAGE.read_bytes()}

    class Media(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Media)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://media.test:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_check_page_finds_the_planted_miscues(fmr):
    result = fmr.check_page(READING, PAGE, image_model="eng_tesseract")
    assert isinstance(result, ImageComparison)
    assert {("substitution", "brown", "black"), ("omission", "green", "")} <= planted(result)
    assert "little brown dog" in result.reference_text
    summary = result.summary
    assert summary.substitutions >= 1 and summary.omissions >= 1
    assert 0 < summary.accuracy < 100 and summary.wcpm > 0
    omission = next(e for e in result.errors if e.type == "omission")
    left, top, right, bottom = omission.box.bounds()
    assert 700 < left < right < 950 and omission.start is not None
    assert omission.evidence is not None and omission.evidence.reading == ""


def test_check_text_polling_and_the_confidence_filter(fmr):
    audio = fmr.upload_audio(READING.read_bytes(), filename="reading.mp3")
    created = fmr.create_text_comparison(audio, MISCUE["reference"], audio_model="whisper")
    assert created.state is None
    seen: list[TaskStatus] = []
    status = fmr.wait(created.task_id, on_status=seen.append)
    assert status.status == "completed" and seen[-1].ready
    result = fmr.result(TextComparison, created.task_id, min_confidence=0.8)
    assert {("substitution", "brown", "black"), ("omission", "green", "")} <= planted(result)
    assert all(e.confidence >= 0.8 for e in result.errors)
    assert fmr.task_result(created.task_id)["summary"] == result.raw["summary"]


def test_uploads_by_url_and_the_annotated_photo(fmr, media_url):
    audio = fmr.upload_audio(f"{media_url}/reading.mp3")
    image = fmr.upload_image(f"{media_url}/page.png")
    assert fmr.download("audio", audio)[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    created = fmr.create_image_comparison(audio, image, audio_model="whisper",
                                          image_model="eng_tesseract", wait=True)
    result = fmr.finish(created, ImageComparison)
    assert ("substitution", "brown", "black") in planted(result)
    png = fmr.annotated_image(created.task_id)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_service_errors_are_typed_with_their_detail(fmr, media_url):
    with pytest.raises(ValidationError, match="Only audio files uploads are allowed"):
        fmr.upload_audio(b"this is not a recording", filename="notes.mp3")
    audio = fmr.upload_audio(READING)
    with pytest.raises(NotFoundError) as raised:
        fmr.create_text_comparison(audio, "text", audio_model="no-such-model")
    assert raised.value.detail == "No such audio model available"
    assert raised.value.request_id
    with pytest.raises(NotFoundError, match="Task not found"):
        fmr.task_status(str(uuid.uuid4()))
    with pytest.raises(NotAcceptableError, match="impossible to get task result"):
        fmr.result(TextComparison, str(uuid.uuid4()))
    with pytest.raises(ValidationError, match="404"):
        fmr.upload_image(f"{media_url}/nothing.png")


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(serve_url, username):
    with Client(serve_url) as fmr:
        first = fmr.login(username, PASSWORD)
        second = fmr.refresh()
        assert second.refresh_token != first.refresh_token
        assert second.access_token != first.access_token
        assert fmr.me().username == username
        # A stale copy of the first login tries its (spent) refresh token.
        stale = Client(serve_url, tokens=Tokens("not-a-jwt", first.refresh_token))
        with pytest.raises(AuthenticationError, match="already used"):
            stale.me()
        stale.close()
        # The whole session is revoked; this client knows the password: it logs in anew.
        revoked = Client(serve_url, tokens=second)
        with pytest.raises(AuthenticationError):
            revoked.refresh()
        revoked.close()
        fmr.refresh()
        assert fmr.me().username == username


def test_an_invalid_access_token_is_refreshed_transparently(serve_url, username):
    with Client(serve_url) as fmr:
        tokens = fmr.login(username, PASSWORD)
    with Client(serve_url, tokens=Tokens("expired.jwt.token", tokens.refresh_token)) as fmr:
        assert [m.name for m in fmr.audio_models()][:1]
        assert fmr.tokens.refresh_token != tokens.refresh_token


def test_the_async_client_shares_one_refresh_among_concurrent_calls(serve_url, username):
    async def scenario() -> tuple[list, TextComparison, Tokens]:
        async with AsyncClient(serve_url) as fmr:
            tokens = await fmr.login(username, PASSWORD)
            fmr.session.credentials = None  # a reused refresh token could not be hidden
            fmr.session.set_tokens(Tokens("expired.jwt.token", tokens.refresh_token))
            listed = await asyncio.gather(*(fmr.image_models() for _ in range(6)))
            result = await fmr.check_text(READING, MISCUE["reference"])
            after = await fmr.refresh()  # the session is still alive: nothing was reused
            return listed, result, after

    listed, result, after = asyncio.run(scenario())
    assert all({"eng_tesseract", "en_easyocr"} <= {m.name for m in models} for models in listed)
    assert ("omission", "green", "") in planted(result)
    assert after.refresh_token
