"""The service under test of ``bench/serving.py``, deployed in this process's own Ray.

A throwaway Redis and a local Ray cluster (``cpus`` CPUs), the API application with the
args of ``configs/serve.yaml`` and model applications built by :func:`model_app`, all
deployed with the ``deploy_apps`` call ``serve run`` makes; plus the stage timings the
service exports as Prometheus metrics.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx

from bench.harness import free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]
API_APP = "follow_my_reading"


def model_app(plugin: str, name: str, batching: bool, max_batch: int, **extra) -> dict:
    """Args of a CPU model application (``serve_app.model_app:build_model_app``) serving
    ``plugin`` as ``name``; with ``batching``, calls wait up to 0.1 s to form batches of
    at most ``max_batch`` files. ``extra`` keys replace the defaults, except
    ``deployment``, which is merged into them (e.g. ``num_replicas``)."""
    args = {
        "plugin": plugin,
        "name": name,
        "use_gpu": False,
        "cpu_threads": cpus_per_model(),
        "batching": {"enabled": batching, "max_batch_size": max_batch, "batch_wait_timeout_s": 0.1},
        "deployment": {"ray_actor_options": {"num_cpus": 0.1}, "max_ongoing_requests": 64},
    }
    for key, value in extra.items():
        args[key] = value if key != "deployment" else {**args["deployment"], **value}
    return args


def cpus_per_model() -> int:
    """Threads a model replica computes on: every core (``ModelAppArgs.cpu_threads``)."""
    return os.cpu_count() or 1


def api_args() -> dict:
    """The API application's args of ``configs/serve.yaml`` (what users run)."""
    import yaml

    config = yaml.safe_load((ROOT / "configs" / "serve.yaml").read_text())
    (api,) = [a for a in config["applications"] if a["name"] == API_APP]
    return api["args"]


def stage_means(metrics_port: int) -> dict[str, float]:
    """Mean seconds per stage of comparison tasks, from the exported histograms."""
    import re

    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(r'ray_fmr_task_duration_seconds_(sum|count)\{(.*)\} (\S+)', line)
        if match and 'kind="audio_image_comparison"' in match.group(2):
            stage = re.search(r'stage="(\w+)"', match.group(2)).group(1)
            target = sums if match.group(1) == "sum" else counts
            target[stage] = target.get(stage, 0.0) + float(match.group(3))
    return {stage: round(sums[stage] / counts[stage], 3) for stage in sums if counts.get(stage)}


class Service:
    """Redis + Ray + the service, deployed from a config dict."""

    def __init__(self, cpus: int) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="fmr-serving-"))
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.redis_port),
             "--bind", "127.0.0.1", "--dir", str(self.work), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        self.env = {
            "FMR_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "FMR_DATA_DIR": str(self.work / "files"),
            "FMR_KEY_PREFIX": "bench:",
            "FMR_JWT_SECRET": uuid.uuid4().hex * 2,
        }
        os.environ.update(self.env)
        import ray
        from ray import serve

        self.metrics_port = free_port()
        ray.init(num_cpus=cpus, include_dashboard=False, runtime_env={"env_vars": self.env},
                 log_to_driver=False, _metrics_export_port=self.metrics_port)
        self.port = free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": self.port})
        self.url = f"http://127.0.0.1:{self.port}"

    def deploy(self, models: dict[str, dict], api: dict | None = None) -> None:
        """Replace the running applications by the API (``api`` args, default
        :func:`api_args`) and ``models`` (application name -> :func:`model_app` args);
        returns when every replica runs (600 s at most) and the API is ready."""
        from ray import serve
        from ray.serve.context import _get_global_client
        from ray.serve.schema import ServeDeploySchema

        runtime_env = {"env_vars": self.env}
        config = {
            "http_options": {"host": "127.0.0.1", "port": self.port},
            "applications": [
                {"name": API_APP, "route_prefix": "/", "import_path": "serve_app.ingress:build_app",
                 "runtime_env": runtime_env, "args": api if api is not None else api_args()},
                *({"name": name, "route_prefix": None, "runtime_env": runtime_env,
                   "import_path": "serve_app.model_app:build_model_app", "args": args}
                  for name, args in models.items()),
            ],
        }
        _get_global_client().deploy_apps(ServeDeploySchema.model_validate(config))
        names = {API_APP, *models}

        def settled() -> bool:
            apps = serve.status().applications
            if set(apps) != names or any(a.status != "RUNNING" for a in apps.values()):
                return False
            for name, args in models.items():
                wanted = args.get("deployment", {}).get("num_replicas", 1)
                if apps[name].deployments["ModelHost"].replica_states.get("RUNNING") != wanted:
                    return False
            return True

        wait_for(settled, 600, "applications running")
        wait_for(lambda: httpx.get(f"{self.url}/v1/health/readiness").status_code == 200,
                 120, "service ready")

    def close(self) -> None:
        """Shut Serve, Ray and Redis down; remove the temp dir."""
        import ray
        from ray import serve

        serve.shutdown()
        ray.shutdown()
        self.redis.terminate()
        self.redis.wait(10)
        shutil.rmtree(self.work, ignore_errors=True)

