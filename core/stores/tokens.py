"""Refresh tokens: issued at login, rotated on every use, revocable, kept in Redis.

Design (see RFC 9700, "OAuth 2.0 Security Best Current Practice", section 4.14.2,
formerly draft-ietf-oauth-security-topics):

* A refresh token is a JWT signed with the service's key, with claims ``sub`` (the
  username), ``type: "refresh"``, ``fam`` (the token *family*: one login session),
  ``jti`` (this token's id), ``iat`` and ``exp``. Being signed, a token can only come
  from this service, so its expiry and user are known without Redis, and a forged
  token cannot touch another session's state. Being typed, it is refused as an
  access token and an access token is refused here.
* Redis holds, per family, the ``jti`` of the one token of that family that may be
  used next: ``{prefix}refresh:{family}``, with a TTL of the refresh lifetime reset
  at each rotation. A token is valid only while it is its family's current one.
  ``{prefix}refresh-user:{username}`` is the set of a user's families, so all of
  them can be revoked at once (e.g. when the user is disabled). Both keys expire,
  so nothing outlives the refresh lifetime of the last token issued.
* Rotation (a Lua script, so atomic): the presented token must be the current one;
  it is replaced by a new ``jti``, so the presented token is dead as soon as it has
  been used once, and of two concurrent refreshes with the same token exactly one
  wins. A genuine token of a live family that is *not* the current one has already
  been rotated: it is being replayed, by an attacker or by the legitimate client
  after an attacker used it. As the BCP prescribes, the whole family is then
  revoked; the service cannot tell who is who, so the legitimate client has to log
  in again. This also applies to a client racing itself with the same token.

Nothing here knows FastAPI or Ray.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from redis.asyncio import Redis
from redis.exceptions import WatchError

from core.security import InvalidTokenError

__all__ = [
    "DEFAULT_REFRESH_TTL_S",
    "InvalidRefreshToken",
    "RefreshClaims",
    "RefreshTokenReused",
    "RefreshTokenStore",
    "revoke_user_refresh_tokens",
]

#: Default lifetime of a refresh token: 14 days, in seconds.
DEFAULT_REFRESH_TTL_S = 14 * 24 * 3600

_HEX_ID = re.compile(r"^[0-9a-f]{32}$")

# KEYS[1] family key, KEYS[2] user's family set.
# ARGV[1] presented jti, ARGV[2] new jti, ARGV[3] TTL (s), ARGV[4] family id.
# Returns 1 rotated, 0 unknown family (expired or revoked), -1 reuse (family revoked).
_ROTATE = """
local current = redis.call('GET', KEYS[1])
if not current then
  return 0
end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[4])
  return -1
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class InvalidRefreshToken(InvalidTokenError):
    """The refresh token is malformed, expired, signed with another key or algorithm,
    not a refresh token, revoked, or already used."""


class RefreshTokenReused(InvalidRefreshToken):
    """An already rotated refresh token was presented again; its whole family (the
    login session it belongs to) has been revoked (RFC 9700 section 4.14.2)."""


@dataclass(frozen=True)
class RefreshClaims:
    """What a verified refresh token says.

    Attributes:
        username: The user it was issued to.
        family: Id of its token family (one login session).
        jti: Id of this token.
        expires_at: When it expires (UTC).
    """

    username: str
    family: str
    jti: str
    expires_at: datetime


def _family_key(prefix: str, family: str) -> str:
    return f"{prefix}refresh:{family}"


def _user_key(prefix: str, username: str) -> str:
    return f"{prefix}refresh-user:{username}"


async def revoke_user_refresh_tokens(redis: Redis, prefix: str, username: str) -> int:
    """Revoke every refresh token of ``username`` (all of the user's sessions).

    Atomic with respect to concurrent logins and refreshes of that user (optimistic
    ``WATCH``/``MULTI``, retried when they interfere).

    Args:
        redis: An asyncio Redis client with ``decode_responses=True``.
        prefix: Key prefix shared by the service.
        username: Whose tokens to revoke.

    Returns:
        How many live token families were revoked.
    """
    index = _user_key(prefix, username)
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(index)
                families = sorted(await pipe.smembers(index))
                pipe.multi()
                for family in families:
                    pipe.delete(_family_key(prefix, family))
                pipe.delete(index)
                deleted = await pipe.execute()
            except WatchError:
                continue
            return sum(deleted[:-1])


