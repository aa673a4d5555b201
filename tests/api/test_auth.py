"""``/v1/auth`` in-process: token lifetimes, refresh rotation and revocation, bad
tokens, registration by query or form, and no password echo.

Bad tokens are built with pyjwt with explicit times (no waiting for expiry).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest

from core.security import create_access_token
from tests.api.conftest import JWT_SECRET, PASSWORD, ApiHarness

ME = "/v1/auth/users/me"
BAD_CREDENTIALS = (401, "Could not validate credentials")
BAD_REFRESH = (401, "Invalid or expired refresh token")
REUSED_REFRESH = (401, "Refresh token already used; its session is revoked, log in again")


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _user(api: ApiHarness) -> str:
    username = f"user-{uuid.uuid4().hex[:10]}"
    response = api.client.put(
        "/v1/auth/register", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return username


def _login(api: ApiHarness, username: str) -> dict:
    response = api.client.post(
        "/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _refresh(api: ApiHarness, refresh_token: str, **extra: str):
    return api.client.post(
        "/v1/auth/refresh",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token} | extra,
    )


def _me(api: ApiHarness, access_token: str):
    return api.client.get(ME, headers={"Authorization": f"Bearer {access_token}"})


def _outcome(response) -> tuple[int, str]:
    return response.status_code, response.json()["detail"]


# --- lifetimes -----------------------------------------------------------------------


def test_login_returns_expiring_access_and_refresh_tokens(make_api):
    api = make_api(access_token_expire_minutes=5, refresh_token_expire_days=2)
    token = _login(api, _user(api))
    assert set(token) == {"access_token", "token_type", "refresh_token", "expires_in"}
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 300
    access, refresh = _claims(token["access_token"]), _claims(token["refresh_token"])
    assert access["exp"] - access["iat"] == 300
    assert (access["type"], refresh["type"]) == ("access", "refresh")
    assert refresh["exp"] - refresh["iat"] == 2 * 86400
    # The refresh state in Redis expires with the token, so Redis does not grow.
    redis = api.services.redis
    for key in (
        f"{api.settings.key_prefix}refresh:{refresh['fam']}",
        f"{api.settings.key_prefix}refresh-user:{refresh['sub']}",
    ):
        ttl = api.client.portal.call(redis.ttl, key)
        assert 2 * 86400 - 10 <= ttl <= 2 * 86400, key


def test_default_access_token_lifetime_is_15_minutes(api):
    token = _login(api, _user(api))
    assert token["expires_in"] == 15 * 60
    claims = _claims(token["access_token"])
    assert claims["exp"] - claims["iat"] == 15 * 60


# --- refresh -------------------------------------------------------------------------


def test_refresh_rotates_and_the_new_access_token_works(api):
    username = _user(api)
    first = _login(api, username)
    second = _refresh(api, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 15 * 60
    assert _me(api, second["access_token"]).json()["username"] == username
    # grant_type may be left out (as OAuth2PasswordRequestForm allows for login).
    third = api.client.post("/v1/auth/refresh", data={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text
    assert _me(api, third.json()["access_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_session(api):
    """RFC 9700 section 4.14.2 (refresh token reuse detection)."""
    username = _user(api)
    stolen = _login(api, username)["refresh_token"]
    other_session = _login(api, username)["refresh_token"]
    legit = _refresh(api, stolen).json()["refresh_token"]

    assert _outcome(_refresh(api, stolen)) == REUSED_REFRESH
    # The whole family is gone, including the legitimate client's current token ...
    assert _outcome(_refresh(api, legit)) == BAD_REFRESH
    # ... while the user's other login keeps working.
    assert _refresh(api, other_session).status_code == 200


def test_revoke_logs_out_one_session(api):
    username = _user(api)
    session = _login(api, username)["refresh_token"]
    rotated = _refresh(api, session).json()["refresh_token"]
    other = _login(api, username)["refresh_token"]

    revoked = api.client.post("/v1/auth/revoke", data={"token": rotated})
    assert revoked.status_code == 200
    assert revoked.json() == {"text": "Token revoked"}
    assert _outcome(_refresh(api, rotated)) == BAD_REFRESH
    assert _refresh(api, other).status_code == 200
    # RFC 7009 section 2.2: an invalid or already revoked token also gets a 200.
    for token in (rotated, "garbage", _login(api, username)["access_token"]):
        assert api.client.post("/v1/auth/revoke", data={"token": token}).status_code == 200
    assert api.client.post("/v1/auth/revoke", data={}).status_code == 422


def test_disabled_user_cannot_refresh_and_loses_all_sessions(api):
    username = _user(api)
    token = _login(api, username)
    api.client.portal.call(api.services.users.set_disabled, username, True)
    assert _outcome(_refresh(api, token["refresh_token"])) == (400, "Inactive user")
    assert _outcome(_me(api, token["access_token"])) == (400, "Inactive user")
    # Enabling the user again does not bring the old session back.
    api.client.portal.call(api.services.users.set_disabled, username, False)
    assert _outcome(_refresh(api, token["refresh_token"])) == BAD_REFRESH
    assert _refresh(api, _login(api, username)["refresh_token"]).status_code == 200


def _genuine_refresh_claims(api: ApiHarness) -> dict:
    return _claims(_login(api, _user(api))["refresh_token"])


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda c: jwt.encode(c, "another-key-" + "k" * 40), id="other-key"),
        pytest.param(
            lambda c: jwt.encode(c | {"exp": int(time.time()) - 1}, JWT_SECRET), id="expired"
        ),
        pytest.param(lambda c: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(c)}.", id="alg-none"),
        pytest.param(
            lambda c: create_access_token(c["sub"], JWT_SECRET, timedelta(minutes=5)),
            id="access-token",
        ),
        pytest.param(lambda c: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_refresh_tokens_are_401(api, make):
    genuine = _genuine_refresh_claims(api)
    assert _outcome(_refresh(api, make(genuine))) == BAD_REFRESH


def test_refresh_form_is_validated(api):
    token = _login(api, _user(api))["refresh_token"]
    wrong_grant = _refresh(api, token, grant_type="password")
    assert wrong_grant.status_code == 422
    assert wrong_grant.json()["detail"][0]["loc"] == ["body", "grant_type"]
    missing = api.client.post("/v1/auth/refresh", data={"grant_type": "refresh_token"})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "refresh_token"]
    assert _refresh(api, "").status_code == 422  # an empty form field is a missing one
    # Neither attempt used up the token.
    assert _refresh(api, token).status_code == 200


# --- access token verification -------------------------------------------------------


def _access_claims(username: str, **overrides) -> dict:
    now = int(time.time())
    return {"sub": username, "iat": now, "exp": now + 600, "type": "access"} | overrides


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda u: jwt.encode(_access_claims(u), "another-key-" + "k" * 40),
                     id="other-key"),
        pytest.param(
            lambda u: jwt.encode(
                _access_claims(u, iat=int(time.time()) - 120, exp=int(time.time()) - 60),
                JWT_SECRET,
            ),
            id="expired",
        ),
        pytest.param(
            lambda u: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_access_claims(u))}.",
            id="alg-none",
        ),
        pytest.param(
            lambda u: jwt.encode(_access_claims(u), JWT_SECRET, algorithm="HS512"),
            id="other-alg",
        ),
        pytest.param(lambda u: jwt.encode(_access_claims(u, type="refresh"), JWT_SECRET),
                     id="type-refresh"),
        pytest.param(lambda u: jwt.encode(_access_claims("nobody-here"), JWT_SECRET),
                     id="unknown-user"),
        pytest.param(lambda u: "not.a.jwt", id="garbage"),
    ],
)
def test_bad_access_tokens_are_401(api, make):
    username = _user(api)
    # Sanity check: the same claims, properly signed, are accepted.
    assert _me(api, jwt.encode(_access_claims(username), JWT_SECRET)).status_code == 200
    response = _me(api, make(username))
    assert _outcome(response) == BAD_CREDENTIALS
    assert response.headers["www-authenticate"] == "Bearer"


def test_refresh_token_is_not_an_access_token(api):
    token = _login(api, _user(api))
    assert _outcome(_me(api, token["refresh_token"])) == BAD_CREDENTIALS
    assert _me(api, token["access_token"]).status_code == 200


# --- registration --------------------------------------------------------------------


def test_register_by_form_body_or_by_query(api):
    by_form = f"form-{uuid.uuid4().hex[:8]}"
    response = api.client.put(
        "/v1/auth/register",
        data={"username": by_form, "password": PASSWORD, "email": "f@example.org",
              "full_name": "Form User"},
    )
    assert response.status_code == 200, response.text
    assert PASSWORD not in str(response.request.url)
    by_query = f"query-{uuid.uuid4().hex[:8]}"
    response = api.client.put(
        "/v1/auth/register", params={"username": by_query, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    me = _me(api, _login(api, by_form)["access_token"]).json()
    assert me == {"username": by_form, "email": "f@example.org", "full_name": "Form User",
                  "disabled": False}
    assert _login(api, by_query)["token_type"] == "bearer"
    # Mixing is fine as long as each field comes from one place.
    mixed = f"mixed-{uuid.uuid4().hex[:8]}"
    response = api.client.put(
        "/v1/auth/register", params={"username": mixed}, data={"password": PASSWORD}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params", "data", "detail"),
    [
        ({}, {}, "username and password are required, as query parameters or as form fields"),
        ({"username": "someone"}, {}, "username and password are required"),
        ({}, {"password": PASSWORD}, "username and password are required"),
        ({"username": "someone"}, {"username": "someone", "password": PASSWORD},
         "Give username either as a query parameter or as a form field, not both"),
        ({"username": "a/b", "password": PASSWORD}, {}, "Username must be 3-64 characters"),
        ({}, {"username": "someone", "password": PASSWORD, "email": "nope"},
         "Email must be an address"),
        ({}, {"username": "someone", "password": PASSWORD, "full_name": "x" * 129},
         "Full name must be at most 128 characters"),
    ],
)
def test_register_refuses_missing_or_bad_fields_with_422(api, params, data, detail):
    response = api.client.put("/v1/auth/register", params=params, data=data)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)
    assert api.client.post(
        "/v1/auth/token", data={"username": "someone", "password": PASSWORD}
    ).status_code == 401


def test_taken_username_is_the_only_answer_depending_on_other_users(api):
    taken = _user(api)
    free = f"free-{uuid.uuid4().hex[:8]}"
    for data in ({"password": "short"}, {"password": PASSWORD, "email": "nope"}):
        answers = [
            api.client.put("/v1/auth/register", data={"username": name} | data).json()
            for name in (taken, free)
        ]
        assert answers[0] == answers[1]
    again = api.client.put("/v1/auth/register", data={"username": taken, "password": PASSWORD})
    assert _outcome(again) == (422, "Username is already taken")


SECRET_PASSWORD = "hunter2-do-not-echo-me"


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"params": {"username": "ok-name", "password": "short"}}, id="query-short"),
        pytest.param({"data": {"username": "a/b", "password": SECRET_PASSWORD}}, id="bad-name"),
        pytest.param({"data": {"password": SECRET_PASSWORD}}, id="no-username"),
        pytest.param(
            {"data": {"username": "ok-name", "password": SECRET_PASSWORD * 60}}, id="too-long"
        ),
        pytest.param(
            {"params": {"password": SECRET_PASSWORD},
             "data": {"username": "ok-name", "password": SECRET_PASSWORD}},
            id="both-places",
        ),
        pytest.param(
            {"files": {"password": ("p.txt", SECRET_PASSWORD.encode())},
             "data": {"username": "ok-name"}},
            id="password-as-file",
        ),
        pytest.param(
            {"data": {"username": "ok-name", "password": SECRET_PASSWORD, "email": "x"}},
            id="bad-email",
        ),
    ],
)
def test_register_never_echoes_the_password(api, request_kwargs):
    response = api.client.put("/v1/auth/register", **request_kwargs)
    assert response.status_code == 422, response.text
    assert SECRET_PASSWORD not in response.text
    assert "short" not in response.text.replace("Password must", "")


def test_login_validation_errors_do_not_echo_the_password(api):
    response = api.client.post(
        "/v1/auth/token",
        data={"username": "someone", "password": SECRET_PASSWORD, "grant_type": "bogus"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "grant_type"]
    assert "input" not in response.json()["detail"][0]
    assert SECRET_PASSWORD not in response.text


@pytest.mark.parametrize("username", ["a/b", "x" * 65, "has space", "ünï", "ab"])
def test_login_with_a_malformed_username_is_a_plain_401(api, username):
    response = api.client.post("/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert _outcome(response) == (401, "Incorrect username or password")


# --- documentation -------------------------------------------------------------------


def test_openapi_documents_register_by_query_and_form_and_the_new_endpoints(api):
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    register = spec["paths"]["/v1/auth/register"]["put"]
    fields = ["username", "password", "email", "full_name"]
    assert [(p["name"], p["in"]) for p in register["parameters"]] == [(f, "query") for f in fields]
    form = register["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    body = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[-1]]
    assert list(body["properties"]) == fields
    assert not register["requestBody"].get("required", False)
    token = spec["components"]["schemas"]["Token"]
    assert {"access_token", "token_type", "refresh_token", "expires_in"} <= set(token["required"])
    for path in ("/v1/auth/refresh", "/v1/auth/revoke"):
        assert "application/x-www-form-urlencoded" in (
            spec["paths"][path]["post"]["requestBody"]["content"]
        )
