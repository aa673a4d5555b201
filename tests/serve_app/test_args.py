"""Unit tests for serve_app.args and serve_app.model_app: typed app arguments,
GPU policy, and the bundled configs/serve.yaml."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from serve_app.args import (
    AppArgs,
    BatchingConfig,
    DeploymentOptions,
    ModelAppArgs,
    WorkerConfig,
)
from serve_app.model_app import replica_options
from tests.conftest import REPO as TESTS_REPO

ROOT = TESTS_REPO
SERVE_YAML = ROOT / "configs" / "serve.yaml"


def test_api_args_defaults():
    args = AppArgs.model_validate({})
    assert args.ingress.as_options() == {}
    assert args.worker == WorkerConfig()
    assert args.worker.concurrency == 2 and args.worker.max_attempts == 3
    assert args.catalog_ttl_s == 5.0


def test_model_args_defaults_and_names():
    args = ModelAppArgs.model_validate({"plugin": "whisper"})
    assert args.public_name == "whisper" and args.public_names == ["whisper"]
    assert args.use_gpu == "auto"
    assert args.batching == BatchingConfig() and args.batching.enabled is False
    assert args.deployment.as_options() == {}
    named = ModelAppArgs.model_validate(
        {"plugin": "whisper", "name": "whisper-small", "variants": {"whisper-ft": {"beam_size": 1}}}
    )
    assert named.public_names == ["whisper-small", "whisper-ft"]


def test_variant_options_override_the_base_options():
    args = ModelAppArgs.model_validate(
        {
            "plugin": "whisper",
            "options": {"beam_size": 5, "compute_type": "int8"},
            "variants": {"greedy": {"beam_size": 1}},
        }
    )
    assert args.variant_options("") == {"beam_size": 5, "compute_type": "int8"}
    assert args.variant_options("whisper") == {"beam_size": 5, "compute_type": "int8"}
    assert args.variant_options("greedy") == {"beam_size": 1, "compute_type": "int8"}
    with pytest.raises(KeyError):
        args.variant_options("unknown")


def test_bundled_serve_yaml_is_valid():
    config = yaml.safe_load(SERVE_YAML.read_text())
    apps = config["applications"]
    (api,) = [a for a in apps if a["import_path"] == "serve_app.ingress:build_app"]
    AppArgs.model_validate(api["args"])
    models = [
        ModelAppArgs.model_validate(a["args"])
        for a in apps
        if a["import_path"] == "serve_app.model_app:build_model_app"
    ]
    assert {m.public_name for m in models} == {
        "whisper", "whisper-base", "en_easyocr", "eng_tesseract", "rus_tesseract",
        "ara_tesseract", "tesseract",
    }
    for app in apps:
        if app is not api:
            assert app["route_prefix"] is None  # models are not exposed over HTTP
    for model in models:
        assert (ROOT / "plugins" / f"{model.plugin}_plugin.py").is_file()


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (AppArgs, {"modles": []}),
        (AppArgs, {"worker": {"leas_s": 1}}),
        (AppArgs, {"ingress": {"replicas": 1}}),
        (ModelAppArgs, {"plugin": "whisper", "optoins": {}}),
        (ModelAppArgs, {"plugin": "whisper", "deployment": {"num_replica": 2}}),
        (ModelAppArgs, {"plugin": "whisper", "batching": {"max_batch": 2}}),
    ],
    ids=["api-top", "worker", "ingress", "model", "model-deployment", "batching"],
)
def test_unknown_keys_are_errors(cls, args):
    with pytest.raises(ValidationError) as raised:
        cls.model_validate(args)
    assert "extra" in str(raised.value).lower()


def test_models_do_not_belong_in_the_api_args():
    with pytest.raises(ValidationError, match="extra"):
        AppArgs.model_validate({"models": [{"plugin": "whisper"}]})


@pytest.mark.parametrize(
    "name", ["", "Whisper", "has space", "a/b", "-dash-first", ".hidden", "x" * 65, "ü"]
)
@pytest.mark.parametrize("field", ["name", "plugin"])
def test_bad_names_are_errors(field, name):
    model = {"plugin": "whisper", field: name}
    with pytest.raises(ValidationError, match="invalid name"):
        ModelAppArgs.model_validate(model)


def test_bad_variant_names_are_errors():
    with pytest.raises(ValidationError, match="invalid variant name"):
        ModelAppArgs.model_validate({"plugin": "whisper", "variants": {"Big One": {}}})
    with pytest.raises(ValidationError, match="repeats"):
        ModelAppArgs.model_validate({"plugin": "whisper", "variants": {"whisper": {}}})


@pytest.mark.parametrize("name", ["a", "whisper", "en_easyocr", "model-1.v2", "x" * 64])
def test_good_names(name):
    assert ModelAppArgs(plugin=name).public_name == name
    assert ModelAppArgs(plugin="whisper", name=name).public_name == name


@pytest.mark.parametrize(
    "worker",
    [
        {"concurrency": 0},
        {"lease_s": 0},
        {"max_attempts": 0},
        {"task_timeout_s": -1},
        {"extraction_score_cutoff": 101},
    ],
)
def test_worker_limits(worker):
    with pytest.raises(ValidationError):
        WorkerConfig.model_validate(worker)


@pytest.mark.parametrize(
    "batching", [{"max_batch_size": 0}, {"batch_wait_timeout_s": -0.1}]
)
def test_batching_limits(batching):
    with pytest.raises(ValidationError):
        BatchingConfig.model_validate(batching)


def test_as_options_drops_unset_fields():
    options = DeploymentOptions(
        num_replicas="auto",
        ray_actor_options={"num_cpus": 0.5, "num_gpus": 0},
        max_ongoing_requests=4,
    )
    assert options.as_options() == {
        "num_replicas": "auto",
        "ray_actor_options": {"num_cpus": 0.5, "num_gpus": 0},
        "max_ongoing_requests": 4,
    }
    assert DeploymentOptions(num_replicas=2).as_options() == {"num_replicas": 2}
    assert DeploymentOptions().as_options() == {}


GPU_MODEL = {
    "plugin": "whisper",
    "deployment": {
        "ray_actor_options": {"num_cpus": 1, "num_gpus": 0.5},
        "autoscaling_config": {"min_replicas": 1, "max_replicas": 4},
    },
}


@pytest.mark.parametrize(
    ("use_gpu", "supports_gpu", "has_gpus", "num_gpus"),
    [
        ("auto", True, True, 0.5),
        ("auto", True, False, None),   # same config on a CPU-only cluster
        (True, True, False, 0.5),      # an autoscaler adds GPU nodes for it
        (False, True, True, None),
        ("auto", False, True, None),   # a CPU-only plugin never takes a GPU
    ],
)
def test_gpu_policy(use_gpu, supports_gpu, has_gpus, num_gpus):
    args = ModelAppArgs.model_validate({**GPU_MODEL, "use_gpu": use_gpu})
    options = replica_options(args, supports_gpu=supports_gpu, has_gpus=has_gpus)
    assert options["ray_actor_options"].get("num_gpus") == num_gpus
    assert options["ray_actor_options"]["num_cpus"] == 1
    assert options["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 4}


def test_forcing_a_gpu_on_a_cpu_only_plugin_is_an_error():
    args = ModelAppArgs.model_validate({**GPU_MODEL, "use_gpu": True})
    with pytest.raises(ValueError, match="cannot use a GPU"):
        replica_options(args, supports_gpu=False, has_gpus=True)


def test_benchmark_config_serves_the_whisper_variants_by_multiplexing():
    from ray.serve.schema import ServeDeploySchema

    config = yaml.safe_load((ROOT / "bench" / "serve_bench.yaml").read_text())
    ServeDeploySchema.model_validate(config)
    models = [
        ModelAppArgs.model_validate(a["args"])
        for a in config["applications"]
        if a["import_path"] == "serve_app.model_app:build_model_app"
    ]
    names = [n for m in models for n in m.public_names]
    assert len(names) == len(set(names))
    (whisper,) = [m for m in models if m.plugin == "whisper"]
    assert len(whisper.variants) == 6
    assert whisper.max_models_per_replica >= len(whisper.variants)
    # The default before the reading check, to score both in one run.
    assert whisper.variants["whisper_unchecked"] == {"check_reading": False}


def test_cpu_threads_must_be_positive():
    with pytest.raises(ValidationError):
        ModelAppArgs.model_validate({"plugin": "whisper", "cpu_threads": 0})