class RefreshTokenStore:
    """Issues, verifies, rotates and revokes refresh tokens (see the module docstring).

    Args:
        redis: An asyncio Redis client with ``decode_responses=True``.
        prefix: Key prefix shared by the service.
        secret: The signing key (the same as for access tokens; the ``type`` claim
            keeps the two apart).
        ttl_s: Lifetime of each refresh token, in seconds; a rotation gives the new
            token a full lifetime.
        algorithm: HMAC JWT algorithm (``HS256``, ``HS384`` or ``HS512``).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str,
        secret: str,
        ttl_s: int = DEFAULT_REFRESH_TTL_S,
        algorithm: str = "HS256",
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        self._redis = redis
        self._prefix = prefix
        self._secret = secret
        self._algorithm = algorithm
        self.ttl_s = int(ttl_s)
        self._rotate = redis.register_script(_ROTATE)

    def _sign(self, username: str, family: str, jti: str) -> str:
        now = datetime.now(timezone.utc)
        claims = {
            "sub": username,
            "type": "refresh",
            "fam": family,
            "jti": jti,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl_s),
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    async def issue(self, username: str) -> str:
        """Start a new token family (a login session) and return its first token.

        Families of the user that have expired are dropped from the user's set.
        """
        family, jti = uuid.uuid4().hex, uuid.uuid4().hex
        index = _user_key(self._prefix, username)
        await self._prune(index)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(_family_key(self._prefix, family), jti, ex=self.ttl_s)
            pipe.sadd(index, family)
            pipe.expire(index, self.ttl_s)
            await pipe.execute()
        return self._sign(username, family, jti)

    async def _prune(self, index: str) -> None:
        # A family is added to the set in the same transaction that creates its key,
        # and a missing key never comes back, so dropping members whose key is gone
        # cannot race with a login.
        families = sorted(await self._redis.smembers(index))
        if not families:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for family in families:
                pipe.exists(_family_key(self._prefix, family))
            alive = await pipe.execute()
        stale = [family for family, exists in zip(families, alive, strict=True) if not exists]
        if stale:
            await self._redis.srem(index, *stale)

    def verify(self, token: str) -> RefreshClaims:
        """Check a refresh token's signature, algorithm, type and expiry (no Redis).

        Whether it is still current (not rotated or revoked) is checked by
        :meth:`rotate`.

        Raises:
            InvalidRefreshToken: the token does not verify or is not a refresh token.
        """
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                options={"require": ["sub", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidRefreshToken(str(error)) from error
        username, family, jti = claims.get("sub"), claims.get("fam"), claims.get("jti")
        if (
            claims.get("type") != "refresh"
            or not isinstance(username, str)
            or not username
            or not isinstance(family, str)
            or not isinstance(jti, str)
            or not _HEX_ID.fullmatch(family)
            or not _HEX_ID.fullmatch(jti)
        ):
            raise InvalidRefreshToken("not a refresh token")
        expires_at = datetime.fromtimestamp(claims["exp"], timezone.utc)
        return RefreshClaims(username=username, family=family, jti=jti, expires_at=expires_at)

    async def rotate(self, claims: RefreshClaims) -> str:
        """Use a verified refresh token once: invalidate it and return its successor.

        Atomic: of concurrent rotations of the same token exactly one succeeds.

        Raises:
            RefreshTokenReused: the token was already rotated; its family is revoked.
            InvalidRefreshToken: the family expired or was revoked.
        """
        new_jti = uuid.uuid4().hex
        outcome = await self._rotate(
            keys=[
                _family_key(self._prefix, claims.family),
                _user_key(self._prefix, claims.username),
            ],
            args=[claims.jti, new_jti, self.ttl_s, claims.family],
        )
        if int(outcome) == -1:
            raise RefreshTokenReused("refresh token already used; its session is revoked")
        if int(outcome) != 1:
            raise InvalidRefreshToken("refresh token revoked or expired")
        return self._sign(claims.username, claims.family, new_jti)

    async def revoke(self, claims: RefreshClaims) -> bool:
        """Revoke the family (login session) of a verified refresh token.

        Returns:
            True if the family was still live, False if it had already ended.
        """
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(_family_key(self._prefix, claims.family))
            pipe.srem(_user_key(self._prefix, claims.username), claims.family)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def revoke_all(self, username: str) -> int:
        """Revoke every refresh token of ``username``; returns how many families."""
        return await revoke_user_refresh_tokens(self._redis, self._prefix, username)
