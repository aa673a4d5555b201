"""Unit tests for core.stores.tokens: refresh token rotation, reuse detection, revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import timedelta

import jwt
import pytest

from core.security import create_access_token
from core.stores.tokens import (
    InvalidRefreshToken,
    RefreshTokenReused,
    RefreshTokenStore,
    revoke_user_refresh_tokens,
)
from core.stores.users import UserStore

SECRET = "s" * 64
OTHER_SECRET = "o" * 64
TTL_S = 3600


def _store(redis, prefix, **kwargs) -> RefreshTokenStore:
    return RefreshTokenStore(redis, prefix, SECRET, ttl_s=kwargs.pop("ttl_s", TTL_S), **kwargs)


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_issued_token_is_a_typed_jwt_and_its_keys_expire(connect, prefix):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            token = await tokens.issue("alice")
            claims = _claims(token)
            assert claims["sub"] == "alice" and claims["type"] == "refresh"
            assert claims["exp"] - claims["iat"] == TTL_S
            verified = tokens.verify(token)
            assert (verified.username, verified.family, verified.jti) == (
                "alice", claims["fam"], claims["jti"]
            )
            family_key = f"{prefix}refresh:{claims['fam']}"
            user_key = f"{prefix}refresh-user:alice"
            assert await redis.get(family_key) == claims["jti"]
            assert await redis.smembers(user_key) == {claims["fam"]}
            # Every key expires within the refresh lifetime (and not much earlier).
            for key in (family_key, user_key):
                assert TTL_S - 5 <= await redis.ttl(key) <= TTL_S
            assert sorted(await redis.keys(f"{prefix}*")) == sorted([family_key, user_key])

    asyncio.run(scenario())


def test_rotation_invalidates_the_used_token(connect, prefix):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            first = await tokens.issue("alice")
            second = await tokens.rotate(tokens.verify(first))
            assert _claims(second)["fam"] == _claims(first)["fam"]
            assert _claims(second)["jti"] != _claims(first)["jti"]
            third = await tokens.rotate(tokens.verify(second))
            assert tokens.verify(third).username == "alice"
            family_key = f"{prefix}refresh:{_claims(first)['fam']}"
            assert await redis.get(family_key) == _claims(third)["jti"]
            assert TTL_S - 5 <= await redis.ttl(family_key) <= TTL_S

    asyncio.run(scenario())


def test_reuse_of_a_rotated_token_revokes_the_family(connect, prefix):
    """RFC 9700 section 4.14.2: replaying a rotated token ends the whole session."""

    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            stolen = await tokens.issue("alice")
            other_session = await tokens.issue("alice")
            current = await tokens.rotate(tokens.verify(stolen))
            with pytest.raises(RefreshTokenReused):
                await tokens.rotate(tokens.verify(stolen))
            # The legitimate client's current token died with its family ...
            with pytest.raises(InvalidRefreshToken) as caught:
                await tokens.rotate(tokens.verify(current))
            assert not isinstance(caught.value, RefreshTokenReused)
            assert await redis.exists(f"{prefix}refresh:{_claims(stolen)['fam']}") == 0
            # ... but the user's other sessions are untouched.
            assert await tokens.rotate(tokens.verify(other_session))
            assert await redis.smembers(f"{prefix}refresh-user:alice") == {
                _claims(other_session)["fam"]
            }

    asyncio.run(scenario())


def test_concurrent_rotations_of_one_token_exactly_one_wins(connect, prefix):
    async def scenario():
        async with connect() as redis, connect() as other:
            first = _store(redis, prefix)
            second = _store(other, prefix)
            token = await first.issue("alice")
            claims = first.verify(token)
            outcomes = await asyncio.gather(
                *(store.rotate(claims) for store in [first, second] * 4),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if isinstance(o, str)]
            losers = [o for o in outcomes if isinstance(o, InvalidRefreshToken)]
            assert len(winners) == 1 and len(losers) == 7, outcomes
            # The first loser to run is detected as a replay and revokes the family;
            # the later ones then find no session at all.
            assert sum(isinstance(o, RefreshTokenReused) for o in losers) == 1
            # The losers were replays, so the session is revoked (strict BCP).
            with pytest.raises(InvalidRefreshToken):
                await first.rotate(first.verify(winners[0]))

    asyncio.run(scenario())


def test_revoke_ends_the_session(connect, prefix):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            token = await tokens.issue("alice")
            rotated = await tokens.rotate(tokens.verify(token))
            assert await tokens.revoke(tokens.verify(rotated)) is True
            assert await tokens.revoke(tokens.verify(rotated)) is False
            with pytest.raises(InvalidRefreshToken):
                await tokens.rotate(tokens.verify(rotated))
            assert await redis.keys(f"{prefix}*") == []

    asyncio.run(scenario())


def test_revoke_all_and_disabling_a_user(connect, prefix):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            alice = [await tokens.issue("alice") for _ in range(3)]
            bob = await tokens.issue("bob")
            assert await tokens.revoke_all("alice") == 3
            for token in alice:
                with pytest.raises(InvalidRefreshToken):
                    await tokens.rotate(tokens.verify(token))
            assert await tokens.revoke_all("alice") == 0
            bob = await tokens.rotate(tokens.verify(bob))

            users = UserStore(redis, prefix)
            await users.register("bob", "correct horse battery")
            await users.set_disabled("bob", True)
            with pytest.raises(InvalidRefreshToken):
                await tokens.rotate(tokens.verify(bob))
            assert await revoke_user_refresh_tokens(redis, prefix, "bob") == 0
            assert await redis.keys(f"{prefix}refresh*") == []

    asyncio.run(scenario())


def test_issue_drops_ended_families_from_the_users_set(connect, prefix):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            old = tokens.verify(await tokens.issue("alice"))
            await redis.delete(f"{prefix}refresh:{old.family}")  # as if it had expired
            new = tokens.verify(await tokens.issue("alice"))
            assert await redis.smembers(f"{prefix}refresh-user:alice") == {new.family}

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda c: jwt.encode(c, OTHER_SECRET, algorithm="HS256"), id="other-key"),
        pytest.param(lambda c: jwt.encode(c, SECRET, algorithm="HS512"), id="other-alg"),
        pytest.param(
            lambda c: jwt.encode(c | {"exp": int(time.time()) - 1}, SECRET, algorithm="HS256"),
            id="expired",
        ),
        pytest.param(
            lambda c: jwt.encode(c | {"type": "access"}, SECRET, algorithm="HS256"),
            id="type-access",
        ),
        pytest.param(
            lambda c: jwt.encode(c | {"fam": "../x"}, SECRET, algorithm="HS256"), id="bad-fam"
        ),
        pytest.param(
            lambda c: jwt.encode({k: v for k, v in c.items() if k != "jti"}, SECRET),
            id="no-jti",
        ),
        pytest.param(
            lambda c: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(c)}.", id="alg-none"
        ),
        pytest.param(
            lambda c: create_access_token("alice", SECRET, timedelta(minutes=5)),
            id="access-token",
        ),
        pytest.param(lambda c: "not.a.jwt", id="garbage"),
        pytest.param(lambda c: "", id="empty"),
    ],
)
def test_bad_refresh_tokens_are_refused(connect, prefix, make):
    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            genuine = _claims(await tokens.issue("alice"))
            with pytest.raises(InvalidRefreshToken):
                tokens.verify(make(genuine))
            # The genuine session is untouched by the attempt.
            assert await redis.get(f"{prefix}refresh:{genuine['fam']}") == genuine["jti"]

    asyncio.run(scenario())


def test_a_forged_family_state_is_unknown(connect, prefix):
    """A well-signed token whose family was never stored is refused, not created."""

    async def scenario():
        async with connect() as redis:
            tokens = _store(redis, prefix)
            now = int(time.time())
            forged = jwt.encode(
                {"sub": "alice", "type": "refresh", "fam": uuid.uuid4().hex,
                 "jti": uuid.uuid4().hex, "iat": now, "exp": now + 60},
                SECRET,
            )
            with pytest.raises(InvalidRefreshToken) as caught:
                await tokens.rotate(tokens.verify(forged))
            assert not isinstance(caught.value, RefreshTokenReused)
            assert await redis.keys(f"{prefix}*") == []

    asyncio.run(scenario())


def test_ttl_must_be_positive(connect, prefix):
    async def scenario():
        async with connect() as redis:
            with pytest.raises(ValueError):
                RefreshTokenStore(redis, prefix, SECRET, ttl_s=0)

    asyncio.run(scenario())
