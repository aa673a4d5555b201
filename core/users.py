"""Users stored in Redis: registration, authentication, the signing secret."""

from __future__ import annotations

import re

from pydantic import BaseModel
from redis.asyncio import Redis

from core.security import generate_secret, hash_password, verify_password

__all__ = ["User", "UserExistsError", "UserStore", "ValidationFailed", "USERNAME_PATTERN"]

#: Usernames: 3-64 characters of letters, digits and ``_ . @ -``. They appear in
#: Redis keys and logs, so spaces, slashes and control characters are refused.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
MAX_PASSWORD_LENGTH = 1024


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

        Raises:
            ValidationFailed: bad username or password.
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
        stored = _StoredUser(
            username=username,
            hashed_password=hash_password(password),
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
        if not verify_password(password, stored.hashed_password if stored else None):
            return None
        assert stored is not None
        return stored.public()

    async def set_disabled(self, username: str, disabled: bool) -> None:
        """Enable or disable a user (operators' tool; the API has no endpoint for it).

        Raises:
            KeyError: unknown user.
        """
        stored = await self._load(username)
        if stored is None:
            raise KeyError(username)
        stored.disabled = disabled
        await self._redis.set(self._key(username), stored.model_dump_json())

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
