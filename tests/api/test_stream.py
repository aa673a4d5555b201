"""``WS /v1/audio/stream`` in-process: the real Whisper tiny.en on an espeak-ng reading.

The router (``api.routes.stream``) is included into the harness's app here, and
``Services.speech`` is a gateway that runs the bundled Whisper tiny.en in this
process (``PluginRunner("whisper")``: the bytes go to a temp file, ``run_file``). The
reading is espeak-ng's (made here; the shipped espeak-ng recording
``tests/data/miscue.mp3`` when espeak-ng is missing) of a page with "brown" read as
"black" and "green" skipped, streamed as the browser or a client would: raw PCM at
real-time pace, and WebM/Opus.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from core.plugins import AudioChunk, AudioProcessingResult, Word
from core.plugins.host import PluginRunner
from core.reading.normalize import spoken_form
from tests.conftest import DATA, wait_until

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

#: The page, and the reading (as in tests/data/miscue.json; Whisper tiny.en transcribes
#: espeak-ng's reading of it word for word, offline).
REFERENCE = (
    "The little brown dog ran across the green field to find his red ball under the big tree."
)
SPOKEN = "The little black dog ran across the field to find his red ball under the big tree."


class LocalWhisper:
    """A :class:`api.services.SpeechGateway` running a plugin in this process."""

    def __init__(self, runner: PluginRunner) -> None:
        self.runner = runner
        self.calls: list[tuple[int, str | None]] = []  # (bytes, prompt)

    async def transcribe_bytes(
        self, model, data, suffix, *, language=None, prompt=None, hot_words=None
    ) -> AudioProcessingResult:
        self.calls.append((len(data), prompt))

        def run():
            with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
                handle.write(data)
                handle.flush()
                # The plugin primes decoding with ``reference_text``: the prompt.
                return self.runner.run_file(handle.name, reference_text=prompt, language=language)

        return await asyncio.to_thread(run)


class Silent:
    """A gateway that hears one word in every window (fast; for protocol tests)."""

    async def transcribe_bytes(self, model, data, suffix, **_) -> AudioProcessingResult:
        word = Word(word=" hello", start=0.1, end=0.5)
        return AudioProcessingResult(
            text="hello", segments=[AudioChunk(start=0.1, end=0.5, text="hello", words=[word])]
        )


@pytest.fixture(scope="module")
def whisper() -> PluginRunner:
    return PluginRunner("whisper", options={"check_reading": False, "device": "cpu"})


@pytest.fixture(scope="module")
def reading(tmp_path_factory) -> dict[str, bytes]:
    """The reading as 16-kHz s16le PCM and as WebM/Opus."""
    folder = tmp_path_factory.mktemp("reading")
    source = DATA / "miscue.mp3"  # espeak-ng's en-us voice reading SPOKEN, at 140 wpm
    if shutil.which("espeak-ng"):
        source = folder / "espeak.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(source), SPOKEN],
            check=True,
            capture_output=True,
        )
    pcm = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(source),
            "-ac",
            "1",
            "-ar",
            "16000",
            "-f",
            "s16le",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
    ).stdout
    webm = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(source),
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            "-f",
            "webm",
            "pipe:1",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return {"pcm": pcm, "webm": webm}


@pytest.fixture
def streaming(make_api):
    """``streaming(gateway)`` -> (client, token): the harness app with the stream route."""

    def make(gateway=None, **overrides):
        harness = make_api(**overrides)
        harness.services.speech = gateway
        token = harness.account()["Authorization"].split()[1]
        return harness.client, token

    return make


def tokens(text: str) -> list[str]:
    return [t for word in text.split() for t in spoken_form(word)]


def stream_paced(ws, chunks: list[bytes], pause_s: float, marks: dict[str, float]) -> None:
    """Send the chunks with a pause after each, then ``finalize`` (from a thread)."""
    for chunk in chunks:
        ws.send_bytes(chunk)
        time.sleep(pause_s)
    marks["finalize"] = time.monotonic()
    ws.send_text("finalize")


def receive_all(ws) -> list[tuple[float, dict]]:
    """Every message until the server closes normally, with its arrival time."""
    messages = []
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            assert message.get("code", 1000) == 1000, message
            return messages
        messages.append((time.monotonic(), json.loads(message["text"])))


def test_live_reading_with_whisper_tiny_en(streaming, whisper, reading):
    gateway = LocalWhisper(whisper)
    # No pipeline runs in-process: the final check's task stays queued (PENDING).
    client, token = streaming(gateway, wait_timeout_s=0.3)
    pcm = reading["pcm"]
    chunk = 8000  # 0.25 s of 16-kHz s16le
    chunks = [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]
    marks: dict[str, float] = {}
    query = f"token={token}&format=pcm_s16le&reference_text={REFERENCE}"
    with client.websocket_connect(f"/v1/audio/stream?{query}") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["reading_check"] is True
        sender = threading.Thread(target=stream_paced, args=(ws, chunks, 0.25, marks))
        sender.start()
        messages = receive_all(ws)
        sender.join()
    partials = [(t, m) for t, m in messages if m["type"] == "partial"]
    assert {"type", "segment_id", "text", "start", "end", "final"} == set(partials[0][1])
    # Results came while the reader was still reading, final ones too.
    assert any(t < marks["finalize"] for t, _ in partials)
    assert any(t < marks["finalize"] and m["final"] for t, m in partials)
    finals = [m for _, m in partials if m["final"]]
    assert [m["segment_id"] for m in finals] == list(range(len(finals)))
    assert all(0 <= m["start"] <= m["end"] <= len(pcm) / 32000 + 0.5 for m in finals)
    done = messages[-1][1]
    assert done["type"] == "done" and done["reason"] == "finalize"
    assert done["text"] == " ".join(m["text"] for m in finals)
    assert tokens(done["text"]) == tokens(SPOKEN)
    miscues = {
        (m["miscue"], m["expected"], m["found"], m["ref_index"])
        for _, m in messages
        if m["type"] == "miscue"
    }
    assert ("substitution", "brown", "black", 2) in miscues
    assert ("omission", "green", "", 7) in miscues
    summary = [m for _, m in messages if m["type"] == "summary"][0]["summary"]
    assert summary["words_in_reference"] == 18
    assert len(gateway.calls) >= 4  # re-decoded as the audio grew
    # The whole recording went to a comparison task (verified on Serve: the
    # integration test of the stream), kept in the archive with its audio.
    check = [m for _, m in messages if m["type"] == "check"][0]
    assert check["state"] == "PENDING" and check["task_id"]
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/v1/archive/requests/{check['task_id']}"
    full = client.get(f"{base}/full_request", headers=headers).json()
    assert (full["kind"], full["body"]["text"]) == ("audio_text_comparison", [REFERENCE])
    marks = client.get(f"{base}/voice_activity_marks", headers=headers).json()
    assert abs(marks["duration_ms"] - len(pcm) / 32) < 100  # all of it, in ms


def test_webm_opus_with_the_token_in_the_first_message(streaming, whisper, reading):
    client, token = streaming(LocalWhisper(whisper))
    webm = reading["webm"]
    chunks = [webm[i : i + 2000] for i in range(0, len(webm), 2000)]
    with client.websocket_connect("/v1/audio/stream") as ws:
        start = {"type": "start", "token": token, "reference_text": REFERENCE,
                 "final_check": False}
        ws.send_text(json.dumps(start))
        assert ws.receive_json()["type"] == "ready"
        sender = threading.Thread(target=stream_paced, args=(ws, chunks, 0.1, {}))
        sender.start()
        messages = [m for _, m in receive_all(ws)]
        sender.join()
    assert tokens(messages[-1]["text"]) == tokens(SPOKEN)
    assert any(m["type"] == "miscue" and m["expected"] == "brown" for m in messages)
    assert not any(m["type"] == "check" for m in messages)


@pytest.mark.parametrize(
    "url, first",
    [
        ("/v1/audio/stream", b"\0\0"),  # audio before any token
        ("/v1/audio/stream?token=not-a-jwt", None),
        ("/v1/audio/stream", "not-a-jwt"),
    ],
)
def test_authentication_failures_close_1008(streaming, url, first):
    client, _ = streaming(Silent())
    with client.websocket_connect(url) as ws:
        if isinstance(first, bytes):
            ws.send_bytes(first)
        elif first is not None:
            ws.send_text(first)
        error = ws.receive_json()
        assert error == {"type": "error", "code": "unauthorized", "message": error["message"]}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008 and closed.value.reason


def test_a_bearer_header_is_accepted(streaming):
    client, token = streaming(Silent())
    headers = {"Authorization": f"Bearer {token}"}
    with client.websocket_connect("/v1/audio/stream", headers=headers) as ws:
        assert ws.receive_json()["type"] == "ready"


def expect_close(ws, code: int, error_code: str) -> str:
    error = ws.receive_json()
    assert error["type"] == "error" and error["code"] == error_code, error
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_json()
    assert closed.value.code == code
    assert closed.value.reason == error["message"][:123]
    return error["message"]


def test_unknown_model_bad_parameters_and_no_gateway(streaming):
    client, token = streaming(Silent())
    with client.websocket_connect(f"/v1/audio/stream?token={token}&model=nope") as ws:
        assert "nope" in expect_close(ws, 1008, "unknown_model")
    with client.websocket_connect(f"/v1/audio/stream?token={token}&sample_rate=5") as ws:
        assert "sample_rate" in expect_close(ws, 1008, "bad_request")
    client, token = streaming(None)
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        expect_close(ws, 1011, "unavailable")


def test_undecodable_audio_and_unknown_messages(streaming):
    client, token = streaming(Silent())
    with client.websocket_connect(f"/v1/audio/stream?token={token}&format=wav") as ws:
        ws.receive_json()
        ws.send_bytes(b"this is not a wav header")
        assert "RIFF" in expect_close(ws, 1007, "undecodable_audio")
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        ws.send_bytes(b"OggS" + b"\xff" * 4000)
        ws.send_text("finalize")
        assert "ogg audio could not be decoded" in expect_close(ws, 1007, "undecodable_audio")
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        ws.send_text("hello?")
        expect_close(ws, 1003, "bad_request")


def test_limits_close_cleanly(streaming, monkeypatch):
    client, token = streaming(
        Silent(), stream_max_message_bytes=20000, stream_max_duration_s=2.0,
        stream_min_chunk_s=0.5,
    )
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        ws.send_bytes(b"\0" * 20002)
        expect_close(ws, 1009, "message_too_big")
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        for _ in range(6):  # 3 s of PCM
            ws.send_bytes(b"\0" * 16000)
        messages = []
        while (message := ws.receive_json())["type"] != "done":
            messages.append(message)
        assert message["reason"] == "max_duration" and message["duration"] == 2.0
        assert any(m["type"] == "partial" and m["final"] for m in messages)
        expect_close(ws, 1008, "max_duration")


def ffmpeg_children() -> list[int]:
    """Ids of this process's ffmpeg children."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        if name == "ffmpeg" and int(rest.split()[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def test_a_client_gone_mid_stream_leaves_no_ffmpeg(streaming, reading):
    client, token = streaming(Silent())
    webm = reading["webm"]
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        ws.send_bytes(webm[:3000])
        wait_until(ffmpeg_children, 10, what="ffmpeg started")
        ws.close()
    wait_until(lambda: not ffmpeg_children(), 10, what="ffmpeg gone")


def test_the_route_is_served_through_the_apps_middleware(streaming):
    """The harness app has every middleware of ``create_app`` (body limits, rate
    limiting, metrics): a WebSocket scope passes through them."""
    client, token = streaming(Silent(), rate_limit_enabled=True)
    assert isinstance(client, TestClient)
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_bytes(b"\0" * 32000)
        ws.send_text("finalize")
        messages = []
        while (message := ws.receive_json())["type"] != "done":
            messages.append(message)
        assert message["text"] == "hello"


class Failing:
    async def transcribe_bytes(self, model, data, suffix, **_) -> AudioProcessingResult:
        raise RuntimeError("The model could not transcribe this audio")


def test_a_model_failure_and_an_idle_client_close_the_stream(streaming, monkeypatch):
    client, token = streaming(Failing(), stream_idle_timeout_s=0.5)
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        ws.send_bytes(b"\0" * 32000)  # 1 s: a decode starts
        assert "could not transcribe" in expect_close(ws, 1011, "model_error")
    with client.websocket_connect(f"/v1/audio/stream?token={token}") as ws:
        ws.receive_json()
        assert expect_close(ws, 1008, "idle_timeout") == "No message for 0.5 s"
