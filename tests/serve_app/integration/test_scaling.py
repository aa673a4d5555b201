"""Serving at scale on the session's Ray Serve instance (2 CPUs, 2 declared GPUs).

Every test changes the running service the way an operator does: it edits the model
applications of the config and redeploys it (``ServeCluster.deploy``, the
``serve deploy`` call). A cheap test plugin (``tests/plugins/sleepy_asr_plugin.py``)
stands in for real models so that bursts are short. Replica counts are read from
``serve.status()`` and polled with deadlines.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from ray import serve

from tests.conftest import wait_until
from tests.serve_app.integration.conftest import (
    DECLARED_GPUS,
    PLUGIN_DIRS,
    make_account,
    models_copy,
    session_apps,
    upload,
    wait_for_task,
)

pytestmark = pytest.mark.serve


def sleepy(**overrides) -> dict:
    """Args of a model application serving the sleepy test plugin."""
    args = {
        "plugin": "sleepy_asr",
        "plugin_dirs": PLUGIN_DIRS,
        "use_gpu": False,
        "deployment": {"ray_actor_options": {"num_cpus": 0.05}, "max_ongoing_requests": 32},
    }
    return {**args, **overrides}


def replicas(app: str, deployment: str = "ModelHost") -> int:
    """RUNNING replicas of a deployment, as Serve reports them (0 if absent)."""
    apps = serve.status().applications
    if app not in apps or deployment not in apps[app].deployments:
        return 0
    return apps[app].deployments[deployment].replica_states.get("RUNNING", 0)


def listed_models(http: httpx.Client, account, kind: str = "audio") -> set[str]:
    response = http.get(f"/v1/{kind}/models", headers=account.headers)
    assert response.status_code == 200, response.text
    return {m["name"] for m in response.json()["models"]}


def ingress_identity(http: httpx.Client) -> tuple[str, float]:
    body = http.get("/v1/health/liveness").json()
    return body["replica"], body["uptime_s"]


@pytest.fixture
def restore_config(serve_cluster):
    """Redeploy the session's own config after a test that changed it."""
    yield
    serve_cluster.deploy()
    wait_until(lambda: set(serve.status().applications) == session_apps(), 120,
               interval_s=0.5, what="the session config restored")


def test_gpu_replicas_get_their_own_device_and_autoscale_with_a_burst(
    serve_cluster, http, sample_audio, restore_config
):
    models = models_copy()
    models["asr-gpu"] = sleepy(
        name="gpu_sleepy",
        use_gpu=True,
        options={"delay_s": 0.5},
        deployment={
            "ray_actor_options": {"num_cpus": 0.05, "num_gpus": 1},
            "max_ongoing_requests": 8,
            "autoscaling_config": {
                "min_replicas": 1,
                "max_replicas": DECLARED_GPUS,
                "target_ongoing_requests": 1,
                "upscale_delay_s": 0.5,
                "downscale_delay_s": 2,
                "look_back_period_s": 2,
            },
        },
    )
    serve_cluster.deploy(models)
    serve_cluster.wait_running({"asr-gpu"})
    assert replicas("asr-gpu") == 1
    account = make_account(http)
    audio = upload(http, account, "audio", sample_audio).json()["file_id"]

    # A burst of tasks: the pipeline's calls pile up on the one replica.
    burst = []
    for _ in range(48):
        response = http.post("/v1/audio/process/task", headers=account.headers,
                             json={"audio_file": audio, "audio_model": "gpu_sleepy"})
        assert response.status_code == 200, response.text
        burst.append(response.json()["task_id"])
    wait_until(lambda: replicas("asr-gpu") == DECLARED_GPUS, 90, interval_s=0.2,
               what="scale-out to one replica per declared GPU")
    handle = serve.get_deployment_handle("ModelHost", "asr-gpu")
    devices: dict[str, dict] = {}

    def both_answered() -> bool:
        device = handle.device.remote().result()
        devices[device["replica"]] = device
        return len(devices) == DECLARED_GPUS

    wait_until(both_answered, 60, interval_s=0.05, what="both replicas answering")
    assert all(len(d["gpu_ids"]) == 1 for d in devices.values()), devices
    assert {d["cuda_visible_devices"] for d in devices.values()} == {"0", "1"}

    results = [wait_for_task(http, account, t, timeout_s=120) for t in burst]
    assert {r["status"] for r in results} == {"completed"}
    seen = {
        http.get("/v1/audio/process/result", headers=account.headers,
                 params={"task_id": t}).json()["text"].split()[2]
        for t in burst
    }
    assert seen == {"0", "1"}  # what the plugin itself saw on each replica

    # The burst is over: back to min_replicas.
    wait_until(lambda: replicas("asr-gpu") == 1, 120, interval_s=0.5, what="scale-in to 1")


