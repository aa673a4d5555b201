"""Rate limiting of the v1 API in-process: real app, real Redis (api.middleware.rate_limit).

Limits are set tiny per test (``make_api(rate_limit_read="3/minute")``) so a few
requests spend them; each harness has its own key prefix unless a test shares one
to play two ingress replicas.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import deps
from api.middleware.rate_limit import route_group
from core import security
from core.security import create_access_token
from core.stores.rate_limits import AUTH, READ, TASK, UPLOAD
from tests.api.conftest import ApiHarness
from tests.conftest import free_port


def login_attempt(api: ApiHarness, forwarded_for: str | None = None):
    """A failed log-in (unknown user): 401 while allowed, 429 once limited."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return api.client.post(
        "/v1/auth/token", data={"username": "nobody-here", "password": "x" * 12}, headers=headers
    )


def assert_limited(response) -> None:
    """A 429 in the API's one error shape, with a usable Retry-After."""
    assert response.status_code == 429, response.text
    assert list(response.json()) == ["detail"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    assert response.headers["X-RateLimit-Remaining"] == "0"


def test_429_with_retry_after_once_uploads_are_spent_other_groups_unaffected(
    make_api, sample_audio
):
    api = make_api(rate_limit_upload="2/minute")
    headers = api.account()
    files = {"upload_file": ("a.mp3", sample_audio.read_bytes())}
    first = api.client.post("/v1/audio/upload", files=files, headers=headers)
    second = api.client.post("/v1/image/upload", files=files, headers=headers)
    assert first.status_code == 200, first.text
    assert second.status_code == 422  # counted although the image is not an image
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == (
        "2",
        "1",
    )
    assert second.headers["X-RateLimit-Remaining"] == "0"

    refused = api.client.post("/v1/audio/upload", files=files, headers=headers)
    assert_limited(refused)
    assert refused.headers["X-RateLimit-Limit"] == "2"

    # Task creation and status polls have their own budgets.
    created = api.client.post(
        "/v1/audio/process/task",
        json={"audio_file": first.json()["file_id"], "audio_model": "whisper"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    status = api.client.get(
        "/v1/task/status", params={"task_id": created.json()["task_id"]}, headers=headers
    )
    assert status.status_code == 200, status.text
    assert int(status.headers["X-RateLimit-Limit"]) > 2


def test_limits_are_per_user(make_api):
    api = make_api(rate_limit_read="3/minute")
    alice, bob = api.account(), api.account()
    for _ in range(3):
        assert api.client.get("/v1/auth/users/me", headers=alice).status_code == 200
    assert_limited(api.client.get("/v1/auth/users/me", headers=alice))
    assert api.client.get("/v1/auth/users/me", headers=bob).status_code == 200


def test_a_forged_token_does_not_spend_its_subjects_budget(make_api):
    api = make_api(rate_limit_read="2/minute")
    victim = api.account("victim-" + uuid.uuid4().hex[:8])
    username = api.client.get("/v1/auth/users/me", headers=victim).json()["username"]
    forged = create_access_token(username, "not-the-service-key-" + "y" * 32, timedelta(minutes=5))
    forged_headers = {"Authorization": f"Bearer {forged}"}
    for _ in range(2):
        assert api.client.get("/v1/auth/users/me", headers=forged_headers).status_code == 401
    # The forger's own (address) budget is spent, not the victim's.
    assert_limited(api.client.get("/v1/auth/users/me", headers=forged_headers))
    assert api.client.get("/v1/auth/users/me", headers=victim).status_code == 200


def test_two_replicas_on_one_redis_share_the_limit(make_api, key_prefix):
    shared = f"{key_prefix}{uuid.uuid4().hex[:12]}:"
    replica_a = make_api(key_prefix=shared, rate_limit_read="3/minute")
    replica_b = make_api(key_prefix=shared, rate_limit_read="3/minute")
    headers = replica_a.account()  # same users and signing key on both
    assert replica_a.client.get("/v1/auth/users/me", headers=headers).status_code == 200
    assert replica_b.client.get("/v1/auth/users/me", headers=headers).status_code == 200
    assert replica_a.client.get("/v1/auth/users/me", headers=headers).status_code == 200
    assert_limited(replica_b.client.get("/v1/auth/users/me", headers=headers))
    assert_limited(replica_a.client.get("/v1/auth/users/me", headers=headers))


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(make_api, key_prefix):
    shared = f"{key_prefix}{uuid.uuid4().hex[:12]}:"
    attacker = make_api(key_prefix=shared, rate_limit_auth="3/minute", peer=("203.0.113.7", 4000))
    victim = make_api(key_prefix=shared, rate_limit_auth="3/minute", peer=("198.51.100.9", 4001))
    # The attacker claims to be the victim...
    for _ in range(3):
        assert login_attempt(attacker, forwarded_for="198.51.100.9").status_code == 401
    assert_limited(login_attempt(attacker, forwarded_for="198.51.100.9"))
    # ...gets no fresh budget by claiming to be someone new...
    assert_limited(login_attempt(attacker, forwarded_for="192.0.2.77"))
    assert_limited(login_attempt(attacker))
    # ...and has not spent the victim's.
    assert login_attempt(victim).status_code == 401


def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(make_api):
    proxy = make_api(
        rate_limit_auth="2/minute", trusted_proxies="10.0.0.0/8", peer=("10.1.2.3", 4000)
    )
    for _ in range(2):
        assert login_attempt(proxy, forwarded_for="198.51.100.1").status_code == 401
    assert_limited(login_attempt(proxy, forwarded_for="198.51.100.1"))
    # Another client behind the same proxy has its own budget.
    assert login_attempt(proxy, forwarded_for="198.51.100.2").status_code == 401
    # A client prepending a fake address is still known by what the proxy appended.
    assert_limited(login_attempt(proxy, forwarded_for="192.0.2.99, 198.51.100.1"))
    # Trusted proxies chained (10.9.9.9 in front of 10.1.2.3): right-most untrusted.
    assert_limited(login_attempt(proxy, forwarded_for="198.51.100.1, 10.9.9.9"))


def test_a_server_in_front_rewriting_the_client_from_the_header_gains_nothing(
    make_api, key_prefix
):
    """Ray Serve's proxy runs uvicorn, whose default FORWARDED_ALLOW_IPS trusts loopback.

    Reproduced with uvicorn's own middleware and defaults in front of the app: the
    app is handed the address the client wrote in X-Forwarded-For.
    """
    seen: list[tuple[str, int]] = []

    def behind_uvicorn_defaults(app):
        async def record(scope, receive, send):
            if scope["type"] == "http":
                seen.append(tuple(scope["client"]))
            await app(scope, receive, send)

        return ProxyHeadersMiddleware(record, trusted_hosts="127.0.0.1,::1")

    shared = f"{key_prefix}{uuid.uuid4().hex[:12]}:"
    local = make_api(
        key_prefix=shared,
        rate_limit_auth="2/minute",
        peer=("127.0.0.1", 4000),
        wrap=behind_uvicorn_defaults,
    )
    victim = make_api(key_prefix=shared, rate_limit_auth="2/minute", peer=("192.0.2.50", 4001))
    responses = [login_attempt(local, forwarded_for=f"192.0.2.{n}") for n in (1, 2, 3)]
    assert seen == [("192.0.2.1", 0), ("192.0.2.2", 0), ("192.0.2.3", 0)]  # rewritten
    # Rotating the header does not give a fresh budget each time...
    assert [r.status_code for r in responses[:2]] == [401, 401]
    assert_limited(responses[2])
    # ...and claiming the victim's address does not spend the victim's budget.
    for _ in range(3):
        login_attempt(local, forwarded_for="192.0.2.50")
    assert login_attempt(victim).status_code == 401
    assert login_attempt(victim).status_code == 401


@pytest.mark.parametrize("path", ["/v1/health/liveness", "/v1/health/readiness", "/openapi.json"])
def test_health_probes_and_docs_are_never_limited(make_api, path):
    api = make_api(rate_limit_read="1/minute", rate_limit_auth="1/minute")
    for _ in range(5):
        response = api.client.get(path)
        assert response.status_code == 200, response.text
        assert "X-RateLimit-Limit" not in response.headers
    # The same client is limited elsewhere.
    assert api.client.get("/v1/auth/users/me").status_code == 401
    assert_limited(api.client.get("/v1/auth/users/me"))


def test_redis_down_fails_open(make_api, caplog):
    api = make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit_read="1/minute")
    bogus = {"Authorization": "Bearer not.a.jwt"}
    with caplog.at_level(logging.WARNING, logger="core.stores.rate_limits"):
        codes = [api.client.get("/v1/auth/users/me", headers=bogus).status_code for _ in range(3)]
        liveness = api.client.get("/v1/health/liveness")
    assert codes == [401, 401, 401]  # the route's answer, neither 429 nor 500
    assert liveness.status_code == 200
    assert "Rate limiting is NOT enforced" in caplog.text


def test_rate_limiting_can_be_disabled(make_api):
    api = make_api(rate_limit_enabled=False, rate_limit_read="1/minute")
    for _ in range(3):
        response = api.client.get("/v1/auth/users/me")
        assert response.status_code == 401
        assert "X-RateLimit-Limit" not in response.headers


def test_every_route_is_in_the_intended_group(api):
    """Guards against new routes silently landing in the lenient ``read`` group."""
    paths = api.client.get("/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for method in operations:
            group = route_group(method.upper(), path)
            if path.startswith("/v1/health/"):
                assert group is None, path
            elif method in ("get", "delete"):  # the archive's deletions count as reads
                assert group == READ, path
            elif path.startswith("/v1/auth/"):
                assert group == AUTH, path
            elif path.endswith(("/upload", "/upload_url")):
                assert group == UPLOAD, path
            else:
                assert (method, group) == ("post", TASK), f"{method} {path}"
    assert route_group("POST", "/v1/audio/upload/") == UPLOAD  # trailing slash


@pytest.mark.parametrize("rate_limited", [True, False])
def test_a_token_is_decoded_once_per_request(make_api, monkeypatch, rate_limited):
    api = make_api(rate_limit_enabled=rate_limited)
    headers = api.account()
    decoded: list[str] = []

    def counting(token, secret, algorithm="HS256"):
        decoded.append(token)
        return security.decode_access_token(token, secret, algorithm)

    monkeypatch.setattr(deps, "decode_access_token", counting)
    assert api.client.get("/v1/audio/models", headers=headers).status_code == 200
    assert len(decoded) == 1
    forged = {"Authorization": headers["Authorization"][:-2] + "xx"}
    assert api.client.get("/v1/audio/models", headers=forged).status_code == 401
    assert len(decoded) == 2  # a bad token too: the limiter's verdict is reused
