"""The API with its files in an S3 object store that is down: 503 + Retry-After, not 500."""

from __future__ import annotations

import uuid

import httpx

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


def _on_seaweed(make_api, monkeypatch, seaweed, **overrides):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return make_api(
        storage_url=f"s3://{seaweed.bucket}/api-{uuid.uuid4().hex[:8]}",
        s3_endpoint_url=seaweed.endpoint,
        **overrides,
    )


def test_large_downloads_redirect_to_a_presigned_url_of_the_store(
    make_api, monkeypatch, seaweed, sample_audio, sample_image
):
    api = _on_seaweed(make_api, monkeypatch, seaweed, download_redirect_min_bytes=1000)
    headers = api.account()
    for kind, sample, media in (("audio", sample_audio, "audio/mpeg"),
                                ("image", sample_image, "image/png")):
        with sample.open("rb") as upload:
            file_id = api.client.post(f"/v1/{kind}/upload", files={"upload_file": upload},
                                      headers=headers).json()["file_id"]
        stored = api.services.files.path(kind, uuid.UUID(file_id)).read_bytes()
        answer = api.client.get(f"/v1/{kind}/download", params={"file": file_id},
                                headers=headers, follow_redirects=False)
        assert answer.status_code == 307, answer.text
        location = answer.headers["location"]
        assert location.startswith(seaweed.endpoint) and "Signature" in location
        # The URL alone (no token) gives the bytes, typed and named.
        direct = httpx.get(location)
        assert direct.status_code == 200 and direct.content == stored
        assert direct.headers["content-type"] == media
        assert f'filename="{file_id}.' in direct.headers["content-disposition"]
        # Another user gets a 404, not a URL.
        other = api.account()
        refused = api.client.get(f"/v1/{kind}/download", params={"file": file_id},
                                 headers=other, follow_redirects=False)
        assert refused.status_code == 404


def test_small_files_and_the_default_stream_through_the_api(
    make_api, monkeypatch, seaweed, sample_audio
):
    for overrides in ({"download_redirect_min_bytes": 10**9}, {}):
        api = _on_seaweed(make_api, monkeypatch, seaweed, **overrides)
        headers = api.account()
        with sample_audio.open("rb") as upload:
            file_id = api.client.post("/v1/audio/upload", files={"upload_file": upload},
                                      headers=headers).json()["file_id"]
        answer = api.client.get("/v1/audio/download", params={"file": file_id},
                                headers=headers, follow_redirects=False)
        assert answer.status_code == 200 and answer.headers["content-type"] == "audio/mpeg"
        assert answer.content == api.services.files.path("audio", uuid.UUID(file_id)).read_bytes()
