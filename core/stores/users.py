"""Users stored in Redis: registration, authentication, the signing secret."""

from __future__ import annotations

import asyncio
import re
import unicodedata

from pydantic import BaseModel
from redis.asyncio import Redis

from core.security import generate_secret, hash_password, verify_password
from core.stores.tokens import revoke_user_refresh_tokens

__all__ = [
    "EMAIL_PATTERN",
    "MAX_EMAIL_LENGTH",
    "MAX_FULL_NAME_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "USERNAME_PATTERN",
    "User",
    "UserExistsError",
    "UserStore",
    "ValidationFailed",
]

#: Usernames: 3-64 characters of letters, digits and ``_ . @ -``. They appear in
#: Redis keys and logs, so spaces, slashes and control characters are refused.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MAX_PASSWORD_LENGTH = 1024
#: E-mail addresses: a plausibility check only (one ``@``, a dotted domain, no spaces
#: or control characters), capped at RFC 5321's 254-character path limit. Whether
#: the address exists is not checked.
_EMAIL_CHAR = r"[^@\s\x00-\x1f\x7f]"
_DOMAIN_LABEL = r"[^@\s\x00-\x1f\x7f.]+"
EMAIL_PATTERN = re.compile(rf"^{_EMAIL_CHAR}{{1,64}}@{_DOMAIN_LABEL}(\.{_DOMAIN_LABEL})+$")
MAX_EMAIL_LENGTH = 254
MAX_FULL_NAME_LENGTH = 128


class UserExistsError(Exception):
    """The username is already registered."""


class ValidationFailed(ValueError):
    """A registration field is not acceptable; the message says which and why."""


class User(BaseModel):
    """A user as the API shows it (spec schema ``User``)."""

    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool = False


class _StoredUser(User):
    """What Redis holds: the public fields plus the password hash."""

    hashed_password: str

    def public(self) -> User:
        return User.model_validate(self.model_dump(exclude={"hashed_password"}))


class UserStore:
    """Users as JSON values under ``{prefix}user:{username}``.

    Args:
        redis: An asyncio Redis client with ``decode_responses=True``.
        prefix: Key prefix shared by the service.
        min_password_length: Shortest accepted password, in characters.
    """

    def __init__(self, redis: Redis, prefix: str, min_password_length: int = 8) -> None:
        self._redis = redis
        self._prefix = prefix
        self._min_password_length = min_password_length

    def _key(self, username: str) -> str:
        return f"{self._prefix}user:{username}"

    async def register(
        self,
        username: str,
        password: str,
        email: str | None = None,
        full_name: str | None = None,
    ) -> User:
        """Create a user; atomic, so two concurrent registrations cannot both win.

        Every field is validated before the username is looked up, so the only
        answer that depends on other users is :class:`UserExistsError`.

        Raises:
            ValidationFailed: bad username, password, email (over 254 characters or
                not like ``name@example.org``) or full name (over 128 characters or
                with control characters).
            UserExistsError: the username is taken.
        """
        if not USERNAME_PATTERN.fullmatch(username):
            raise ValidationFailed(
                "Username must be 3-64 characters: letters, digits, '_', '.', '@' or '-'"
            )
        if not self._min_password_length <= len(password) <= MAX_PASSWORD_LENGTH:
            raise ValidationFailed(
                f"Password must be {self._min_password_length}-{MAX_PASSWORD_LENGTH} characters"
            )
        if email is not None and (
            len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email)
        ):
            raise ValidationFailed(
                f"Email must be an address like name@example.org, "
                f"at most {MAX_EMAIL_LENGTH} characters"
            )
        if full_name is not None and (
            len(full_name) > MAX_FULL_NAME_LENGTH
            or any(unicodedata.category(char) == "Cc" for char in full_name)
        ):
            raise ValidationFailed(
                f"Full name must be at most {MAX_FULL_NAME_LENGTH} characters, "
                "without control characters"
            )
        stored = _StoredUser(
            username=username,
            # Argon2id takes ~50 ms of CPU; off the event loop that answers status polls.
            hashed_password=await asyncio.to_thread(hash_password, password),
            email=email,
            full_name=full_name,
        )
        if not await self._redis.set(self._key(username), stored.model_dump_json(), nx=True):
            raise UserExistsError(username)
        return stored.public()

    async def _load(self, username: str) -> _StoredUser | None:
        raw = await self._redis.get(self._key(username))
        if raw is None:
            return None
        return _StoredUser.model_validate_json(raw)

    async def get(self, username: str) -> User | None:
        """The user, or ``None`` when unknown."""
        stored = await self._load(username)
        return None if stored is None else stored.public()

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password matches, else ``None`` (same cost either way)."""
        stored = await self._load(username) if USERNAME_PATTERN.fullmatch(username) else None
        hashed = stored.hashed_password if stored else None
        if not await asyncio.to_thread(verify_password, password, hashed):
            return None
        assert stored is not None
        return stored.public()

    async def set_disabled(self, username: str, disabled: bool) -> None:
        """Enable or disable a user (operators' tool; the API has no endpoint for it).

        Disabling also revokes all the user's refresh tokens (``core.stores.tokens``), so
        enabling the user again does not bring old sessions back.

        Raises:
            KeyError: unknown user.
        """
        stored = await self._load(username)
        if stored is None:
            raise KeyError(username)
        stored.disabled = disabled
        await self._redis.set(self._key(username), stored.model_dump_json())
        if disabled:
            await revoke_user_refresh_tokens(self._redis, self._prefix, username)

    async def signing_secret(self, configured: str | None) -> str:
        """The JWT signing secret: the configured one, or one generated once.

        The generated secret is stored with ``SET NX`` so all ingress replicas agree
        on the first one written.
        """
        if configured:
            return configured
        key = f"{self._prefix}jwt-secret"
        await self._redis.set(key, generate_secret(), nx=True)
        secret = await self._redis.get(key)
        assert secret is not None
        return secret
