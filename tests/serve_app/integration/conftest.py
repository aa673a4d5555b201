"""The whole service on Ray Serve, deployed once per test session from a config.

Ray starts with 2 CPUs and 2 *declared* GPUs (there are none: the GPU tests only
check placement and autoscaling). Deployments take fractions of a CPU so that every
application fits. The config goes through ``deploy_apps``, the same call
``serve run config.yaml`` and ``serve deploy`` end in, so apps are versioned by
their args as in production. Readiness is polled with deadlines, never slept for.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import ray
from ray import serve
from ray.serve.context import _get_global_client
from ray.serve.schema import ServeDeploySchema

from core.plugins import BUNDLED_PLUGIN_DIR
from tests.conftest import S3_KEYS, free_port, wait_until
from tests.conftest import TEST_PLUGIN_DIR as TESTS_PLUGIN_DIR

APP_NAME = "follow_my_reading"
#: The same API with its files in SeaweedFS (S3), at ``/s3`` (see ``serve_cluster``).
S3_APP, S3_ROUTE = "follow_my_reading_s3", "/s3"
#: File backends the tests of files run against (``backend_http``).
BACKENDS = ("local", "s3")
TEST_PLUGIN_DIR = str(TESTS_PLUGIN_DIR)
PLUGIN_DIRS = [str(BUNDLED_PLUGIN_DIR), TEST_PLUGIN_DIR]
#: Stub names of media URLs, one per refused address class, for the SSRF tests: the
#: service resolves them to these addresses and must refuse them before connecting.
URL_STUB_ADDRESSES = {
    "private10.test": "10.0.0.1",
    "private192.test": "192.168.1.1",
    "metadata.test": "169.254.169.254",
    "linklocal6.test": "fe80::1",
    "ula.test": "fd00:ec2::254",
    "loopback6.test": "::1",
    "mapped.test": "::ffff:10.0.0.1",
    "cgnat.test": "100.64.0.1",
    "unspecified.test": "0.0.0.0",
    # Allow-listed (FMR_URL_ALLOWLIST): the test's own HTTP server.
    "media.test": "127.0.0.1",
}
URL_HOSTS = ",".join(f"{name}={address}" for name, address in URL_STUB_ADDRESSES.items())
#: GPUs Ray is told the machine has (none really exist).
DECLARED_GPUS = 2

API_ARGS = {
    "ingress": {"ray_actor_options": {"num_cpus": 0.2}},
    "pipeline": {"ray_actor_options": {"num_cpus": 0.2}},
    "matcher": {"ray_actor_options": {"num_cpus": 0.1}},
    # Short lease so tests of retries do not wait long.
    "worker": {"concurrency": 8, "lease_s": 10, "max_attempts": 3, "task_timeout_s": 300},
    "catalog_ttl_s": 1,
}

#: The bundled models, with small CPU shares so the service fits in 2 cores. They
#: never take the declared GPUs (use_gpu: false); the GPU tests deploy their own app.
MODELS: dict[str, dict[str, Any]] = {
    "asr-whisper": {
        "plugin": "whisper",
        "options": {"compute_type": "int8"},
        "use_gpu": False,
        "deployment": {"ray_actor_options": {"num_cpus": 0.3}},
    },
    "ocr-en_easyocr": {
        "plugin": "en_easyocr",
        "use_gpu": False,
        "deployment": {"ray_actor_options": {"num_cpus": 0.3}},
    },
    "ocr-eng_tesseract": {
        "plugin": "eng_tesseract",
        "deployment": {"ray_actor_options": {"num_cpus": 0.1}},
    },
    # Original-format plugin that always raises (tests/plugins/).
    "asr-broken": {
        "plugin": "broken_asr",
        "plugin_dirs": PLUGIN_DIRS,
        "deployment": {"ray_actor_options": {"num_cpus": 0.05}},
    },
}


@dataclass
class ServeCluster:
    """The running Serve instance: its URL and how to redeploy its config."""

    url: str
    port: int
    env: dict[str, str]
    metrics_port: int
    s3_env: dict[str, str]
    s3_dirs: dict[str, str]

    def config(self, models: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """A multi-application Serve config: the API app plus one app per model."""
        runtime_env = {"env_vars": self.env}
        models = MODELS if models is None else models
        return {
            "http_options": {"host": "127.0.0.1", "port": self.port},
            "applications": [
                {
                    "name": APP_NAME,
                    "route_prefix": "/",
                    "import_path": "serve_app.ingress:build_app",
                    "runtime_env": runtime_env,
                    "args": API_ARGS,
                },
                {
                    "name": S3_APP,
                    "route_prefix": S3_ROUTE,
                    "import_path": "serve_app.ingress:build_app",
                    "runtime_env": {"env_vars": self.s3_env},
                    "args": self._s3_api_args(),
                },
                *(
                    {
                        "name": name,
                        "route_prefix": None,
                        "import_path": "serve_app.model_app:build_model_app",
                        "runtime_env": runtime_env,
                        "args": args,
                    }
                    for name, args in models.items()
                ),
            ],
        }

    def _s3_api_args(self) -> dict[str, Any]:
        """``API_ARGS`` with the ingress and the pipeline each on its own data folder, as
        on two nodes: every file a task reads, or a download serves, that the other
        deployment wrote has to come through S3."""
        args = copy.deepcopy(API_ARGS)
        for deployment, folder in self.s3_dirs.items():
            actor = args[deployment]["ray_actor_options"]
            actor["runtime_env"] = {"env_vars": {**self.s3_env, "FMR_DATA_DIR": folder}}
        return args

    def deploy(self, models: dict[str, dict[str, Any]] | None = None) -> None:
        """Deploy (or redeploy) the config, like ``serve deploy``; does not wait."""
        schema = ServeDeploySchema.model_validate(self.config(models))
        _get_global_client().deploy_apps(schema)

    def wait_running(self, names: set[str] | None = None, timeout_s: float = 240) -> None:
        """Poll until the named applications (default: all) are RUNNING."""

        def running() -> bool:
            apps = serve.status().applications
            wanted = names if names is not None else set(apps)
            return bool(wanted) and all(
                name in apps and apps[name].status == "RUNNING" for name in wanted
            )

        wait_until(running, timeout_s, interval_s=0.5, what=f"applications {names} RUNNING")


@pytest.fixture(scope="session")
def serve_cluster(
    redis_url: str, key_prefix: str, tmp_path_factory: pytest.TempPathFactory, seaweed
) -> Iterator[ServeCluster]:
    """Ray (2 CPUs, 2 declared GPUs) with the service deployed from its config: the API
    with files in a folder at ``/``, and with files in SeaweedFS at ``/s3``."""
    data_dir = tmp_path_factory.mktemp("files")
    # Session accounts log in once: their tokens must outlive the whole session
    # (token expiry itself is tested in tests/api/test_auth.py).
    tokens = {
        "FMR_ACCESS_TOKEN_EXPIRE_MINUTES": "240",
        # Network in tests is loopback only: media URL names resolve from url_hosts
        # alone (tests/serve_app/integration/test_peer_features.py), never from DNS.
        "FMR_URL_DNS": "false",
        "FMR_URL_HOSTS": URL_HOSTS,
        "FMR_URL_ALLOWLIST": "127.0.0.1/32",
    }
    env = {
        "FMR_REDIS_URL": redis_url, "FMR_KEY_PREFIX": key_prefix, "FMR_DATA_DIR": str(data_dir),
        **tokens,
    }
    s3_env = {
        **tokens,
        "FMR_REDIS_URL": redis_url,
        "FMR_KEY_PREFIX": f"{key_prefix}s3:",
        "FMR_DATA_DIR": str(tmp_path_factory.mktemp("s3-matcher-files")),
        "FMR_STORAGE_URL": f"s3://{seaweed.bucket}/serve-{key_prefix.rstrip(':')}",
        "FMR_S3_ENDPOINT_URL": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3_dirs = {d: str(tmp_path_factory.mktemp(f"s3-{d}-files")) for d in ("ingress", "pipeline")}
    port, metrics_port = free_port(), free_port()
    with pytest.MonkeyPatch.context() as patch:
        # Serve's proxy (uvicorn) would otherwise take the client address from a
        # loopback client's X-Forwarded-For; Ray's processes copy this env at start.
        patch.setenv("FORWARDED_ALLOW_IPS", "")
        ray.init(
            num_cpus=2, num_gpus=DECLARED_GPUS, include_dashboard=False,
            runtime_env={"env_vars": env}, _metrics_export_port=metrics_port,
        )
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        cluster = ServeCluster(
            url=f"http://127.0.0.1:{port}", port=port, env=env, metrics_port=metrics_port,
            s3_env=s3_env, s3_dirs=s3_dirs,
        )
        cluster.deploy()
        cluster.wait_running(session_apps())
        for route in ("", S3_ROUTE):
            wait_until(
                lambda route=route: httpx.get(
                    f"{cluster.url}{route}/v1/health/readiness"
                ).status_code == 200,
                60,
                what=f"the service at {route or '/'} ready",
            )
        yield cluster
    finally:
        serve.shutdown()
        ray.shutdown()


@pytest.fixture(scope="session")
def serve_url(serve_cluster: ServeCluster) -> str:
    """Base URL of the running service."""
    return serve_cluster.url


def session_apps() -> set[str]:
    """The names of the applications the session's config deploys."""
    return {APP_NAME, S3_APP, *MODELS}


