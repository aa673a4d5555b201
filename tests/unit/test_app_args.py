"""Unit tests for serve_app.config: the typed application arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serve_app.config import AppArgs, DeploymentOptions, ModelConfig, WorkerConfig

SERVE_YAML = Path(__file__).resolve().parents[2] / "configs" / "serve.yaml"


def test_minimal_args():
    args = AppArgs.model_validate({"models": [{"plugin": "whisper"}]})
    (model,) = args.models
    assert model.public_name == "whisper"
    assert model.name is None
    assert model.options == {}
    assert model.deployment.as_options() == {}
    assert args.plugin_dirs == []
    assert args.ingress.as_options() == {}
    assert args.worker == WorkerConfig()
    assert args.worker.concurrency == 2 and args.worker.max_attempts == 3


def test_named_models_and_options():
    args = AppArgs.model_validate(
        {
            "models": [
                {"plugin": "whisper", "name": "whisper-small", "options": {"beam_size": 5}},
                {"plugin": "whisper"},
            ],
            "worker": {"lease_s": 5, "extraction_score_cutoff": 90},
        }
    )
    assert [m.public_name for m in args.models] == ["whisper-small", "whisper"]
    assert args.models[0].options == {"beam_size": 5}
    assert args.worker.lease_s == 5.0


def test_bundled_serve_yaml_is_valid():
    config = yaml.safe_load(SERVE_YAML.read_text())
    (application,) = [app for app in config["applications"] if "args" in app]
    args = AppArgs.model_validate(application["args"])
    assert {m.public_name for m in args.models} >= {"whisper"}


def test_models_are_required():
    with pytest.raises(ValidationError):
        AppArgs.model_validate({})
    with pytest.raises(ValidationError):
        AppArgs.model_validate({"models": []})


@pytest.mark.parametrize(
    "args",
    [
        {"models": [{"plugin": "whisper"}], "modles": []},
        {"models": [{"plugin": "whisper", "optoins": {}}]},
        {"models": [{"plugin": "whisper", "deployment": {"num_replica": 2}}]},
        {"models": [{"plugin": "whisper"}], "worker": {"leas_s": 1}},
        {"models": [{"plugin": "whisper"}], "ingress": {"replicas": 1}},
    ],
    ids=["top-level", "model", "model-deployment", "worker", "ingress"],
)
def test_unknown_keys_are_errors(args):
    with pytest.raises(ValidationError) as raised:
        AppArgs.model_validate(args)
    assert "extra" in str(raised.value).lower()


@pytest.mark.parametrize(
    "models",
    [
        [{"plugin": "whisper"}, {"plugin": "whisper"}],
        [{"plugin": "a", "name": "same"}, {"plugin": "b", "name": "same"}],
        [{"plugin": "whisper"}, {"plugin": "tesseract", "name": "whisper"}],
    ],
    ids=["same-plugin", "same-name", "name-equals-plugin"],
)
def test_duplicate_model_names_are_errors(models):
    with pytest.raises(ValidationError, match="unique"):
        AppArgs.model_validate({"models": models})


@pytest.mark.parametrize(
    "name", ["", "Whisper", "has space", "a/b", "-dash-first", ".hidden", "x" * 65, "ü"]
)
@pytest.mark.parametrize("field", ["name", "plugin"])
def test_bad_names_are_errors(field, name):
    model = {"plugin": "whisper", field: name}
    with pytest.raises(ValidationError, match="invalid name"):
        ModelConfig.model_validate(model)


@pytest.mark.parametrize("name", ["a", "whisper", "en_easyocr", "model-1.v2", "x" * 64])
def test_good_names(name):
    assert ModelConfig(plugin=name).public_name == name
    assert ModelConfig(plugin="whisper", name=name).public_name == name


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
