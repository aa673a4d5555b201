"""Typed arguments of the Serve applications (``args:`` in ``configs/serve.yaml``).

The config holds two kinds of application:

* the API application (``serve_app.ingress:build_app``, args ``AppArgs``): the
  ingress, the task pipeline and the matcher;
* one application per model (``serve_app.model_app:build_model_app``, args
  ``ModelAppArgs``): a ``ModelHost`` deployment serving one plugin.

Serve versions an application by its import path and args, so adding, removing or
re-configuring a model application redeploys only that application: the API keeps
its replicas (and its in-flight requests). Unknown keys are errors, so a typo in the
YAML fails the deploy loudly.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.tasks.consumer import ConsumerOptions

__all__ = [
    "AppArgs",
    "BatchingConfig",
    "DeploymentOptions",
    "ModelAppArgs",
    "WorkerConfig",
]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeploymentOptions(_Strict):
    """Options passed to ``Deployment.options()``; ``None`` keeps Serve's default.

    See Ray Serve's deployment options: ``num_replicas`` (int or ``"auto"``),
    ``ray_actor_options`` (``num_cpus``, ``num_gpus`` (fractions allowed),
    ``memory``, ``resources``), ``max_ongoing_requests``, ``autoscaling_config``
    (``min_replicas``, ``max_replicas``, ``target_ongoing_requests``,
    ``upscale_delay_s``, ``downscale_delay_s``...), health checks and graceful
    shutdown.
    """

    num_replicas: int | str | None = None
    ray_actor_options: dict[str, Any] | None = None
    max_ongoing_requests: int | None = None
    autoscaling_config: dict[str, Any] | None = None
    health_check_period_s: float | None = None
    health_check_timeout_s: float | None = None
    graceful_shutdown_wait_loop_s: float | None = None
    graceful_shutdown_timeout_s: float | None = None

    def as_options(self) -> dict[str, Any]:
        """The options that were set, as keyword arguments for ``.options()``."""
        return self.model_dump(exclude_none=True)

    @property
    def num_gpus(self) -> float:
        """GPUs each replica asks for (0 when not set)."""
        return float((self.ray_actor_options or {}).get("num_gpus") or 0)

    def without_gpus(self) -> DeploymentOptions:
        """The same options with ``num_gpus`` removed (the CPU-only variant)."""
        actor = {k: v for k, v in (self.ray_actor_options or {}).items() if k != "num_gpus"}
        return self.model_copy(update={"ray_actor_options": actor or None})


class WorkerConfig(ConsumerOptions):
    """The task consumer inside each pipeline replica: ``ConsumerOptions`` (concurrency,
    lease, attempts, timeouts) and what the pipeline's task runner needs besides.

    Attributes:
        lease_s: A dead replica's tasks are taken over within about ``lease_s * 4/3``
            seconds of its death; a healthy task renews its lease every ``lease_s / 3``.
        retry_delay_s: Seconds before a task whose model replica died mid-call is
            tried again.
        outage_budget_s: How long a task keeps waiting for an unreachable object store
            (tries that do not count towards ``max_attempts``), from its first
            outage, in seconds; then it fails ("the file store was unreachable").
        model_wait_s: How long a task waits for a model whose application is deployed
            but has no running replica (restarting, or on a lost node), in seconds;
            then it fails with "did not come back".
    """

    model_wait_s: float = Field(default=120.0, ge=0)
    extraction_score_cutoff: float = Field(default=80.0, ge=0, le=100)


class AppArgs(_Strict):
    """Arguments of the API application (``serve_app.ingress:build_app``).

    Models are not listed here: each is its own application, found at run time
    (``serve_app.discovery``), so models come and go without redeploying the API.

    Attributes:
        ingress / pipeline / matcher: Resources and scaling of those deployments.
        worker: Task consumer tuning.
        catalog_ttl_s: How long the list of served models is cached, in seconds; a
            model added or removed shows in ``/v1/*/models`` within this time.
    """

    ingress: DeploymentOptions = Field(default_factory=DeploymentOptions)
    pipeline: DeploymentOptions = Field(default_factory=DeploymentOptions)
    matcher: DeploymentOptions = Field(default_factory=DeploymentOptions)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    catalog_ttl_s: float = Field(default=5.0, ge=0)


class BatchingConfig(_Strict):
    """Dynamic batching of one model's requests (Ray Serve ``@serve.batch``).

    Attributes:
        enabled: Gather concurrent requests into one plugin call. When the plugin has
            a batch method (``process_audio_batch`` / ``process_image_batch``) it
            gets the whole batch; otherwise the host loops over it.
        max_batch_size: Most requests in one batch.
        batch_wait_timeout_s: Longest wait for a batch to fill, in seconds.
    """

    enabled: bool = False
    max_batch_size: int = Field(default=8, ge=1)
    batch_wait_timeout_s: float = Field(default=0.05, ge=0)


class ModelAppArgs(_Strict):
    """Arguments of one model application (``serve_app.model_app:build_model_app``).

    Attributes:
        plugin: Registered plugin name; ``plugins/{plugin}_plugin.py`` is tried first.
        name: Name clients use (``audio_model`` / ``image_model``); defaults to the
            plugin's name. Lower case, digits, ``_ . -``.
        options: Keyword arguments for the plugin's ``__init__`` (weights path, device...).
        variants: More public names served by the same deployment, each with option
            overrides (e.g. other weights). Loaded on demand per replica with Ray
            Serve model multiplexing, at most ``max_models_per_replica`` at a time
            (least recently used unloaded first).
        max_models_per_replica: LRU bound of loaded variants per replica.
        plugin_dirs: Folders with ``*_plugin.py`` files (default: the bundled ``plugins/``).
        use_gpu: ``auto`` gives replicas the configured ``num_gpus`` only when the
            cluster has GPUs, so one config runs on GPU and CPU-only clusters;
            ``true`` always asks for them (an autoscaling cluster then adds GPU
            nodes); ``false`` never does. A plugin that cannot use a GPU
            (``supports_gpu`` false) never gets one.
        cpu_threads: Threads the model may use on CPU (``OMP_NUM_THREADS``, read
            by torch and CTranslate2 when they load). Ray sets it to the replica's
            ``num_cpus`` rounded down, at least 1, so a replica with a fraction of
            a CPU computes on one thread; measured on this 2-core machine, that
            alone made an EasyOCR + Whisper comparison about 1.9 times slower
            than in a plain process. ``None`` keeps Ray's value.
        nice: CPU scheduling niceness of the replica's process, 0-19 (``nice(1)``);
            higher yields the CPU to other processes. On a node whose CPUs the model
            shares with the ingress and the pipeline, a positive value keeps API
            answers prompt while the model is busy: the model still gets every CPU
            cycle nobody else wants. 0 (the default) changes nothing.
        concurrent_calls: Model calls one replica runs at once, each in its own
            thread. 1 (the default) suits any plugin. More keeps a CPU node busy
            while one call is in a single-threaded phase (decoding, beam search,
            post-processing); only for thread-safe plugins (torch inference,
            CTranslate2 with ``num_workers`` at least this many).
        batching: Dynamic batching.
        deskew: For OCR models: measure each photo's skew from its pixels and let the
            model read an upright copy, boxes mapped back to the photo's pixels
            (``core.page.deskew``; on by default). Set ``false`` for a model that
            reads turned lines itself and returns whole-line boxes, which
            ``core.page.skew`` cannot order once mapped back to a turned photo
            (EasyOCR: see ``configs/serve.yaml``). Ignored for audio models.
        call_timeout_s: Longest one plugin call (one file, or one batch) may run,
            in seconds. A call that takes longer fails its requests with
            ``ModelCallTimeout``; its thread cannot be stopped and is left to
            finish in the background while the replica keeps serving.
        max_stuck_calls: Timed-out calls still running after which the replica
            reports itself unhealthy, so Serve replaces it (frees the threads and
            memory a hung model holds).
        deployment: Resources and scaling of the ``ModelHost`` deployment.
    """

    plugin: str
    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)
    max_models_per_replica: int = Field(default=2, ge=1)
    plugin_dirs: list[str] = Field(default_factory=list)
    use_gpu: Literal["auto"] | bool = "auto"
    cpu_threads: int | None = Field(default=None, ge=1)
    nice: int = Field(default=0, ge=0, le=19)
    concurrent_calls: int = Field(default=1, ge=1)
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    deskew: bool = True
    call_timeout_s: float = Field(default=600.0, gt=0)
    max_stuck_calls: int = Field(default=2, ge=1)
    deployment: DeploymentOptions = Field(default_factory=DeploymentOptions)

    @property
    def public_name(self) -> str:
        return self.name or self.plugin

    @property
    def public_names(self) -> list[str]:
        """Every name this application serves: its own, then the variants'."""
        return [self.public_name, *self.variants]

    def is_base(self, model_id: str) -> bool:
        """Whether a served name (or ``""``, no multiplexed id) is the base model."""
        return model_id in ("", self.public_name)

    def variant_options(self, model_id: str) -> dict[str, Any]:
        """Plugin options of a served name (the base options plus the variant's).

        Raises:
            KeyError: ``model_id`` is not one of ``public_names``.
        """
        if self.is_base(model_id):
            return dict(self.options)
        return {**self.options, **self.variants[model_id]}

    @field_validator("name", "plugin")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(f"invalid name {value!r}: use [a-z0-9_.-], max 64 characters")
        return value

    @field_validator("variants")
    @classmethod
    def _valid_variants(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"invalid variant name {name!r}: use [a-z0-9_.-]")
        return value

    @model_validator(mode="after")
    def _distinct_names(self) -> ModelAppArgs:
        if self.public_name in self.variants:
            raise ValueError(f"variant {self.public_name!r} repeats the model's own name")
        return self
