"""Login and token refresh: on 401, before expiry, single-use rotation, re-login."""

from __future__ import annotations

import threading

import httpx
import pytest
from fmr_client import (
    AuthenticationError,
    Client,
    FileTokenStore,
    MemoryTokenStore,
    NotLoggedIn,
    Tokens,
)

from tests.client.fake_api import FakeAPI

MODELS = {"models": [{"name": "whisper", "languages": ["en"], "description": "tiny.en"}]}


@pytest.fixture
def api() -> FakeAPI:
    fake = FakeAPI()
    fake.route("GET", "/v1/audio/models", MODELS)
    return fake


def client(api: FakeAPI, **kwargs) -> Client:
    return Client("http://fmr.test", transport=api.transport(), sleep=lambda s: None, **kwargs)


def test_login_sends_the_form_and_uses_the_bearer_token(api):
    with client(api) as fmr:
        tokens = fmr.login("alice", "secret-pw")
        assert (tokens.access_token, tokens.refresh_token) == ("a1", "r1")
        assert [m.name for m in fmr.audio_models()] == ["whisper"]
    assert api.requests[-1].headers["Authorization"] == "Bearer a1"
    assert api.requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_wrong_password_is_an_authentication_error_with_the_detail(api):
    with client(api) as fmr, pytest.raises(AuthenticationError) as raised:
        fmr.login("alice", "wrong")
    assert raised.value.status_code == 401
    assert raised.value.detail == "Incorrect username or password"


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(api):
    with client(api) as fmr:
        fmr.login("alice", "secret-pw")
        api.expire_access_tokens()
        assert fmr.audio_models()[0].name == "whisper"
        assert fmr.tokens.access_token == "a2"
    assert api.paths() == ["/v1/auth/token", "/v1/audio/models", "/v1/auth/refresh",
                           "/v1/audio/models"]
    assert api.requests[-1].headers["Authorization"] == "Bearer a2"


def test_each_refresh_sends_the_newest_refresh_token_never_a_spent_one(api):
    with client(api, tokens=None) as fmr:
        fmr.login("alice", "secret-pw")
        for _ in range(3):
            api.expire_access_tokens()
            fmr.audio_models()
        assert fmr.tokens.refresh_token == "r4"
        assert fmr.refresh().refresh_token == "r5"
    assert api.refreshes == ["r1", "r2", "r3", "r4"]
    assert api.revoked_sessions == set()


def test_a_token_about_to_expire_is_refreshed_before_the_call(api):
    api.expires_in = 10  # under the 30-s margin: renewed before use
    with client(api) as fmr:
        fmr.login("alice", "secret-pw")
        api.expires_in = 900
        fmr.audio_models()
    assert api.paths() == ["/v1/auth/token", "/v1/auth/refresh", "/v1/audio/models"]


def test_a_revoked_session_without_credentials_raises_with_the_services_detail(api):
    login = FakeAPI()
    tokens = Tokens.from_response(login._token(httpx.Request(
        "POST", "http://x", data={"username": "alice", "password": "secret-pw"})).json())
    api.refresh_tokens["r1"] = 1
    api.spent.add("r1")  # someone already used it: reuse revokes the session
    with client(api, tokens=tokens) as fmr, pytest.raises(AuthenticationError) as raised:
        fmr.audio_models()
    assert "already used" in raised.value.detail
    assert 1 in api.revoked_sessions


def test_with_credentials_a_dead_session_is_replaced_by_a_new_login(api):
    with client(api, username="alice", password="secret-pw") as fmr:
        assert fmr.audio_models()  # logs in lazily
        api.expire_access_tokens()
        api.spent.add(fmr.tokens.refresh_token)
        assert fmr.audio_models()
    assert api.paths().count("/v1/auth/token") == 2
    assert api.sessions == 2


def test_no_login_at_all_is_not_logged_in(api):
    with client(api) as fmr, pytest.raises(NotLoggedIn):
        fmr.audio_models()
    assert api.requests == []


def test_threads_hitting_401_together_refresh_once(api):
    api.route("GET", "/v1/audio/models", lambda r: httpx.Response(200, json=MODELS))
    with client(api) as fmr:
        fmr.login("alice", "secret-pw")
        api.expire_access_tokens()
        errors: list[Exception] = []

        def call() -> None:
            try:
                fmr.audio_models()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(api.refreshes) == 1 and api.revoked_sessions == set()


def test_clients_sharing_a_file_store_take_over_each_others_refresh(api, tmp_path):
    path = tmp_path / "fmr" / "credentials.json"
    store = FileTokenStore(path)
    with client(api, token_store=store) as first:
        first.login("alice", "secret-pw")
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    second = client(api, token_store=FileTokenStore(path))
    third = client(api, token_store=FileTokenStore(path))
    api.expire_access_tokens()
    second.audio_models()  # refreshes with r1 and saves r2
    third.audio_models()  # its a1 fails: it finds a2 in the file instead of reusing r1
    assert api.refreshes == ["r1"]
    assert FileTokenStore(path).load().refresh_token == "r2"
    assert api.revoked_sessions == set()


def test_tokens_given_are_kept_in_the_store():
    store = MemoryTokenStore()
    fmr = Client("http://fmr.test", tokens=Tokens("a", "r"), token_store=store)
    assert store.load() == Tokens("a", "r")
    fmr.close()
