"""The API with its files in an S3 object store that is down: 503 + Retry-After, not 500."""

from __future__ import annotations

from tests.conftest import S3_BUCKET, S3_KEYS, free_ports


def test_the_api_answers_503_with_retry_after_when_the_store_is_down(
    make_api, monkeypatch, sample_audio
):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    [port] = free_ports(1)
    api = make_api(storage_url=f"s3://{S3_BUCKET}/x", s3_endpoint_url=f"http://127.0.0.1:{port}")
    headers = api.account()
    with sample_audio.open("rb") as upload:
        response = api.client.post("/v1/audio/upload", files={"upload_file": upload},
                                   headers=headers)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "1"
    # Nothing was recorded, and the service keeps serving.
    assert api.client.get("/v1/audio/models", headers=headers).status_code == 200
