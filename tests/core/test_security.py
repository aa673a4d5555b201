"""Unit tests for core.security: Argon2id password hashes and access tokens."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest

from core.security import (
    InvalidTokenError,
    create_access_token,
    decode_access_token,
    generate_secret,
    hash_password,
    verify_password,
)

SECRET = "s" * 64
OTHER_SECRET = "o" * 64


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides) -> dict:
    now = int(time.time())
    return {"sub": "alice", "iat": now, "exp": now + 600, "type": "access"} | overrides


def test_hash_is_not_the_password_and_verifies():
    hashed = hash_password("correct horse battery")
    assert "correct horse battery" not in hashed
    assert hashed.startswith("$argon2id$")
    assert verify_password("correct horse battery", hashed)
    # Salted: hashing again gives another string that verifies as well.
    again = hash_password("correct horse battery")
    assert again != hashed
    assert verify_password("correct horse battery", again)


def test_verify_wrong_password_is_false():
    hashed = hash_password("correct horse battery")
    assert not verify_password("correct horse batterY", hashed)
    assert not verify_password("", hashed)


def test_verify_without_hash_is_false():
    assert verify_password("anything", None) is False
    assert verify_password("", None) is False


def test_verify_malformed_hash_is_false():
    assert verify_password("password", "not-an-argon2-hash") is False


def test_generate_secret_is_long_and_fresh():
    first, second = generate_secret(), generate_secret()
    assert len(first) >= 64
    assert first != second


def test_token_round_trip():
    token = create_access_token("alice", SECRET, timedelta(minutes=5))
    assert decode_access_token(token, SECRET) == "alice"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    other = create_access_token("alice", SECRET, timedelta(minutes=5))
    assert jwt.decode(other, options={"verify_signature": False})["jti"] != claims["jti"]


def test_token_with_another_hs_algorithm_round_trips():
    token = create_access_token("bob", SECRET, timedelta(minutes=5), algorithm="HS512")
    assert decode_access_token(token, SECRET, algorithm="HS512") == "bob"
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)  # only HS256 accepted by default


def test_expired_token_is_refused():
    token = create_access_token("alice", SECRET, timedelta(seconds=-10))
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)


def test_token_signed_with_another_secret_is_refused():
    token = create_access_token("alice", OTHER_SECRET, timedelta(minutes=5))
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)


def test_alg_none_token_is_refused():
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    # Sanity check: the token is well formed, only its algorithm is wrong.
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == "alice"
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)


@pytest.mark.parametrize(
    "claims",
    [
        _claims(type="refresh"),
        {k: v for k, v in _claims().items() if k != "type"},
        {k: v for k, v in _claims().items() if k != "sub"},
        {k: v for k, v in _claims().items() if k != "exp"},
        {k: v for k, v in _claims().items() if k != "iat"},
    ],
    ids=["type-refresh", "no-type", "no-sub", "no-exp", "no-iat"],
)
def test_token_without_required_claims_is_refused(claims):
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 50])
def test_garbage_token_is_refused(token):
    with pytest.raises(InvalidTokenError):
        decode_access_token(token, SECRET)