def test_model_added_then_removed_by_redeploying_the_config(
    serve_cluster, http, sample_audio, restore_config
):
    account = make_account(http)
    before = ingress_identity(http)
    audio = upload(http, account, "audio", sample_audio).json()["file_id"]

    models = models_copy()
    models["asr-added"] = sleepy(name="added_sleepy", options={"label": "added", "delay_s": 0})
    serve_cluster.deploy(models)
    wait_until(lambda: "added_sleepy" in listed_models(http, account), 120, interval_s=0.5,
               what="the new model listed")
    task = http.post("/v1/audio/process/task", headers=account.headers,
                     json={"audio_file": audio, "audio_model": "added_sleepy"})
    assert task.status_code == 200, task.text
    status = wait_for_task(http, account, task.json()["task_id"], timeout_s=60)
    assert status["status"] == "completed", status
    result = http.get("/v1/audio/process/result", headers=account.headers,
                      params={"task_id": task.json()["task_id"]}).json()
    assert result["text"].startswith("added 1")

    serve_cluster.deploy()  # the config without it
    wait_until(lambda: "added_sleepy" not in listed_models(http, account), 120,
               interval_s=0.5, what="the removed model unlisted")
    gone = http.post("/v1/audio/process/task", headers=account.headers,
                     json={"audio_file": audio, "audio_model": "added_sleepy"})
    assert gone.status_code == 404
    assert gone.json()["detail"] == "No such audio model available"

    # The same ingress replica answered throughout: it was never restarted.
    replica, uptime = ingress_identity(http)
    assert replica == before[0] and uptime > before[1]
    assert "whisper" in listed_models(http, account)


def test_replacing_a_model_under_load_loses_nothing(
    serve_cluster, http, sample_audio, restore_config
):
    """A load generator sends tasks while the model's weights (options) are replaced."""
    account = make_account(http)
    audio = upload(http, account, "audio", sample_audio).json()["file_id"]
    models = models_copy()
    models["asr-swap"] = sleepy(name="swap_sleepy", options={"label": "old", "delay_s": 0.1})
    serve_cluster.deploy(models)
    wait_until(lambda: "swap_sleepy" in listed_models(http, account), 120, interval_s=0.5,
               what="the model listed")

    submitted: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=serve_cluster.url, timeout=60) as client:
            while not stop.is_set():
                response = client.post(
                    "/v1/audio/process/task", headers=account.headers,
                    json={"audio_file": audio, "audio_model": "swap_sleepy"},
                )
                if response.status_code == 200:
                    submitted.append(response.json()["task_id"])
                else:
                    refused.append(f"{response.status_code} {response.text}")
                time.sleep(0.05)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(load)
        wait_until(lambda: len(submitted) >= 20, 60, what="load before the swap")
        models["asr-swap"] = sleepy(name="swap_sleepy", options={"label": "new", "delay_s": 0.1})
        serve_cluster.deploy(models)  # new options: Serve replaces the replica
        swapped_at = len(submitted)
        wait_until(lambda: len(submitted) >= swapped_at + 40 and _answers_new(),
                   180, interval_s=0.5, what="load after the swap answered by new weights")
        stop.set()

    statuses, lost = [], []
    for task_id in submitted:
        try:
            statuses.append(wait_for_task(http, account, task_id, timeout_s=120))
        except TimeoutError:
            lost.append(task_id)  # never reached a terminal status
    completed = [s for s in statuses if s["status"] == "completed"]
    failed = [s for s in statuses if s["status"] == "failed"]
    print(f"hot swap: {len(submitted)} tasks submitted, {len(completed)} completed, "
          f"{len(failed)} failed, {len(lost)} lost, {len(refused)} requests refused")
    assert refused == []
    assert [s.get("error") for s in failed] == [] and lost == []
    assert len(completed) == len(submitted)
    labels = {
        http.get("/v1/audio/process/result", headers=account.headers,
                 params={"task_id": t}).json()["text"].split()[0]
        for t in submitted
    }
    assert labels == {"old", "new"}


def _answers_new() -> bool:
    # The swap is done once a fresh request is answered by the new weights.
    handle = serve.get_deployment_handle("ModelHost", "asr-swap")
    return handle.process.remote(b"x", ".wav").result().text.startswith("new")


