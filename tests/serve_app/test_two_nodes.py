"""Two Ray nodes on one machine, no shared disk: files reach the other node through S3.

A head (``ray start --head``, resource ``api_node``) runs the ingress; a worker
(``ray start --address=…``, resource ``model_node``) runs the pipeline, the matcher
and the model applications. Each node gets its own empty ``FMR_DATA_DIR`` (set in the
environment of its ``ray start``, which Ray's worker processes inherit), so a path
written on one node does not exist on the other, as on two machines.

Two API applications share the nodes and the model applications:

* at ``/``, files in SeaweedFS (``FMR_STORAGE_URL``): an audio↔image comparison
  uploaded to the head is computed on the worker and its cut segments download
  from the head;
* at ``/local``, files in ``FMR_DATA_DIR`` alone, as every version before issue 14
  kept them: the same task fails on the worker with "No such image file available",
  which is what a cluster without a shared volume did.

The cluster is started and deployed the way an operator would (``ray start --block``,
``serve run config --non-blocking``) in its own temp dir and ports, next to the
session's single-node Ray, and stopped by process group (``ray stop`` would stop every
Ray on the machine).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import S3_KEYS, free_ports, wait_until

pytestmark = pytest.mark.serve

RAY = str(Path(sys.executable).parent / "ray")
SERVE = str(Path(sys.executable).parent / "serve")
ON_HEAD = {"api_node": 0.01}
ON_WORKER = {"model_node": 0.01}


@dataclass
class TwoNodes:
    url: str
    head_data: Path
    worker_data: Path
    worker_pid: int


def _ray_env(token: str, **extra: str) -> dict[str, str]:
    """The environment of a Ray command: token authentication with the cluster's token
    (Ray 2.60 turns it on for a new head), and no ``RAY_ADDRESS`` to wander off with."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, **extra}


