"""Typed arguments of the Serve application (``args:`` in ``configs/serve.yaml``).

Every model is one entry of ``models``: the builder turns each into its own model
host deployment named ``model-{name}``. Per-deployment resources can be set here
or overridden in the config's ``deployments:`` section by that name, as Serve
allows. Unknown keys are errors, so a typo in the YAML fails the deploy loudly.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["AppArgs", "DeploymentOptions", "ModelConfig", "WorkerConfig"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeploymentOptions(_Strict):
    """Options passed to ``Deployment.options()``; ``None`` keeps Serve's default.

    See Ray Serve's deployment options: ``num_replicas`` (int or ``"auto"``),
    ``ray_actor_options`` (``num_cpus``, ``num_gpus``, ``memory``, ``resources``),
    ``max_ongoing_requests``, ``autoscaling_config``, ``health_check_period_s``,
    ``graceful_shutdown_timeout_s``.
    """

    num_replicas: int | str | None = None
    ray_actor_options: dict[str, Any] | None = None
    max_ongoing_requests: int | None = None
    autoscaling_config: dict[str, Any] | None = None
    health_check_period_s: float | None = None
    health_check_timeout_s: float | None = None
    graceful_shutdown_timeout_s: float | None = None

    def as_options(self) -> dict[str, Any]:
        """The options that were set, as keyword arguments for ``.options()``."""
        return self.model_dump(exclude_none=True)


class ModelConfig(_Strict):
    """One model served by a model host deployment.

    Attributes:
        name: Name clients use (``audio_model`` / ``image_model``); defaults to the
            plugin's name. Lower case, digits, ``_ . -``.
        plugin: Registered plugin name; ``plugins/{plugin}_plugin.py`` is tried first.
        options: Keyword arguments for the plugin's ``__init__`` (model path, device...).
        deployment: Resources and scaling of this model's deployment.
    """

    name: str | None = None
    plugin: str
    options: dict[str, Any] = Field(default_factory=dict)
    deployment: DeploymentOptions = Field(default_factory=DeploymentOptions)

    @property
    def public_name(self) -> str:
        return self.name or self.plugin

    @field_validator("name", "plugin")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(f"invalid name {value!r}: use [a-z0-9_.-], max 64 characters")
        return value


class WorkerConfig(_Strict):
    """The task consumer inside each pipeline replica (``core.worker.ConsumerOptions``)."""

    concurrency: int = Field(default=2, ge=1)
    lease_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    task_timeout_s: float = Field(default=600.0, gt=0)
    extraction_score_cutoff: float = Field(default=80.0, ge=0, le=100)


class AppArgs(_Strict):
    """Everything ``serve_app.ingress:build_app`` needs.

    Attributes:
        models: Models to serve; at least one.
        plugin_dirs: Folders with ``*_plugin.py`` files (default: the bundled ``plugins/``).
        ingress / pipeline / matcher: Resources of the other deployments.
        worker: Task consumer tuning.
    """

    models: list[ModelConfig] = Field(min_length=1)
    plugin_dirs: list[str] = Field(default_factory=list)
    ingress: DeploymentOptions = Field(default_factory=DeploymentOptions)
    pipeline: DeploymentOptions = Field(default_factory=DeploymentOptions)
    matcher: DeploymentOptions = Field(default_factory=DeploymentOptions)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> AppArgs:
        names = [m.public_name for m in self.models]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique, repeated: {duplicates}")
        return self
