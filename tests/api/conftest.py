"""The v1 FastAPI app in-process: real Redis, real storage, no Ray, no models.

``create_app`` takes its services by injection, so these tests exercise the same
routers, dependencies and middleware the ingress deployment serves, with a fixed
model catalogue (the models are never called: tasks stay queued). Each test gets
its own key prefix and data folder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from starlette.types import ASGIApp

from api.app import create_app
from api.services import Services, StaticCatalog
from api.settings import Settings
from core.plugins import PluginInfo
from core.stores.files import FileStore
from core.stores.tasks import TaskStore
from core.stores.users import UserStore

#: The catalogue the in-process app offers (names only; nothing serves them).
MODELS = [
    PluginInfo(name="whisper", kind="audio", languages=["en"], description="test ASR"),
    PluginInfo(name="en_easyocr", kind="image", languages=["en"], description="test OCR"),
    # Languages as the real plugins list them (tests/api/test_languages.py).
    PluginInfo(name="whisper-base", kind="audio", languages=["en", "ar", "de", "ru"],
               description="test multilingual ASR"),
    PluginInfo(name="rus_tesseract", kind="image", languages=["ru"], description="test OCR"),
    PluginInfo(name="ara_tesseract", kind="image", languages=["ar"], description="test OCR"),
    PluginInfo(name="tesseract", kind="image", languages=["en", "ru", "ar"],
               description="test multi-language OCR"),
]
JWT_SECRET = "in-process-test-secret-" + "x" * 32
PASSWORD = "correct horse battery"


@dataclass
class ApiHarness:
    """An in-process client and the services behind it."""

    client: TestClient
    services: Services
    settings: Settings

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def account(self, username: str | None = None) -> dict[str, str]:
        """Register a fresh user, log in, and return its ``Authorization`` header."""
        username = username or f"user-{uuid.uuid4().hex[:10]}"
        response = self.client.put(
            "/v1/auth/register", params={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        token = self.client.post(
            "/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}


def build_services(settings: Settings) -> Services:
    """The harness's services: real Redis (connected lazily, in the event loop of the
    first request), real storage, the static :data:`MODELS` catalogue."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    return Services(
        settings=settings,
        redis=redis,
        users=UserStore(redis, settings.key_prefix, settings.min_password_length),
        files=FileStore(redis, settings.key_prefix, settings.data_dir, settings.object_store()),
        tasks=TaskStore(redis, settings.key_prefix),
        models=StaticCatalog(MODELS),
        jwt_secret=JWT_SECRET,
    )


@pytest.fixture
def make_api(
    redis_url: str, key_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., ApiHarness]]:
    """Factory: ``make_api(**settings_overrides)`` -> a running in-process harness.

    Settings overrides may include ``key_prefix`` and ``redis_url`` (two harnesses with
    the same key prefix act as two ingress replicas of one service). Keyword-only
    extras: ``peer``, the client address the app sees (``scope["client"]``; default
    Starlette's ``("testclient", 50000)``), and ``wrap``, a function applied to the
    ASGI app before it is served (e.g. a server's middleware in front of it).
    """
    clients: list[TestClient] = []

    def make(
        *,
        peer: tuple[str, int] | None = None,
        wrap: Callable[[ASGIApp], ASGIApp] | None = None,
        **overrides: object,
    ) -> ApiHarness:
        fields: dict[str, object] = {
            "redis_url": redis_url,
            "key_prefix": f"{key_prefix}{uuid.uuid4().hex[:12]}:",
            "data_dir": tmp_path / f"files-{len(clients)}",
            # Network in tests is loopback only: no media URL name goes to DNS.
            "url_dns": False,
            **overrides,
        }
        settings = Settings(**fields)
        # Connections open lazily inside the TestClient's event loop.
        services = build_services(settings)
        app: ASGIApp = create_app(services)
        client = TestClient(
            wrap(app) if wrap else app,
            raise_server_exceptions=False,
            **({"client": peer} if peer else {}),
        )
        client.__enter__()
        clients.append(client)
        return ApiHarness(client=client, services=services, settings=settings)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., ApiHarness]) -> ApiHarness:
    """The in-process app with default settings."""
    return make_api()