def _start_node(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        # Own process group: the node's processes are stopped together, and only them.
        return subprocess.Popen(
            [RAY, "start", "--block", *argv],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _stop_node(process: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM to the node's process group, SIGKILL after ``grace_s``: a node drains
    for up to 30 s on SIGTERM, and its GCS was seen outliving its raylet."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _api_app(name: str, route: str, env: dict[str, str]) -> dict:
    def placed(resources: dict[str, float], cpus: float) -> dict:
        return {"ray_actor_options": {"num_cpus": cpus, "resources": resources}}

    return {
        "name": name,
        "route_prefix": route,
        "import_path": "serve_app.ingress:build_app",
        "runtime_env": {"env_vars": env},
        "args": {
            "ingress": placed(ON_HEAD, 0.1),
            "pipeline": placed(ON_WORKER, 0.1),
            "matcher": placed(ON_WORKER, 0.05),
            "worker": {"lease_s": 10, "max_attempts": 2},
        },
    }


def _model_app(name: str, plugin: str, env: dict[str, str], cpus: float, **args) -> dict:
    return {
        "name": name,
        "route_prefix": None,
        "import_path": "serve_app.model_app:build_model_app",
        "runtime_env": {"env_vars": env},
        "args": {
            "plugin": plugin,
            "use_gpu": False,
            "deployment": {"ray_actor_options": {"num_cpus": cpus, "resources": ON_WORKER}},
            **args,
        },
    }


@pytest.fixture(scope="module")
def two_nodes(redis_url: str, key_prefix: str, seaweed) -> Iterator[TwoNodes]:
    # A short temp dir: Ray's socket paths must stay under 108 bytes.
    temp = Path(tempfile.mkdtemp(prefix="fmr2n-", dir="/tmp"))
    head_data, worker_data = temp / "head-files", temp / "worker-files"
    head_data.mkdir()
    worker_data.mkdir()
    gcs, client, http_port, *agent_ports = free_ports(7)
    token = secrets.token_hex(32)
    address = f"127.0.0.1:{gcs}"
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    head = _start_node(
        [
            "--head", "--include-dashboard=false", f"--port={gcs}",
            f"--ray-client-server-port={client}",
            f"--temp-dir={temp / 'ray'}", "--num-cpus=1", "--num-gpus=0",
            f"--dashboard-agent-listen-port={agent_ports[0]}",
            f"--dashboard-agent-grpc-port={agent_ports[1]}",
            f"--metrics-export-port={agent_ports[2]}",
            '--resources={"api_node": 1}', *common,
        ],
        _ray_env(token, FMR_DATA_DIR=str(head_data)), temp / "head.log",
    )
    worker = None
    try:
        wait_until(lambda: _gcs_up(address, token), 60,
                   interval_s=0.5, what="the head node's GCS")
        worker = _start_node(
            [
                f"--address={address}", f"--temp-dir={temp / 'ray-worker'}",
                "--num-cpus=2", "--num-gpus=0",
                f"--dashboard-agent-listen-port={agent_ports[3]}",
                '--resources={"model_node": 1}', *common,
            ],
            _ray_env(token, FMR_DATA_DIR=str(worker_data)), temp / "worker.log",
        )
        shared = {
            "FMR_REDIS_URL": redis_url,
            "AWS_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        s3 = {
            **shared,
            "FMR_KEY_PREFIX": f"{key_prefix}2n-s3:",
            "FMR_STORAGE_URL": f"s3://{seaweed.bucket}/two-nodes-{uuid.uuid4().hex[:6]}",
            "FMR_S3_ENDPOINT_URL": seaweed.endpoint,
        }
        local = {**shared, "FMR_KEY_PREFIX": f"{key_prefix}2n-local:"}
        config = {
            "proxy_location": "HeadOnly",  # one proxy: both nodes share this host's ports
            "http_options": {"host": "127.0.0.1", "port": http_port},
            "applications": [
                _api_app("api_s3", "/", s3),
                _api_app("api_local", "/local", local),
                _model_app("asr-whisper", "whisper", shared, 0.5,
                           options={"compute_type": "int8"}, cpu_threads=1),
                _model_app("ocr-eng_tesseract", "eng_tesseract", shared, 0.1),
            ],
        }
        config_path = temp / "serve.json"
        config_path.write_text(json.dumps(config))
        deployed = subprocess.run(
            [SERVE, "run", "--non-blocking", f"--address={address}", str(config_path)],
            capture_output=True, text=True, timeout=300,
            env=_ray_env(token),
        )
        assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
        url = f"http://127.0.0.1:{http_port}"

        def ready(route: str) -> bool:
            for node in (head, worker):
                if node.poll() is not None:
                    raise RuntimeError(f"a Ray node exited; see {temp}/*.log")
            try:
                return httpx.get(f"{url}{route}/v1/health/readiness").status_code == 200
            except httpx.HTTPError:  # the proxy not up yet, or slow to answer
                return False

        for route in ("", "/local"):
            _wait(lambda route=route: ready(route), 420, f"the API at {route or '/'} ready")
        yield TwoNodes(url, head_data, worker_data, worker.pid)
    finally:
        if worker is not None:
            _stop_node(worker)
        _stop_node(head)
        shutil.rmtree(temp, ignore_errors=True)


def _wait(predicate, timeout_s: float, what: str) -> None:
    """``wait_until``, except that an error of ``predicate`` (a node exited) ends the
    wait at once."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout_s} s")
        time.sleep(1)


def _gcs_up(address: str, token: str) -> bool:
    probe = subprocess.run(
        [RAY, "health-check", f"--address={address}"], capture_output=True, timeout=30,
        env=_ray_env(token),
    )
    return probe.returncode == 0


def _account(http: httpx.Client) -> dict[str, str]:
    username, password = f"u-{uuid.uuid4().hex[:10]}", "correct horse battery"
    assert http.put(
        "/v1/auth/register", params={"username": username, "password": password}
    ).status_code == 200
    token = http.post("/v1/auth/token", data={"username": username, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _compare(http: httpx.Client, headers: dict[str, str], audio: Path, image: Path) -> dict:
    ids = {}
    for kind, path in (("audio", audio), ("image", image)):
        uploaded = http.post(
            f"/v1/{kind}/upload", files={"upload_file": (path.name, path.read_bytes())},
            headers=headers,
        )
        assert uploaded.status_code == 200, uploaded.text
        ids[kind] = uploaded.json()["file_id"]
    created = http.post(
        "/v1/comparison/audio/image/task",
        json={"audio_file": ids["audio"], "image_file": ids["image"],
              "audio_model": "whisper", "image_model": "eng_tesseract"},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]

    def finished():
        body = http.get(
            "/v1/task/status", params={"task_id": task_id}, headers=headers
        ).json()
        return body if body.get("ready") else None

    status = wait_until(finished, 300, interval_s=0.5, what=f"task {task_id} finished")
    return {"task_id": task_id, "status": status, **ids}


def _on_node(root_pid: int, title: str) -> bool:
    """Whether a process titled ``ray::…title…`` descends from ``root_pid``."""
    for process in psutil.process_iter(["cmdline"]):
        if title in " ".join(process.info["cmdline"] or []):
            if root_pid in {p.pid for p in process.parents()}:
                return True
    return False


def test_a_comparison_runs_on_a_node_without_the_uploads_through_s3(
    two_nodes: TwoNodes, sample_audio: Path, sample_image: Path
):
    with httpx.Client(base_url=two_nodes.url, timeout=60) as http:
        headers = _account(http)
        task = _compare(http, headers, sample_audio, sample_image)
        assert task["status"]["status"] == "completed", task["status"]
        result = http.get(
            "/v1/comparison/audio/image/result", params={"task_id": task["task_id"]},
            headers=headers,
        ).json()
        assert result["errors"] == [] and result["summary"]["words_correct"] == 6
        segment_file = result["audio"]["segments"][0]["file"]
        # Cut on the worker, downloaded from the head.
        download = http.get("/v1/audio/download", params={"file": segment_file},
                            headers=headers)
        assert download.status_code == 200 and len(download.content) > 1000
        annotated = http.get(
            "/v1/comparison/audio/image/annotated", params={"task_id": task["task_id"]},
            headers=headers,
        )
        assert annotated.status_code == 200 and annotated.content[:4] == b"\x89PNG"
    # The pipeline and Whisper ran on the worker, the ingress on the head.
    assert _on_node(two_nodes.worker_pid, "ServeReplica:api_s3:Pipeline")
    assert _on_node(two_nodes.worker_pid, "ServeReplica:asr-whisper:ModelHost")
    assert not _on_node(two_nodes.worker_pid, "ServeReplica:api_s3:Ingress")
    # Each node holds working copies only of what it used: the worker fetched the
    # uploads, the head fetched the segment it served.
    assert (two_nodes.worker_data / "audio" / f"{task['audio']}.mp3").is_file()
    assert (two_nodes.worker_data / "image" / f"{task['image']}.png").is_file()
    assert (two_nodes.head_data / "audio" / f"{segment_file}.mp3").is_file()


def test_without_an_object_store_the_worker_cannot_see_the_uploads(
    two_nodes: TwoNodes, sample_audio: Path, sample_image: Path
):
    """What every version before issue 14 did on a cluster without a shared volume."""
    with httpx.Client(base_url=f"{two_nodes.url}/local", timeout=60) as http:
        headers = _account(http)
        task = _compare(http, headers, sample_audio, sample_image)
    assert task["status"]["status"] == "failed", task["status"]
    assert task["status"]["error"] == "No such image file available", task["status"]
    assert (two_nodes.head_data / "image" / f"{task['image']}.png").is_file()
    assert not (two_nodes.worker_data / "image" / f"{task['image']}.png").exists()
