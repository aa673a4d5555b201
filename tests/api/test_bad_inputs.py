"""Hostile and broken input: a corpus of bad requests against the in-process API.

Every case sends one bad request and checks that

* the answer is the expected status with a JSON ``detail`` a client developer can
  read (no stack trace, no server path, not the bare "Internal server error");
* nothing is left behind: no new file anywhere under the test's folder (data folder
  with ``audio/``, ``image/``, ``tmp/``, or a path a hostile file name points at), no
  new ``{prefix}file:*`` or ``{prefix}task:*`` key in Redis;
* nothing was fetched from the network (a canary HTTP server gets no request);
* the app keeps serving.

A few cases are hostile but *accepted*, because the only harm they could do is
neutralised: file names with path characters (the name is never used as a path, and
the content alone decides what a file is) and polyglots or SVGs with scripts/external references
(stored as a freshly encoded PNG, so no appended payload or script survives and no
URL is fetched). Those must store exactly one file, named by its new UUID, whose
bytes are checked. ``test_app_survives_the_whole_corpus`` then fires every case with
default settings at one app and uploads valid files afterwards.

Corpus size: ``.venv/bin/python -m pytest tests/api/test_bad_inputs.py -q -k corpus_size -s``.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import redis
from PIL import Image
from pydub import AudioSegment

from tests.api import hostile_files as hf
from tests.api.conftest import ApiHarness

NIL = "00000000-0000-0000-0000-000000000000"
NOT_AUDIO = "Only audio files uploads are allowed"
NOT_IMAGE = "Only image files uploads are allowed"
PARSE_ERROR = "There was an error parsing the body"
TEXT_TASK = "/v1/comparison/audio/text/task"
TEXT_REQUEST = {"audio_file": NIL, "audio_model": "whisper", "text": ["hello"]}


# --- the canary: an HTTP server that must never be contacted ------------------------


class Canary:
    """Records every request; answers with a magenta PNG (visible if it were drawn)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                canary.requests.append(self.path)
                body = hf.png_image((40, 30), "magenta")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/canary"


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


# --- the corpus -------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a case needs to send its request."""

    client: object
    headers: dict[str, str]
    canary: str


@dataclass(frozen=True)
class Case:
    """One bad request and what must come of it.

    Attributes:
        id: Test id.
        send: Sends the request.
        status: The expected status code.
        detail: Text the ``detail`` message must contain.
        settings: Settings overrides of the app (``make_api``); cases with overrides
            are left out of the whole-corpus run.
        stores: For accepted cases: the kind of the one file that must be stored.
        forbidden: Byte strings the stored file must not contain.
    """

    id: str
    send: Callable[[Ctx], httpx.Response]
    status: int
    detail: str
    settings: Mapping[str, object] = field(default_factory=dict)
    stores: str | None = None
    forbidden: tuple[bytes, ...] = ()


def upload(kind: str, name: str | None, data: bytes | Callable[[Ctx], bytes]):
    """A case's ``send``: upload ``data`` as ``upload_file`` named ``name``."""

    def send(ctx: Ctx) -> httpx.Response:
        content = data(ctx) if callable(data) else data
        return ctx.client.post(
            f"/v1/{kind}/upload", files={"upload_file": (name, content)}, headers=ctx.headers
        )

    return send