def models_copy() -> dict[str, dict[str, Any]]:
    """A deep copy of the session's model applications, to edit and redeploy."""
    return copy.deepcopy(MODELS)


@pytest.fixture(scope="session")
def http(serve_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=serve_url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module", params=BACKENDS)
def backend_http(request: pytest.FixtureRequest, serve_url: str) -> Iterator[httpx.Client]:
    """A client of the API with files in a folder (``local``) or in SeaweedFS (``s3``).

    A module whose tests touch files runs them on both by overriding ``http``,
    ``account`` and ``uploaded`` with module-scoped fixtures built on this one
    (``tests/serve_app/integration/both_backends/``).
    """
    route = S3_ROUTE if request.param == "s3" else ""
    with httpx.Client(base_url=f"{serve_url}{route}", timeout=60) as client:
        yield client


@dataclass
class Account:
    username: str
    password: str
    headers: dict[str, str]


def make_account(http: httpx.Client) -> Account:
    """Register a fresh user and log in."""
    username, password = f"user-{uuid.uuid4().hex[:10]}", "correct horse battery"
    response = http.put("/v1/auth/register", params={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = http.post("/v1/auth/token", data={"username": username, "password": password})
    assert token.status_code == 200, token.text
    return Account(username, password, {"Authorization": f"Bearer {token.json()['access_token']}"})


@pytest.fixture(scope="session")
def account(http: httpx.Client) -> Account:
    return make_account(http)


def upload(
    http: httpx.Client,
    account: Account,
    kind: str,
    path: Path,
    name: str | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    files = {
        "upload_file": (name or path.name, content if content is not None else path.read_bytes())
    }
    return http.post(f"/v1/{kind}/upload", files=files, headers=account.headers)


def wait_for_task(
    http: httpx.Client, account: Account, task_id: str, timeout_s: float = 180
) -> dict:
    """Poll the task status until it is finished; returns the last status body."""

    def finished():
        body = http.get(
            "/v1/task/status", params={"task_id": task_id}, headers=account.headers
        ).json()
        return body if body.get("ready") else None

    return wait_until(finished, timeout_s, interval_s=0.25, what=f"task {task_id} finished")


@pytest.fixture(scope="session")
def uploaded(http: httpx.Client, account: Account, sample_audio: Path, sample_image: Path) -> dict:
    """The sample recording and photo uploaded once for the session's account."""
    return upload_samples(http, account, sample_audio, sample_image)


def upload_samples(http: httpx.Client, account: Account, sample_audio: Path, sample_image: Path
                   ) -> dict[str, str]:
    """Upload the sample recording and photo; their file ids by kind."""
    audio = upload(http, account, "audio", sample_audio)
    image = upload(http, account, "image", sample_image)
    assert audio.status_code == 200, audio.text
    assert image.status_code == 200, image.text
    return {"audio": audio.json()["file_id"], "image": image.json()["file_id"]}