def test_multiplexed_variants_load_on_demand_with_an_lru_bound(serve_cluster, restore_config):
    models = models_copy()
    models["asr-multi"] = sleepy(
        name="multi_a",
        options={"label": "A", "delay_s": 0},
        variants={"multi_b": {"label": "B"}, "multi_c": {"label": "C"}},
        max_models_per_replica=1,
    )
    serve_cluster.deploy(models)
    serve_cluster.wait_running({"asr-multi"})
    handle = serve.get_deployment_handle("ModelHost", "asr-multi")
    names = [info.name for info in handle.info.remote().result()]
    assert names == ["multi_a", "multi_b", "multi_c"]

    def ask(model_id: str) -> str:
        routed = handle.options(multiplexed_model_id=model_id) if model_id else handle
        return routed.process.remote(b"x", ".wav").result().text.split()[0]

    assert [ask(m) for m in ["", "multi_b", "multi_c", "multi_b"]] == ["A", "B", "C", "B"]
    # One variant at a time besides the base model: B was unloaded for C, then reloaded.
    assert handle.stats.remote().result()["loads"] == ["multi_a", "multi_b", "multi_c", "multi_b"]


def test_concurrent_requests_are_batched_and_a_bad_file_fails_alone(
    serve_cluster, restore_config
):
    models = models_copy()
    models["asr-batch"] = sleepy(
        name="batch_sleepy",
        options={"label": "B", "delay_s": 0.3, "fail_on": "bad"},
        batching={"enabled": True, "max_batch_size": 4, "batch_wait_timeout_s": 0.5},
    )
    serve_cluster.deploy(models)
    serve_cluster.wait_running({"asr-batch"})
    handle = serve.get_deployment_handle("ModelHost", "asr-batch")
    responses = [handle.process.remote(b"x", ".bad.wav" if i == 2 else ".wav") for i in range(8)]
    outcomes = []
    for response in responses:
        try:
            outcomes.append(response.result().text)
        except Exception as error:  # noqa: BLE001 - the bad file's request
            outcomes.append(error)
    assert isinstance(outcomes[2], Exception) and "cannot read" in str(outcomes[2])
    good = [o for i, o in enumerate(outcomes) if i != 2]
    assert all(isinstance(o, str) and o.startswith("B ") for o in good)
    sizes = handle.stats.remote().result()["batch_sizes"]
    assert max(sizes) > 1 and sum(sizes) == 8, sizes
    assert any(int(o.split()[1]) > 1 for o in good)  # the plugin's batch method ran


def test_readiness_waits_for_every_model_application(serve_cluster, http, restore_config):
    assert http.get("/v1/health/readiness").status_code == 200
    models = models_copy()
    # A model whose replica takes a while to load: readiness is false until it is up.
    models["asr-slow"] = sleepy(name="slow_sleepy", options={"label": uuid.uuid4().hex[:6]})
    models["asr-slow"]["plugin"] = "slow_start_asr"
    serve_cluster.deploy(models)
    wait_until(lambda: http.get("/v1/health/readiness").status_code == 503, 60,
               interval_s=0.1, what="readiness false while the new model loads")
    body = http.get("/v1/health/readiness").json()
    assert body["ready"] is False and "asr-slow" in body["applications"]
    serve_cluster.wait_running({"asr-slow"})
    wait_until(lambda: http.get("/v1/health/readiness").status_code == 200, 60,
               what="ready once it is up")
    assert http.get("/v1/health/liveness").status_code == 200


def test_metrics_are_exported_for_prometheus(serve_cluster, http, account, uploaded):
    """Ray's metrics agent serves the service's metrics on the node's export port."""
    task = http.post("/v1/comparison/audio/text/task", headers=account.headers,
                     json={"audio_file": uploaded["audio"], "audio_model": "whisper",
                           "text": ["every path is the right path"]})
    assert task.status_code == 200, task.text
    assert wait_for_task(http, account, task.json()["task_id"])["status"] == "completed"
    wanted = [
        'ray_fmr_http_requests_total{',
        'route="/v1/comparison/audio/text/task"',
        'ray_fmr_http_request_duration_seconds_bucket{',
        'ray_fmr_task_duration_seconds_bucket{',
        'stage="asr"',
        'stage="matching"',
        'ray_fmr_tasks_finished_total{',
        'ray_fmr_tasks_in_flight{',
        'ray_fmr_task_queue_depth{',
        'ray_fmr_model_batch_size_bucket{',
        'ray_fmr_model_inference_seconds_bucket{',
    ]
    url = f"http://127.0.0.1:{serve_cluster.metrics_port}/metrics"

    def missing() -> list[str]:
        text = httpx.get(url, timeout=10).text
        return [w for w in wanted if w not in text]

    # Metrics reach the agent every few seconds.
    wait_until(lambda: not missing(), 60, interval_s=1, what="the service's metrics exported")