def named_upload(kind: str, name: str, content_type: str, data: Callable[[], bytes]):
    """A case's ``send``: one file part with exactly this ``filename`` and type.

    The multipart body is written by hand because httpx leaves out an empty
    ``filename=""``, which some clients do send.
    """

    def send(ctx: Ctx) -> httpx.Response:
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="upload_file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        body = head + data() + f"\r\n--{boundary}--\r\n".encode()
        headers = {**ctx.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        return ctx.client.post(f"/v1/{kind}/upload", content=body, headers=headers)

    return send


#: Recordings and photos as clients send them: (label, endpoint kind, MIME type, bytes).
#: ogg/opus is Firefox's MediaRecorder format, webm/opus Chrome's.
GOOD_MEDIA = [
    ("mp3", "audio", "audio/mpeg", hf.mp3),
    ("ogg-opus", "audio", "audio/ogg;codecs=opus", hf.ogg_opus),
    ("webm-opus", "audio", "audio/webm;codecs=opus", hf.webm_opus),
    ("wav", "audio", "audio/wav", hf.wav),
    ("jpeg", "image", "image/jpeg", hf.jpeg_image),
    ("png", "image", "image/png", hf.png_image),
]
#: File names without a usable extension: empty, a space (a client of the original
#: service), a browser's Blob and a plain name.
NAMES_WITHOUT_EXTENSION = {"empty": "", "space": " ", "blob": "blob", "recording": "recording"}


def content_decides() -> list[Case]:
    """Valid files under names without an extension, each its own named case; the
    ``recording`` ones go as application/octet-stream, so no MIME type helps either."""
    return [
        Case(
            f"name-{label}-holding-{media}",
            named_upload(
                kind, name, "application/octet-stream" if name == "recording" else mime, make
            ),
            200,
            "",
            stores=kind,
        )
        for label, name in NAMES_WITHOUT_EXTENSION.items()
        for media, kind, mime, make in GOOD_MEDIA
    ]


def chunked_upload(kind: str, name: str, size: int):
    """Upload ``size`` bytes as a chunked body: no Content-Length for the server."""

    def send(ctx: Ctx) -> httpx.Response:
        boundary = "hostile-boundary"
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="upload_file"; filename="{name}"\r\n\r\n'
        ).encode()

        def body() -> Iterator[bytes]:
            yield head
            for _ in range(size // 65536):
                yield b"\0" * 65536
            yield f"\r\n--{boundary}--\r\n".encode()

        headers = {**ctx.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        return ctx.client.post(f"/v1/{kind}/upload", content=body(), headers=headers)

    return send


def post_raw(path: str, content: bytes | Callable[[], Iterator[bytes]], content_type: str):
    def send(ctx: Ctx) -> httpx.Response:
        body = content() if callable(content) else content
        headers = {**ctx.headers, "Content-Type": content_type}
        return ctx.client.post(path, content=body, headers=headers)

    return send


def post_json(path: str, payload: object):
    return lambda ctx: ctx.client.post(path, json=payload, headers=ctx.headers)


def get(path: str, **params: str):
    return lambda ctx: ctx.client.get(path, params=params, headers=ctx.headers)


def words(count: int, per_item: int | None = None) -> list[str]:
    per_item = per_item or count
    return [" ".join(["word"] * per_item)] * (count // per_item)


def huge_json_chunks() -> Iterator[bytes]:
    yield b'{"audio_file": "' + NIL.encode() + b'", "audio_model": "whisper", "text": ["'
    for _ in range(80):  # 5 MB
        yield b"word " * 13_107
    yield b'"]}'


def many_files(count: int):
    files = [("upload_file", (f"a{i}.mp3", b"ID3")) for i in range(count)]
    return lambda ctx: ctx.client.post("/v1/audio/upload", files=files, headers=ctx.headers)


CASES: list[Case] = [
    # --- broken audio -------------------------------------------------------------------
    Case("truncated-mp3", upload("audio", "a.mp3", lambda c: hf.mp3()[:200]), 422, "too short"),
    Case("truncated-wav", upload("audio", "a.wav", lambda c: hf.wav()[:100]), 422, "too short"),
    Case("header-only-wav", upload("audio", "a.wav", lambda c: hf.wav()[:44]), 422, "empty"),
    Case("truncated-ogg", upload("audio", "a.ogg", lambda c: hf.ogg()[:4000]), 422, NOT_AUDIO),
    Case(
        "corrupt-mp3",
        upload("audio", "a.mp3", lambda c: hf.corrupt_after_magic(hf.mp3(), 4)),
        422,
        NOT_AUDIO,
    ),
    Case(
        "corrupt-wav",
        upload("audio", "a.wav", lambda c: hf.corrupt_after_magic(hf.wav(), 4)),
        422,
        NOT_AUDIO,
    ),
    Case(
        "corrupt-ogg",
        upload("audio", "a.ogg", lambda c: hf.corrupt_after_magic(hf.ogg(), 4)),
        422,
        NOT_AUDIO,
    ),
    Case("zero-byte-mp3", upload("audio", "a.mp3", b""), 422, NOT_AUDIO),
    Case("zero-byte-wav", upload("audio", "a.wav", b""), 422, NOT_AUDIO),
    Case(
        "text-as-mp3",
        upload("audio", "a.mp3", b"Every path is the right path.\n" * 50),
        422,
        NOT_AUDIO,
    ),
    Case("png-as-wav", upload("audio", "a.wav", lambda c: hf.png_image()), 422, NOT_AUDIO),
    Case(
        "flac-as-mp3",
        upload("audio", "a.mp3", lambda c: hf.flac()),
        422,
        "Unsupported audio format: flac",
    ),
    Case(
        "hls-playlist-as-mp3",
        upload("audio", "a.mp3", lambda c: hf.hls_playlist(c.canary, "file:///etc/passwd")),
        422,
        NOT_AUDIO,
    ),
    Case(
        "ffconcat-as-wav",
        upload("audio", "a.wav", lambda c: hf.ffconcat("/etc/passwd", str(hf.DATA / "miscue.mp3"))),
        422,
        NOT_AUDIO,
    ),
    Case(
        "unsupported-audio-extension",
        upload("audio", "a.flac", lambda c: hf.flac()),
        422,
        NOT_AUDIO,
    ),
    Case(
        "jpeg-sent-as-audio-mpeg",
        named_upload("audio", "a.mp3", "audio/mpeg", hf.jpeg_image),
        422,
        NOT_AUDIO,
    ),
    Case(
        "text-named-mp3-sent-as-audio-mpeg",
        named_upload("audio", "a.mp3", "audio/mpeg", lambda: b"Every path is the right path.\n"),
        422,
        NOT_AUDIO,
    ),
    Case(
        "mp3-sent-to-the-image-endpoint-as-image-png",
        named_upload("image", "a.png", "image/png", hf.mp3),
        422,
        NOT_IMAGE,
    ),
    Case(
        "audio-too-long",
        upload("audio", "a.mp3", lambda c: hf.mp3()),
        422,
        "longer than the maximum of 1 seconds",
        settings={"max_audio_duration_s": 1},
    ),
    Case(
        "decode-timeout",
        upload("audio", "a.mp3", lambda c: hf.mp3()),
        422,
        "Decoding the file took longer than 0.001 s",
        settings={"decode_timeout_s": 0.001},
    ),
    # --- upload size and multipart shape ------------------------------------------------
    Case(
        "file-over-byte-cap",
        upload("audio", "a.mp3", lambda c: hf.mp3()),
        413,
        "The file is larger than the limit of 5000 bytes",
        settings={"max_upload_bytes": 5000},
    ),
    Case(
        "body-over-byte-cap-content-length",
        upload("audio", "a.mp3", b"\0" * 300_000),
        413,
        "The file is larger than the limit of 5000 bytes",
        settings={"max_upload_bytes": 5000},
    ),
    Case(
        "body-over-byte-cap-chunked",
        chunked_upload("image", "a.png", 300_000),
        413,
        "The file is larger than the limit of 5000 bytes",
        settings={"max_upload_bytes": 5000},
    ),
    Case("thousands-of-files", many_files(2000), 400, "Too many files"),
    Case(
        "thousands-of-fields",
        lambda c: c.client.post(
            "/v1/audio/upload",
            files={"upload_file": ("a.mp3", hf.mp3())},
            data={f"field{i}": "x" for i in range(5000)},
            headers=c.headers,
        ),
        400,
        "Too many fields",
    ),
    Case(
        "huge-text-field",
        lambda c: c.client.post(
            "/v1/image/upload",
            files={"upload_file": ("a.png", hf.png_image())},
            data={"comment": "x" * 500_000},
            headers=c.headers,
        ),
        400,
        "Part exceeded maximum size",
    ),
    Case(
        "filename-10000-chars",
        upload("audio", "a" * 10_000 + ".mp3", lambda c: hf.mp3()),
        400,
        "Invalid multipart data",
    ),
    Case(
        "missing-filename",
        upload("audio", None, b"ID3 not a file part"),
        422,
        "Expected UploadFile",
    ),
    Case(
        "missing-file-field",
        lambda c: c.client.post("/v1/image/upload", headers=c.headers),
        422,
        "Field required",
    ),
    Case(
        "json-instead-of-multipart",
        post_raw("/v1/audio/upload", b"{}", "application/json"),
        422,
        "Field required",
    ),
    Case(
        "no-token",
        lambda c: c.client.post("/v1/audio/upload", files={"upload_file": ("a.mp3", hf.mp3())}),
        401,
        "Not authenticated",
    ),
    # --- names and MIME types are hints: the content decides (accepted) ----------------
    *content_decides(),
    Case("mp3-named-txt", upload("audio", "reading.txt", lambda c: hf.mp3()), 200, "",
         stores="audio"),
    Case("png-named-pdf", upload("image", "a.pdf", lambda c: hf.png_image()), 200, "",
         stores="image"),
    # --- hostile file names (accepted: the name is never used as a path) ----------------
    Case(
        "filename-dot-dot",
        upload("audio", "../../etc/passwd.mp3", lambda c: hf.mp3()),
        200,
        "",
        stores="audio",
    ),
    Case(
        "filename-slashes",
        upload("image", "a/b\\c.png", lambda c: hf.png_image()),
        200,
        "",
        stores="image",
    ),
    Case(
        "filename-nul-byte",
        upload("image", "evil.php\0.png", lambda c: hf.png_image()),
        200,
        "",
        stores="image",
    ),
    # --- broken images ------------------------------------------------------------------
    Case("zero-byte-png", upload("image", "a.png", b""), 422, NOT_IMAGE),
    Case("zero-byte-jpg", upload("image", "a.jpg", b""), 422, NOT_IMAGE),
    Case("mp3-as-png", upload("image", "a.png", lambda c: hf.mp3()), 422, NOT_IMAGE),
    Case(
        "html-as-png",
        upload("image", "a.png", b"<html><script>alert(1)</script></html>"),
        422,
        NOT_IMAGE,
    ),
    Case("truncated-png", upload("image", "a.png", lambda c: hf.png_image()[:60]), 422, NOT_IMAGE),
    Case(
        "truncated-jpg", upload("image", "a.jpg", lambda c: hf.jpeg_image()[:300]), 422, NOT_IMAGE
    ),
    Case(
        "corrupt-png",
        upload("image", "a.png", lambda c: hf.corrupt_after_magic(hf.png_image((200, 200)), 8)),
        422,
        NOT_IMAGE,
    ),
    Case("pdf-as-image", upload("image", "a.pdf", lambda c: hf.pdf()), 422, NOT_IMAGE),
    Case("png-20000x20000", upload("image", "a.png", lambda c: hf.png_bomb()), 422, "too large"),
    Case(
        "png-header-claims-100000x100000",
        upload("image", "a.png", lambda c: hf.png_claiming(100_000, 100_000)),
        422,
        "too large",
    ),
    Case(
        "image-over-max-pixels",
        upload("image", "a.jpg", lambda c: (hf.DATA / "every_path.jpg").read_bytes()),
        422,
        "too large: 362x139 pixels (maximum 10000 pixels)",
        settings={"max_image_pixels": 10_000},
    ),
    # --- hostile SVG --------------------------------------------------------------------
    Case(
        "svg-xxe-etc-passwd",
        upload("image", "a.svg", lambda c: hf.svg_xxe()),
        422,
        "may not declare entities",
    ),
    Case(
        "svg-billion-laughs",
        upload("image", "a.svg", lambda c: hf.svg_billion_laughs()),
        422,
        "may not declare entities",
    ),
    Case(
        "svg-embedded-png-bomb",
        upload("image", "a.svg", lambda c: hf.svg_embedding(hf.png_bomb(), "image/png")),
        422,
        "An image embedded in the SVG is too large",
    ),
    Case(
        "svg-embedded-eps",
        upload("image", "a.svg", lambda c: hf.svg_embedding_eps()),
        422,
        "An image embedded in the SVG could not be read",
    ),
    Case(
        "svg-embedded-svgz-bomb",
        upload("image", "a.svg", lambda c: hf.svgz_bomb()),
        422,
        "may not embed compressed SVG",
    ),
    Case(
        "svg-external-dtd",
        upload("image", "a.svg", lambda c: hf.svg_external_dtd(c.canary)),
        200,
        "",
        stores="image",
    ),
    Case(
        "svg-script",
        upload("image", "a.svg", lambda c: hf.svg_script(c.canary)),
        200,
        "",
        stores="image",
        forbidden=(b"<script", b"fetch("),
    ),
    Case(
        "svg-external-file-and-urls",
        upload("image", "a.svg", lambda c: hf.svg_external_resources(c.canary)),
        200,
        "",
        stores="image",
        forbidden=(b"root:", b"169.254"),
    ),
    # --- polyglots (accepted as the image they are; the payload does not survive) -------
    Case(
        "png-plus-zip",
        upload("image", "a.png", lambda c: hf.png_image() + hf.zip_archive()),
        200,
        "",
        stores="image",
        forbidden=(b"PK\x03\x04", b"evil.class"),
    ),
    Case(
        "png-plus-html",
        upload("image", "a.png", lambda c: hf.png_image() + b"<html><script>alert(1)</script>"),
        200,
        "",
        stores="image",
        forbidden=(b"<html", b"<script"),
    ),
    Case(
        "gifar",
        upload("image", "a.gif", lambda c: hf.gif_image() + hf.zip_archive()),
        200,
        "",
        stores="image",
        forbidden=(b"PK\x03\x04", b"evil.class"),
    ),
    Case(
        "jpeg-with-script",
        upload(
            "image",
            "a.jpg",
            lambda c: hf.jpeg_image(comment=b"<script>alert(1)</script>") + b"<script>x</script>",
        ),
        200,
        "",
        stores="image",
        forbidden=(b"<script",),
    ),
    # --- JSON bodies --------------------------------------------------------------------
    Case(
        "json-5-mb",
        post_raw(
            TEXT_TASK,
            json.dumps({**TEXT_REQUEST, "text": words(1_000_000, 1000)}).encode(),
            "application/json",
        ),
        413,
        "The request body is larger than the limit of 1048576 bytes",
    ),
    Case(
        "json-5-mb-chunked",
        post_raw(TEXT_TASK, huge_json_chunks, "application/json"),
        413,
        "The request body is larger than the limit of 1048576 bytes",
    ),
    Case(
        "form-2-mb-to-token",
        lambda c: c.client.post(
            "/v1/auth/token", data={"username": "x" * 2_000_000, "password": "y"}
        ),
        413,
        "The request body is larger than the limit",
    ),
    Case(
        "json-nested-100000-deep",
        post_raw(TEXT_TASK, b"[" * 100_000 + b"]" * 100_000, "application/json"),
        400,
        PARSE_ERROR,
    ),
    Case(
        "json-not-utf8",
        post_raw(TEXT_TASK, b'{"text": ["\xff\xfe\xfa"]}', "application/json"),
        400,
        PARSE_ERROR,
    ),
    Case(
        "json-malformed",
        post_raw(TEXT_TASK, b'{"text": ["unterminated', "application/json"),
        422,
        "JSON decode error",
    ),
    Case(
        "json-as-text-plain",
        post_raw(TEXT_TASK, json.dumps(TEXT_REQUEST).encode(), "text/plain"),
        422,
        "valid dictionary",
    ),
    Case("json-wrong-types", post_json(TEXT_TASK, {**TEXT_REQUEST, "text": 42}), 422, "valid list"),
    Case(
        "text-100000-words-one-string",
        post_json(TEXT_TASK, {**TEXT_REQUEST, "text": words(100_000)}),
        422,
        "at most 100000 characters",
    ),
    Case(
        "text-100000-words",
        post_json(TEXT_TASK, {**TEXT_REQUEST, "text": words(100_000, 5000)}),
        422,
        "The text is too long: 100000 words (maximum 10000 words)",
    ),
    Case(
        "phrases-100000-words",
        post_json(
            "/v1/audio/extract/task",
            {"audio_file": NIL, "audio_model": "whisper", "phrases": words(100_000, 5000)},
        ),
        422,
        "The phrases are too long: 100000 words (maximum 10000 words)",
    ),
    Case(
        "text-over-configured-words",
        post_json(TEXT_TASK, {**TEXT_REQUEST, "text": ["one two three", "four five six"]}),
        422,
        "The text is too long: 6 words (maximum 5 words)",
        settings={"max_text_words": 5},
    ),
    # --- ids ----------------------------------------------------------------------------
    Case("unknown-audio-file", get("/v1/audio/download", file=NIL), 404, "File not found"),
    Case("unknown-image-file", get("/v1/image/download", file=NIL), 404, "File not found"),
    Case(
        "malformed-file-id", get("/v1/audio/download", file="../../etc/passwd"), 422, "valid UUID"
    ),
    Case("unknown-task", get("/v1/task/status", task_id=NIL), 404, "Task not found"),
    Case("malformed-task-id", get("/v1/task/status", task_id="1; DROP TABLE"), 422, "valid UUID"),
    Case(
        "task-on-unknown-file",
        post_json(TEXT_TASK, TEXT_REQUEST),
        404,
        "No such audio file available",
    ),
    Case(
        "task-on-unknown-model",
        post_json(TEXT_TASK, {**TEXT_REQUEST, "audio_model": "nope"}),
        404,
        "No such audio model available",
    ),
]


def post_canary(path: str, body: Callable[[str], dict]):
    """A case's ``send``: a JSON body built around the canary's URL (must not be fetched)."""
    return lambda ctx: ctx.client.post(path, json=body(ctx.canary), headers=ctx.headers)


def transcribe(name: str, data: Callable[[], bytes], **fields: str):
    """A case's ``send``: ``/v1/audio/transcriptions`` with one file and form fields."""

    def send(ctx: Ctx) -> httpx.Response:
        form = {"model": "whisper-1", **fields}
        return ctx.client.post(
            "/v1/audio/transcriptions", files={"file": (name, data())}, data=form,
            headers=ctx.headers,
        )

    return send


PROCESS = "/v1/audio/process/task"
PROCESS_REQUEST = {"audio_file": NIL, "audio_model": "whisper"}
ARCHIVE = "/v1/archive/requests"

#: The endpoints of the peer-service features (issue 16).
CASES += [
    Case("url-to-loopback", post_canary("/v1/image/upload_url", lambda url: {"url": url}),
         422, "not allowed"),
    Case("url-to-metadata", post_json("/v1/image/upload_url",
                                      {"url": "http://169.254.169.254/latest/meta-data/"}),
         422, "not allowed"),
    Case("url-ftp", post_json("/v1/audio/upload_url", {"url": "ftp://example.org/a.mp3"}),
         422, "Only http:// and https://"),
    Case("url-file-scheme", post_json("/v1/audio/upload_url", {"url": "file:///etc/passwd"}),
         422, "Only http:// and https://"),
    Case("url-with-credentials",
         post_json("/v1/audio/upload_url", {"url": "http://user:pw@example.org/a.mp3"}),
         422, "user name or password"),
    Case("url-unresolvable-name", post_json("/v1/audio/upload_url",
                                            {"url": "http://media.invalid/a.mp3"}),
         422, "could not be found"),
    Case("url-3000-chars", post_json("/v1/audio/upload_url",
                                     {"url": "http://example.org/" + "a" * 3000}),
         422, "at most 2048 characters"),
    Case("url-missing", post_json("/v1/audio/upload_url", {}), 422, "Field required"),
    Case("media-url-to-loopback-in-a-task",
         post_canary(TEXT_TASK, lambda url: {
             "audio_model": "whisper", "text": ["hello"], "media_urls": {"audio": url}}),
         422, "not allowed"),
    Case("media-url-and-file-id", post_json(PROCESS, {
        **PROCESS_REQUEST, "media_urls": {"audio": "http://example.org/a.mp3"}}),
         422, "not both"),
    Case("neither-file-id-nor-media-url", post_json(PROCESS, {"audio_model": "whisper"}),
         422, "not both or neither"),
    Case("media-url-of-a-kind-the-task-lacks", post_json(PROCESS, {
        **PROCESS_REQUEST, "media_urls": {"image": "http://example.org/a.png"}}),
         422, "takes no image file"),
    Case("hot-word-empty", post_json(PROCESS, {**PROCESS_REQUEST, "hot_words": {"": 1}}),
         422, "at least 1 character"),
    Case("hot-word-boost-huge", post_json(PROCESS, {**PROCESS_REQUEST, "hot_words": {"a": 1e9}}),
         422, "less than or equal to 100"),
    Case("hot-words-too-many", post_json(PROCESS, {
        **PROCESS_REQUEST, "hot_words": {f"w{i}": 1 for i in range(101)}}),
         422, "at most 100 items"),
    Case("session-id-with-spaces", post_json(PROCESS, {**PROCESS_REQUEST, "session_id": "a b"}),
         422, "should match pattern"),
    Case("wait-not-a-bool", lambda ctx: ctx.client.post(
        PROCESS, params={"wait": "maybe"}, json=PROCESS_REQUEST, headers=ctx.headers),
         422, "valid boolean"),
    Case("archive-bad-cursor", get(ARCHIVE, cursor="bm90IGEgY3Vyc29y"), 422, "cursor"),
    Case("archive-date-words", get(ARCHIVE, date_from="yesterday"), 422, "should match"),
    Case("archive-date-impossible", get(ARCHIVE, date_to="2026-02-30"), 422,
         "Not a valid date"),
    Case("archive-limit-0", get(ARCHIVE, limit="0"), 422, "greater than or equal to 1"),
    Case("archive-unknown-request", get(f"{ARCHIVE}/{NIL}/transcript"), 404,
         "Request not found"),
    Case("archive-malformed-request-id", get(f"{ARCHIVE}/..%2F..%2Fetc/audio"), 404,
         "Not Found"),
    Case("archive-delete-unknown", lambda ctx: ctx.client.delete(
        f"{ARCHIVE}/{NIL}", headers=ctx.headers), 404, "Request not found"),
    Case("openai-png-as-audio", transcribe("a.mp3", hf.png_image), 422, NOT_AUDIO),
    Case("openai-unknown-model", transcribe("a.mp3", hf.mp3, model="gpt-9"), 404,
         "No such audio model"),
    Case("openai-bad-format", transcribe("a.mp3", hf.mp3, response_format="pdf"), 422,
         "Input should be"),
    Case("openai-temperature-2", transcribe("a.mp3", hf.mp3, temperature="2"), 422,
         "less than or equal to 1"),
    Case("openai-no-file", lambda ctx: ctx.client.post(
        "/v1/audio/transcriptions", data={"model": "whisper-1"}, headers=ctx.headers),
         422, "Field required"),
]

DEFAULT_CASES = [case for case in CASES if not case.settings]


# --- checks -------------------------------------------------------------------------


def message(response: httpx.Response) -> str:
    """The human-readable ``detail``: a string, or the ``msg`` of each of FastAPI's
    request validation errors (their list shape is the spec's)."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    detail = response.json()["detail"]
    if isinstance(detail, list):
        msgs = [error.get("msg") for error in detail]
        assert msgs and all(isinstance(m, str) and m for m in msgs), detail
        return "; ".join(msgs)
    assert isinstance(detail, str), detail
    return detail


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def redis_keys(client: redis.Redis, prefix: str) -> set[str]:
    return {
        key.decode()
        for pattern in (f"{prefix}file:*", f"{prefix}task:*")
        for key in client.scan_iter(match=pattern, count=1000)
    }


def check(case: Case, api: ApiHarness, ctx: Ctx, inspect: redis.Redis, canary: Canary) -> None:
    """Send ``case`` and check everything the module docstring promises."""
    root = api.data_dir.parent  # the test's own folder: data dir and anything beside it
    files_before = files_under(root)
    keys_before = redis_keys(inspect, api.settings.key_prefix)
    seen_before = len(canary.requests)

    response = case.send(ctx)

    assert response.status_code == case.status, response.text[:500]
    assert canary.requests[seen_before:] == [], "the server fetched a URL"
    new_files = files_under(root) - files_before
    new_keys = redis_keys(inspect, api.settings.key_prefix) - keys_before
    if case.stores is None:
        text = message(response)
        assert case.detail in text, text
        assert "Traceback" not in response.text and "Internal server error" not in text
        assert str(api.data_dir) not in response.text and "/etc/passwd" not in text
        assert new_files == set(), "files left behind"
        assert new_keys == set(), "Redis records left behind"
    else:
        file_id = uuid.UUID(response.json()["file_id"])
        suffix = ".mp3" if case.stores == "audio" else ".png"
        stored = f"{api.data_dir.name}/{case.stores}/{file_id}{suffix}"
        assert new_files == {stored}  # nothing else, nowhere else (e.g. ../../etc)
        assert new_keys == {f"{api.settings.key_prefix}file:{file_id}"}
        data = (root / stored).read_bytes()
        if case.stores == "audio":  # every accepted recording is the 1.8 s sample
            duration = AudioSegment.from_file(root / stored, format="mp3").duration_seconds
            assert 1.5 < duration < 2.5, duration
        for payload in case.forbidden:
            assert payload not in data
        if case.stores == "image":
            with Image.open(io.BytesIO(data)) as image:
                assert image.format == "PNG"
                image.load()
                assert data.endswith(b"IEND\xaeB`\x82")  # nothing after the PNG's end
                # Nothing external was drawn (the canary's image is magenta).
                assert (255, 0, 255) not in set(image.convert("RGB").getdata())

    assert ctx.client.get("/v1/health/liveness").status_code == 200


@pytest.fixture(scope="module")
def inspect(redis_url: str) -> Iterator[redis.Redis]:
    """A sync client for looking at Redis (the app's client is bound to its loop)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, make_api, inspect, canary) -> None:
    api = make_api(**case.settings)
    ctx = Ctx(client=api.client, headers=api.account(), canary=canary.url)
    check(case, api, ctx, inspect, canary)


def test_app_survives_the_whole_corpus(make_api, inspect, canary, sample_audio, sample_image):
    """Every default-settings case against one app, then valid uploads still work."""
    api = make_api()
    ctx = Ctx(client=api.client, headers=api.account(), canary=canary.url)
    for case in DEFAULT_CASES:
        check(case, api, ctx, inspect, canary)
    for kind, path in (("audio", sample_audio), ("image", sample_image)):
        response = api.client.post(
            f"/v1/{kind}/upload",
            files={"upload_file": (path.name, path.read_bytes())},
            headers=ctx.headers,
        )
        assert response.status_code == 200, response.text
        downloaded = api.client.get(
            f"/v1/{kind}/download", params={"file": response.json()["file_id"]}, headers=ctx.headers
        )
        assert downloaded.status_code == 200 and len(downloaded.content) > 1000
    assert api.client.get("/v1/health/liveness").status_code == 200


def test_corpus_size() -> None:
    refused = [case for case in CASES if case.stores is None]
    statuses = sorted({case.status for case in refused})
    print(
        f"\nbad-input corpus: {len(CASES)} cases; {len(refused)} refused with "
        f"{statuses}, {len(CASES) - len(refused)} accepted as harmless"
    )
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)
