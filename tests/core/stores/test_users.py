"""Unit tests for core.stores.users.UserStore against a real Redis."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from core.security import verify_password
from core.stores import users as users_module
from core.stores.users import User, UserExistsError, UserStore, ValidationFailed

PASSWORD = "correct horse battery"


def test_register_get_authenticate(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            created = await users.register(
                "alice", PASSWORD, email="alice@example.org", full_name="Alice A."
            )
            expected = User(
                username="alice", email="alice@example.org", full_name="Alice A.", disabled=False
            )
            assert created == expected
            assert type(created) is User  # the public model, without the hash
            assert "hashed_password" not in created.model_dump()

            assert await users.get("alice") == expected
            assert await users.authenticate("alice", PASSWORD) == expected

            stored = json.loads(await redis.get(f"{prefix}user:alice"))
            assert PASSWORD not in stored["hashed_password"]
            assert verify_password(PASSWORD, stored["hashed_password"])

    asyncio.run(scenario())


def test_unknown_user_is_none(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            assert await users.get("nobody") is None
            assert await users.authenticate("nobody", PASSWORD) is None

    asyncio.run(scenario())


def test_authenticate_wrong_password_is_none(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("alice", PASSWORD)
            assert await users.authenticate("alice", PASSWORD + "!") is None
            assert await users.authenticate("alice", "") is None
            assert await users.authenticate("Alice", PASSWORD) is None  # case-sensitive
            assert await users.authenticate("a/b", PASSWORD) is None  # invalid name

    asyncio.run(scenario())


def test_duplicate_username_is_refused(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("alice", PASSWORD, email="first@example.org")
            with pytest.raises(UserExistsError):
                await users.register("alice", "another password", email="second@example.org")
            # The first registration is untouched.
            assert (await users.get("alice")).email == "first@example.org"
            assert await users.authenticate("alice", PASSWORD) is not None
            assert await users.authenticate("alice", "another password") is None

    asyncio.run(scenario())


def test_concurrent_registrations_exactly_one_wins(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            outcomes = await asyncio.gather(
                users.register("carol", "password one"),
                users.register("carol", "password two"),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if isinstance(o, User)]
            losers = [o for o in outcomes if isinstance(o, UserExistsError)]
            assert len(winners) == 1 and len(losers) == 1
            winning_password = "password one" if outcomes[0] is winners[0] else "password two"
            losing_password = ({"password one", "password two"} - {winning_password}).pop()
            assert await users.authenticate("carol", winning_password) == winners[0]
            assert await users.authenticate("carol", losing_password) is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "username",
    ["", "ab", "has space", "a/b", "x" * 65, "tab\there", "new\nline", "name\n", "ünï"],
)
def test_bad_usernames_are_refused(connect, prefix, username):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            with pytest.raises(ValidationFailed):
                await users.register(username, PASSWORD)
            assert await redis.keys(f"{prefix}*") == []

    asyncio.run(scenario())


@pytest.mark.parametrize("username", ["abc", "x" * 64, "a.b-c_d@e", "User123"])
def test_good_usernames_are_accepted(connect, prefix, username):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            assert (await users.register(username, PASSWORD)).username == username
            assert (await users.get(username)).username == username

    asyncio.run(scenario())


@pytest.mark.parametrize("password", ["", "short", "7 chars", "p" * 1025])
def test_bad_passwords_are_refused(connect, prefix, password):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            with pytest.raises(ValidationFailed):
                await users.register("alice", password)
            assert await users.get("alice") is None

    asyncio.run(scenario())


def test_password_length_limits(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix, min_password_length=12)
            with pytest.raises(ValidationFailed, match="12"):
                await users.register("alice", "p" * 11)
            await users.register("alice", "p" * 12)
            await users.register("bob", "p" * 1024)
            assert await users.authenticate("bob", "p" * 1024) is not None

    asyncio.run(scenario())


def test_set_disabled(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("alice", PASSWORD, email="a@example.org")
            await users.set_disabled("alice", True)
            user = await users.get("alice")
            assert user.disabled is True
            assert user.email == "a@example.org"
            # The password is kept; callers decide what a disabled user may do.
            assert (await users.authenticate("alice", PASSWORD)).disabled is True

            await users.set_disabled("alice", False)
            assert (await users.get("alice")).disabled is False

            with pytest.raises(KeyError):
                await users.set_disabled("nobody", True)
            assert await users.get("nobody") is None

    asyncio.run(scenario())


def test_signing_secret_configured_is_returned_as_is(connect, prefix):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            configured = "c" * 40
            assert await users.signing_secret(configured) == configured
            assert await redis.get(f"{prefix}jwt-secret") is None

    asyncio.run(scenario())


def test_signing_secret_generated_once(connect, prefix):
    async def scenario():
        async with connect() as redis, connect() as other_redis:
            first = UserStore(redis, prefix)
            second = UserStore(other_redis, prefix)
            secrets = await asyncio.gather(
                first.signing_secret(None), second.signing_secret(""), first.signing_secret(None)
            )
            assert len(set(secrets)) == 1
            assert len(secrets[0]) >= 64
            assert await second.signing_secret(None) == secrets[0]
            # Another service (prefix) gets its own secret.
            elsewhere = UserStore(redis, f"{prefix}other:")
            assert await elsewhere.signing_secret(None) != secrets[0]

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("email", "full_name"),
    [
        ("not-an-email", None),
        ("a b@example.org", None),
        ("a@b", None),
        ("a@example.org\n", None),
        ("x" * 250 + "@example.org", None),
        (None, "n" * 129),
        (None, "Alice\nBob"),
        (None, "tab\there"),
    ],
)
def test_bad_email_or_full_name_is_refused(connect, prefix, email, full_name):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            with pytest.raises(ValidationFailed):
                await users.register("alice", PASSWORD, email=email, full_name=full_name)
            assert await users.get("alice") is None

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("email", "full_name"),
    [("a@example.org", "n" * 128), ("ü.ñ+tag@bücher.example", "Zoë O'Neil-Øster"), (None, None)],
)
def test_good_email_and_full_name_are_accepted(connect, prefix, email, full_name):
    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("alice", PASSWORD, email=email, full_name=full_name)
            user = await users.get("alice")
            assert (user.email, user.full_name) == (email, full_name)

    asyncio.run(scenario())


def test_fields_are_validated_before_the_username_is_looked_up(connect, prefix):
    """A taken username with a bad field says what is wrong with the field, exactly
    as a free one would, so only "taken" depends on other users."""

    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("alice", PASSWORD)
            for kwargs in ({"password": "short"}, {"email": "nope"}, {"full_name": "a\x00"}):
                args = {"password": PASSWORD} | kwargs
                with pytest.raises(ValidationFailed) as taken:
                    await users.register("alice", **args)
                with pytest.raises(ValidationFailed) as free:
                    await users.register("bob", **args)
                assert str(taken.value) == str(free.value)
            assert await users.get("bob") is None

    asyncio.run(scenario())


def test_argon2_runs_off_the_event_loop(connect, prefix, monkeypatch):
    """Hashing and verifying (tens of ms of CPU each) must not stall the loop that
    answers every other request of the replica."""
    threads: list[str] = []

    def recording(function):
        def run(*args):
            threads.append(threading.current_thread().name)
            return function(*args)

        return run

    monkeypatch.setattr(users_module, "hash_password", recording(users_module.hash_password))
    monkeypatch.setattr(users_module, "verify_password", recording(users_module.verify_password))

    async def scenario():
        async with connect() as redis:
            users = UserStore(redis, prefix)
            await users.register("carol", PASSWORD)
            assert await users.authenticate("carol", PASSWORD) is not None
            assert await users.authenticate("nobody", PASSWORD) is None

    asyncio.run(scenario())
    assert len(threads) == 3
    assert threading.main_thread().name not in threads
