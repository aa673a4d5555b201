"""The Serve configs in the repository parse and their args validate (typos fail)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from serve_app.config import AppArgs

ROOT = Path(__file__).resolve().parents[2]


def serve_configs() -> dict[str, dict]:
    rayservice = yaml.safe_load((ROOT / "cluster" / "rayservice.yaml").read_text())
    return {
        "configs/serve.yaml": yaml.safe_load((ROOT / "configs" / "serve.yaml").read_text()),
        "cluster/rayservice.yaml": yaml.safe_load(rayservice["spec"]["serveConfigV2"]),
    }


@pytest.mark.parametrize("name", sorted(serve_configs()))
def test_serve_config_names_the_builder_and_valid_args(name):
    (app,) = serve_configs()[name]["applications"]
    assert app["import_path"] == "serve_app.ingress:build_app"
    args = AppArgs.model_validate(app["args"])
    assert {m.public_name for m in args.models} == {"whisper", "en_easyocr", "eng_tesseract"}
    for model in args.models:
        assert (ROOT / "plugins" / f"{model.plugin}_plugin.py").is_file()


def test_a_typo_in_the_args_fails_validation():
    (app,) = serve_configs()["configs/serve.yaml"]["applications"]
    args = dict(app["args"], modles=app["args"]["models"])
    with pytest.raises(ValidationError, match="modles"):
        AppArgs.model_validate(args)


def test_rayservice_has_head_and_autoscaling_worker_group():
    spec = yaml.safe_load((ROOT / "cluster" / "rayservice.yaml").read_text())["spec"]
    cluster = spec["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    (workers,) = cluster["workerGroupSpecs"]
    assert 1 <= workers["minReplicas"] <= workers["maxReplicas"]
    container = workers["template"]["spec"]["containers"][0]
    assert {e["name"] for e in container["env"]} >= {"REDIS_URL", "FMR_JWT_SECRET", "FMR_DATA_DIR"}
