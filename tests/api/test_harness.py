"""The in-process harness itself: a user can register, log in and create a task."""

from tests.api.conftest import ApiHarness


def test_register_login_upload_and_queue_a_task(api: ApiHarness, sample_audio):
    headers = api.account()
    upload = api.client.post(
        "/v1/audio/upload",
        files={"upload_file": ("a.mp3", sample_audio.read_bytes())},
        headers=headers,
    )
    assert upload.status_code == 200, upload.text
    created = api.client.post(
        "/v1/audio/process/task",
        json={"audio_file": upload.json()["file_id"], "audio_model": "whisper"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    status = api.client.get(
        "/v1/task/status", params={"task_id": created.json()["task_id"]}, headers=headers
    )
    assert status.json()["ready"] is False
