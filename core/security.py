"""Password hashing (Argon2id via argon2-cffi) and access tokens (JWT via pyjwt)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "InvalidTokenError",
    "create_access_token",
    "decode_access_token",
    "generate_secret",
    "hash_password",
    "verify_password",
]

# argon2-cffi's defaults follow RFC 9106's second recommended option (Argon2id,
# t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()

# A valid hash of a random password, checked when the user does not exist so that
# a failed login takes as long whether or not the username is known.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class InvalidTokenError(Exception):
    """The token is malformed, expired, signed with another key or algorithm."""


def hash_password(password: str) -> str:
    """Hash a password with Argon2id; the result embeds salt and parameters."""
    return _hasher.hash(password)


def verify_password(password: str, hashed: str | None) -> bool:
    """Check a password against a stored hash in constant-ish time.

    Args:
        password: The password the client sent.
        hashed: The stored hash, or ``None`` for an unknown user (a dummy hash is
            checked instead so timing does not reveal whether the user exists).

    Returns:
        True only when ``hashed`` is given and matches.
    """
    try:
        _hasher.verify(hashed or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return hashed is not None


def generate_secret() -> str:
    """A fresh signing secret: 64 random bytes, URL-safe base64 (86 characters)."""
    return secrets.token_urlsafe(64)


def create_access_token(
    subject: str, secret: str, expires_in: timedelta, algorithm: str = "HS256"
) -> str:
    """Sign an access token for ``subject`` valid for ``expires_in``.

    The claims are ``sub``, ``iat``, ``exp`` (RFC 7519) and a random ``jti``.
    """
    now = datetime.now(timezone.utc)
    claims = {
        "sub": subject,
        "iat": now,
        "exp": now + expires_in,
        "jti": uuid.uuid4().hex,
        "type": "access",
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_access_token(token: str, secret: str, algorithm: str = "HS256") -> str:
    """Verify a token and return its subject (the username).

    Only ``algorithm`` is accepted, so ``alg: none`` and algorithm-confusion tokens
    are refused by pyjwt; the ``type`` claim must be ``"access"``, so refresh tokens
    (``core.stores.tokens``, same key) are refused too.

    Raises:
        InvalidTokenError: for any token that does not verify: malformed, expired
            (``exp`` is checked with no leeway), another key or algorithm, missing
            ``sub``/``exp``/``iat``, or not an access token.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[algorithm], options={"require": ["sub", "exp", "iat"]}
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from error
    subject = claims.get("sub")
    if not isinstance(subject, str) or claims.get("type") != "access":
        raise InvalidTokenError("token has no subject or is not an access token")
    return subject
