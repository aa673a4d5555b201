"""Every v1 endpoint through HTTP against the running Serve application:
success and the spec's error codes and messages."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from core.stores.users import UserStore
from tests.serve_app.integration.conftest import make_account, upload, wait_for_task

pytestmark = pytest.mark.serve

PROTECTED = [
    ("GET", "/v1/auth/users/me"),
    ("POST", "/v1/audio/upload"),
    ("GET", "/v1/audio/download"),
    ("GET", "/v1/audio/models"),
    ("POST", "/v1/audio/process/task"),
    ("GET", "/v1/audio/process/result"),
    ("POST", "/v1/audio/extract/task"),
    ("GET", "/v1/audio/extract/result"),
    ("POST", "/v1/image/upload"),
    ("GET", "/v1/image/download"),
    ("GET", "/v1/image/models"),
    ("POST", "/v1/image/process/task"),
    ("GET", "/v1/image/process/result"),
    ("POST", "/v1/comparison/audio/image/task"),
    ("GET", "/v1/comparison/audio/image/result"),
    ("GET", "/v1/comparison/audio/image/annotated"),
    ("POST", "/v1/comparison/audio/text/task"),
    ("GET", "/v1/comparison/audio/text/result"),
    ("GET", "/v1/task/status"),
    ("GET", "/v1/task/result"),
]
#: The endpoints added beyond the spec (issues 16 and 17), owner-only like the rest.
PEER = [
    ("POST", "/v1/audio/upload_url"),
    ("POST", "/v1/image/upload_url"),
    ("POST", "/v1/audio/transcriptions"),
    ("GET", "/v1/archive/requests"),
    ("DELETE", "/v1/archive/requests"),
    ("GET", "/v1/archive/requests/{request_id}"),
    ("DELETE", "/v1/archive/requests/{request_id}"),
    ("GET", "/v1/archive/requests/{request_id}/audio"),
    ("GET", "/v1/archive/requests/{request_id}/full_request"),
    ("GET", "/v1/archive/requests/{request_id}/transcript"),
    ("GET", "/v1/archive/requests/{request_id}/voice_activity_marks"),
    # Issue 17: the printable report.
    ("GET", "/v1/comparison/audio/image/report"),
    ("GET", "/v1/comparison/audio/text/report"),
]
PROBES = [("GET", "/v1/health/liveness"), ("GET", "/v1/health/readiness")]
AUTH = [
    ("PUT", "/v1/auth/register"),
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/revoke"),
]
ALL_ENDPOINTS = [*AUTH, *PROTECTED, *PEER, *PROBES]


def detail(response) -> str:
    return response.json()["detail"]


def create(http, account, path: str, body: dict) -> str:
    response = http.post(path, json=body, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def result(http, account, path: str, task_id: str):
    return http.get(path, params={"task_id": task_id}, headers=account.headers)


# --- documentation -------------------------------------------------------------------


def test_openapi_lists_the_spec_endpoints_the_added_ones_and_probes(http):
    spec = http.get("/openapi.json").json()
    listed = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert listed == set(ALL_ENDPOINTS)
    assert "OAuth2PasswordBearer" in spec["components"]["securitySchemes"]
    assert http.get("/docs").status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED + PEER)
def test_protected_endpoint_without_token_is_401(http, method, path):
    response = http.request(method, path.replace("{request_id}", str(uuid.uuid4())))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


# --- auth ----------------------------------------------------------------------------


def test_register_login_and_me(http):
    name = f"reader-{uuid.uuid4().hex[:8]}"
    params = {
        "username": name,
        "password": "long enough pw",
        "email": "r@example.org",
        "full_name": "A Reader",
    }
    registered = http.put("/v1/auth/register", params=params)
    assert registered.status_code == 200
    assert isinstance(registered.json()["text"], str)

    again = http.put("/v1/auth/register", params=params)
    assert (again.status_code, detail(again)) == (422, "Username is already taken")

    token = http.post("/v1/auth/token", data={"username": name, "password": "long enough pw"})
    assert token.status_code == 200
    assert token.json()["token_type"] == "bearer"
    assert token.json()["expires_in"] > 0
    refreshed = http.post(
        "/v1/auth/refresh",
        data={"grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"]},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != token.json()["refresh_token"]
    me = http.get(
        "/v1/auth/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert me.json() == {
        "username": name,
        "email": "r@example.org",
        "full_name": "A Reader",
        "disabled": False,
    }


def test_register_refuses_a_short_password(http):
    response = http.put(
        "/v1/auth/register", params={"username": f"u{uuid.uuid4().hex[:8]}", "password": "short"}
    )
    assert response.status_code == 422
    assert "Password" in detail(response)


@pytest.mark.parametrize("password", ["wrong password", ""])
def test_login_with_wrong_password_is_401(http, account, password):
    response = http.post(
        "/v1/auth/token", data={"username": account.username, "password": password}
    )
    assert response.status_code in (401, 422)
    if password:
        assert (response.status_code, detail(response)) == (401, "Incorrect username or password")


def test_login_of_unknown_user_is_401(http):
    response = http.post("/v1/auth/token", data={"username": "nobody-here", "password": "x" * 9})
    assert (response.status_code, detail(response)) == (401, "Incorrect username or password")


def test_garbage_token_is_401(http):
    response = http.get("/v1/auth/users/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert (response.status_code, detail(response)) == (401, "Could not validate credentials")


def test_disabled_user_is_400_inactive(http, redis_url, key_prefix):
    victim = make_account(http)

    async def disable() -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        await UserStore(redis, key_prefix).set_disabled(victim.username, True)
        await redis.aclose()

    asyncio.run(disable())
    response = http.get("/v1/auth/users/me", headers=victim.headers)
    assert (response.status_code, detail(response)) == (400, "Inactive user")
    models = http.get("/v1/audio/models", headers=victim.headers)
    assert models.status_code == 400


# --- uploads and downloads -----------------------------------------------------------


def test_audio_upload_download_round_trip(http, account, uploaded):
    response = http.get(
        "/v1/audio/download", params={"file": uploaded["audio"]}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content[:3] == b"ID3" or response.content[:2] == b"\xff\xfb"


def test_image_upload_download_is_png(http, account, uploaded):
    response = http.get(
        "/v1/image/download", params={"file": uploaded["image"]}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    ("kind", "name", "content", "message"),
    [
        ("audio", "notes.txt", b"hello", "Only audio files uploads are allowed"),
        (
            "audio",
            "fake.mp3",
            b"this is text, not audio" * 20,
            "Only audio files uploads are allowed",
        ),
        ("audio", "empty.wav", b"", None),
        ("image", "notes.txt", b"hello", "Only image files uploads are allowed"),
        (
            "image",
            "fake.png",
            b"this is text, not an image" * 20,
            "Only image files uploads are allowed",
        ),
    ],
)
def test_bad_uploads_are_422_with_a_clear_message(
    http, account, sample_audio, kind, name, content, message
):
    response = upload(http, account, kind, sample_audio, name=name, content=content)
    assert response.status_code == 422, response.text
    if message:
        assert detail(response) == message
    # The service keeps serving.
    assert http.get(f"/v1/{kind}/models", headers=account.headers).status_code == 200


def test_an_image_renamed_to_wav_is_refused(http, account, sample_image):
    response = upload(http, account, "audio", sample_image, name="photo.wav")
    assert (response.status_code, detail(response)) == (422, "Only audio files uploads are allowed")


def test_upload_without_a_file_is_422(http, account):
    response = http.post("/v1/audio/upload", headers=account.headers)
    assert response.status_code == 422


@pytest.mark.parametrize("kind", ["audio", "image"])
def test_download_unknown_file_is_404(http, account, kind):
    response = http.get(
        f"/v1/{kind}/download", params={"file": str(uuid.uuid4())}, headers=account.headers
    )
    assert (response.status_code, detail(response)) == (404, "File not found")


@pytest.mark.parametrize("kind", ["audio", "image"])
def test_download_malformed_uuid_is_422(http, account, kind):
    response = http.get(
        f"/v1/{kind}/download", params={"file": "../../etc/passwd"}, headers=account.headers
    )
    assert response.status_code == 422


def test_another_users_file_is_404(http, uploaded):
    stranger = make_account(http)
    response = http.get(
        "/v1/audio/download", params={"file": uploaded["audio"]}, headers=stranger.headers
    )
    assert (response.status_code, detail(response)) == (404, "File not found")
    task = http.post(
        "/v1/audio/process/task",
        headers=stranger.headers,
        json={"audio_file": uploaded["audio"], "audio_model": "whisper"},
    )
    assert (task.status_code, detail(task)) == (404, "No such audio file available")


# --- models --------------------------------------------------------------------------


def test_models_endpoints_list_the_loaded_models(http, account):
    audio = http.get("/v1/audio/models", headers=account.headers).json()["models"]
    image = http.get("/v1/image/models", headers=account.headers).json()["models"]
    assert {m["name"] for m in audio} == {"whisper", "broken_asr"}
    assert {m["name"] for m in image} == {"en_easyocr", "eng_tesseract"}
    for model in audio + image:
        assert model["languages"] == ["en"]
        assert model["description"]


# --- audio tasks ---------------------------------------------------------------------


def test_audio_processing_task_and_result(http, account, uploaded):
    task_id = create(
        http,
        account,
        "/v1/audio/process/task",
        {"audio_file": uploaded["audio"], "audio_model": "whisper"},
    )
    assert wait_for_task(http, account, task_id)["status"] == "completed"
    body = result(http, account, "/v1/audio/process/result", task_id).json()
    assert body["text"].lower().startswith("every path")
    assert body["segments"]
    for segment in body["segments"]:
        # The spec's fields, plus the recogniser's timed words (additive).
        assert set(segment) == {"start", "end", "text", "file", "words"}
        assert 0 <= segment["start"] < segment["end"] <= 2.0
        for word in segment["words"]:
            assert segment["start"] <= word["start"] <= word["end"] <= segment["end"] + 0.01
            assert 0 <= word["probability"] <= 1
        cut = http.get(
            "/v1/audio/download", params={"file": segment["file"]}, headers=account.headers
        )
        assert cut.status_code == 200
    # The generic result endpoint returns the same task's result.
    generic = result(http, account, "/v1/task/result", task_id)
    assert generic.status_code == 200
    assert generic.json()["text"] == body["text"]


@pytest.mark.parametrize(
    ("path", "extra"),
    [("/v1/audio/process/task", {}), ("/v1/audio/extract/task", {"phrases": ["path"]})],
)
def test_audio_task_with_unknown_model_or_file_is_404(http, account, uploaded, path, extra):
    unknown_model = http.post(
        path,
        headers=account.headers,
        json={"audio_file": uploaded["audio"], "audio_model": "nope", **extra},
    )
    assert (unknown_model.status_code, detail(unknown_model)) == (
        404,
        "No such audio model available",
    )
    image_model = http.post(
        path,
        headers=account.headers,
        json={"audio_file": uploaded["audio"], "audio_model": "en_easyocr", **extra},
    )
    assert (image_model.status_code, detail(image_model)) == (404, "No such audio model available")
    unknown_file = http.post(
        path,
        headers=account.headers,
        json={"audio_file": str(uuid.uuid4()), "audio_model": "whisper", **extra},
    )
    assert (unknown_file.status_code, detail(unknown_file)) == (404, "No such audio file available")


def test_audio_extraction_finds_a_phrase_and_reports_a_missing_one(http, account, uploaded):
    task_id = create(
        http,
        account,
        "/v1/audio/extract/task",
        {
            "audio_file": uploaded["audio"],
            "audio_model": "whisper",
            "phrases": ["the right path", "purple elephants dancing"],
        },
    )
    assert wait_for_task(http, account, task_id)["status"] == "completed"
    data = result(http, account, "/v1/audio/extract/result", task_id).json()["data"]
    found, missing = data
    assert (found["phrase"], found["found"]) == ("the right path", True)
    segment = found["audio_segment"]
    assert segment["text"].lower().startswith("the right path")
    assert 0.5 < segment["start"] < segment["end"] <= 2.0
    assert (
        http.get(
            "/v1/audio/download", params={"file": segment["file"]}, headers=account.headers
        ).status_code
        == 200
    )
    assert (missing["found"], missing["audio_segment"]) == (False, None)


# --- image tasks ---------------------------------------------------------------------


def test_image_processing_task_and_result(http, account, uploaded):
    task_id = create(
        http,
        account,
        "/v1/image/process/task",
        {"image_file": uploaded["image"], "image_model": "eng_tesseract"},
    )
    assert wait_for_task(http, account, task_id)["status"] == "completed"
    body = result(http, account, "/v1/image/process/result", task_id).json()
    assert body["text"] == "Every path is the right path."
    assert len(body["boxes"]) == 6
    for box in body["boxes"]:
        corners = box["coordinates"]
        assert set(corners) == {"left_top", "right_top", "left_bottom", "right_bottom"}
        assert 0 <= corners["left_top"]["x"] < corners["right_bottom"]["x"] <= 362
        assert 0 <= corners["left_top"]["y"] < corners["right_bottom"]["y"] <= 139


def test_image_task_with_unknown_model_or_file_is_404(http, account, uploaded):
    path = "/v1/image/process/task"
    unknown_model = http.post(
        path,
        headers=account.headers,
        json={"image_file": uploaded["image"], "image_model": "whisper"},
    )
    assert (unknown_model.status_code, detail(unknown_model)) == (
        404,
        "No such image model available",
    )
    unknown_file = http.post(
        path,
        headers=account.headers,
        json={"image_file": str(uuid.uuid4()), "image_model": "eng_tesseract"},
    )
    assert (unknown_file.status_code, detail(unknown_file)) == (404, "No such image file available")


# --- comparison tasks ----------------------------------------------------------------


def test_audio_image_task_404s(http, account, uploaded):
    good = {
        "audio_file": uploaded["audio"],
        "image_file": uploaded["image"],
        "audio_model": "whisper",
        "image_model": "eng_tesseract",
    }
    cases = [
        ({"image_model": "nope"}, "No such image model available"),
        ({"audio_model": "nope"}, "No such audio model available"),
        ({"image_file": str(uuid.uuid4())}, "No such image file available"),
        ({"audio_file": str(uuid.uuid4())}, "No such audio file available"),
    ]
    for change, message in cases:
        response = http.post(
            "/v1/comparison/audio/image/task", json={**good, **change}, headers=account.headers
        )
        assert (response.status_code, detail(response)) == (404, message)


def test_audio_text_task_404s_and_body_validation(http, account, uploaded):
    path = "/v1/comparison/audio/text/task"
    unknown_model = http.post(
        path,
        headers=account.headers,
        json={"audio_file": uploaded["audio"], "audio_model": "nope", "text": ["x"]},
    )
    assert (unknown_model.status_code, detail(unknown_model)) == (
        404,
        "No such audio model available",
    )
    unknown_file = http.post(
        path,
        headers=account.headers,
        json={"audio_file": str(uuid.uuid4()), "audio_model": "whisper", "text": ["x"]},
    )
    assert (unknown_file.status_code, detail(unknown_file)) == (404, "No such audio file available")
    missing_text = http.post(
        path,
        headers=account.headers,
        json={"audio_file": uploaded["audio"], "audio_model": "whisper"},
    )
    assert missing_text.status_code == 422


# --- results: 404, 406 and 422 ---------------------------------------------------------

#: The spec's 406 on the result endpoints for a task id that is unknown or another user's.
TASK_UNAVAILABLE = (
    "It is impossible to get task result (task does not exist or it has not finished yet)"
)

RESULT_ENDPOINTS = [
    (
        "/v1/audio/process/result",
        "The job is non-existent or not done",
        "There is no such audio processing task",
    ),
    (
        "/v1/audio/extract/result",
        "The job is non-existent or not done",
        "There is no such audio extraction task",
    ),
    (
        "/v1/image/process/result",
        "The job is non-existent or not done",
        "There is no such image processing task",
    ),
    (
        "/v1/comparison/audio/image/result",
        "Results are not ready yet or no task with such id exist",
        "There is no such task consists of the both image and audio",
    ),
    (
        "/v1/comparison/audio/text/result",
        "Results are not ready yet or no task with such id exist",
        "There is no such task consists of the both audio and text",
    ),
    (
        "/v1/comparison/audio/image/annotated",
        "Results are not ready yet or no task with such id exist",
        "There is no such task consists of the both image and audio",
    ),
]


@pytest.fixture(scope="module")
def finished_tasks(http, account, uploaded) -> dict[str, str]:
    """One completed task of each kind."""
    bodies = {
        "/v1/audio/process/result": (
            "/v1/audio/process/task",
            {"audio_file": uploaded["audio"], "audio_model": "whisper"},
        ),
        "/v1/audio/extract/result": (
            "/v1/audio/extract/task",
            {"audio_file": uploaded["audio"], "audio_model": "whisper", "phrases": ["path"]},
        ),
        "/v1/image/process/result": (
            "/v1/image/process/task",
            {"image_file": uploaded["image"], "image_model": "eng_tesseract"},
        ),
        "/v1/comparison/audio/image/result": (
            "/v1/comparison/audio/image/task",
            {
                "audio_file": uploaded["audio"],
                "image_file": uploaded["image"],
                "audio_model": "whisper",
                "image_model": "eng_tesseract",
            },
        ),
        "/v1/comparison/audio/text/result": (
            "/v1/comparison/audio/text/task",
            {"audio_file": uploaded["audio"], "audio_model": "whisper", "text": ["Every path"]},
        ),
    }
    tasks = {key: create(http, account, path, body) for key, (path, body) in bodies.items()}
    for task_id in tasks.values():
        assert wait_for_task(http, account, task_id)["status"] == "completed"
    # The annotated photo is another view of the audio/image comparison task.
    tasks["/v1/comparison/audio/image/annotated"] = tasks["/v1/comparison/audio/image/result"]
    return tasks


@pytest.mark.parametrize(("path", "not_done", "wrong_kind"), RESULT_ENDPOINTS)
def test_result_of_unknown_task_is_the_specs_406(http, account, path, not_done, wrong_kind):
    response = result(http, account, path, str(uuid.uuid4()))
    assert (response.status_code, detail(response)) == (406, TASK_UNAVAILABLE)


@pytest.mark.parametrize(("path", "not_done", "wrong_kind"), RESULT_ENDPOINTS)
def test_result_of_a_task_of_another_kind_is_422(
    http, account, finished_tasks, path, not_done, wrong_kind
):
    other = next(task for task in finished_tasks.values() if task != finished_tasks[path])
    response = result(http, account, path, other)
    assert (response.status_code, detail(response)) == (422, wrong_kind)
    own = result(http, account, path, finished_tasks[path])
    assert own.status_code == 200


def test_another_users_task_is_invisible(http, finished_tasks):
    stranger = make_account(http)
    task_id = finished_tasks["/v1/audio/process/result"]
    status = http.get("/v1/task/status", params={"task_id": task_id}, headers=stranger.headers)
    assert (status.status_code, detail(status)) == (404, "Task not found")
    for path in [p for p, _, _ in RESULT_ENDPOINTS] + ["/v1/task/result"]:
        response = result(http, stranger, path, task_id)
        assert (response.status_code, detail(response)) == (406, TASK_UNAVAILABLE), path


# --- task status and failures ----------------------------------------------------------


def test_task_status_shape_and_unknown_task(http, account, finished_tasks):
    task_id = finished_tasks["/v1/image/process/result"]
    body = http.get("/v1/task/status", params={"task_id": task_id}, headers=account.headers).json()
    assert body == {"task_id": task_id, "status": "completed", "ready": True, "error": None}
    unknown = http.get(
        "/v1/task/status", params={"task_id": str(uuid.uuid4())}, headers=account.headers
    )
    assert (unknown.status_code, detail(unknown)) == (404, "Task not found")
    generic = result(http, account, "/v1/task/result", str(uuid.uuid4()))
    assert (generic.status_code, detail(generic)) == (406, TASK_UNAVAILABLE)


def test_a_failing_model_fails_the_task_with_its_reason_and_service_keeps_serving(
    http, account, uploaded
):
    task_id = create(
        http,
        account,
        "/v1/audio/process/task",
        {"audio_file": uploaded["audio"], "audio_model": "broken_asr"},
    )
    status = wait_for_task(http, account, task_id)
    assert status["status"] == "failed"
    assert "broken on purpose" in status["error"]
    response = result(http, account, "/v1/audio/process/result", task_id)
    assert response.status_code == 406
    assert "broken on purpose" in detail(response)
    # The same pipeline still completes other work.
    ok = create(
        http,
        account,
        "/v1/image/process/task",
        {"image_file": uploaded["image"], "image_model": "eng_tesseract"},
    )
    assert wait_for_task(http, account, ok)["status"] == "completed"
