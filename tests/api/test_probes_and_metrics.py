"""The app's probes and request metrics (api.routes.health, api.middleware.request_metrics),
in-process with fake services."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Readiness, Services, StaticCatalog
from api.settings import Settings

# --- the app: probes and request metrics -----------------------------------------------


class RecordingMetrics:
    def __init__(self):
        self.requests = []

    def http_request(self, route, method, status, seconds):
        self.requests.append((route, method, status))


class FakeRedis:
    def __init__(self, up: bool):
        self.up = up

    async def ping(self):
        if not self.up:
            raise ConnectionError("down")
        return True

    async def aclose(self):
        pass

    def register_script(self, script):
        # The refresh-token store registers its Lua script when Services is built.
        return None


def make_client(ready: bool, redis_up: bool = True, metrics=None) -> TestClient:
    async def readiness():
        return Readiness(ready=ready, applications={"asr": "RUNNING, 1 replica"})

    services = Services(
        settings=Settings(),
        redis=FakeRedis(redis_up),  # type: ignore[arg-type]
        users=None,  # type: ignore[arg-type]
        files=None,  # type: ignore[arg-type]
        tasks=None,  # type: ignore[arg-type]
        models=StaticCatalog([]),
        jwt_secret="x" * 32,
        readiness=readiness,
        instance="replica-1",
    )
    return TestClient(create_app(services, metrics=metrics))


def test_liveness_needs_no_auth_and_names_the_replica():
    body = make_client(ready=False).get("/v1/health/liveness").json()
    assert body["status"] == "ok" and body["replica"] == "replica-1" and body["uptime_s"] >= 0


@pytest.mark.parametrize(
    ("ready", "redis_up", "code"), [(True, True, 200), (False, True, 503), (True, False, 503)]
)
def test_readiness_probe(ready, redis_up, code):
    response = make_client(ready, redis_up).get("/v1/health/readiness")
    assert response.status_code == code
    body = response.json()
    assert body["ready"] is (code == 200)
    assert body["applications"]["redis"] == ("ok" if redis_up else "unreachable")
    assert body["applications"]["asr"] == "RUNNING, 1 replica"


def test_request_metrics_use_route_templates_not_raw_paths():
    metrics = RecordingMetrics()
    client = make_client(ready=True, metrics=metrics)
    client.get("/v1/health/liveness")
    client.get("/v1/task/status", params={"task_id": "x"})  # 401: no token
    client.get("/v1/no/such/path/12345")
    assert metrics.requests == [
        ("/v1/health/liveness", "GET", 200),
        ("/v1/task/status", "GET", 401),
        ("unmatched", "GET", 404),
    ]
