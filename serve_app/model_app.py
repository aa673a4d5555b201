"""The builder of a model application: one plugin behind a ``ModelHost`` deployment.

``configs/serve.yaml`` lists one application per model with
``import_path: serve_app.model_app:build_model_app``. Serve versions each application
by its own args, so adding, removing or re-configuring one model redeploys only that
application; the API application finds models at run time (``serve_app.discovery``).
"""

from __future__ import annotations

import logging

import ray
from ray.serve import Application

from core.plugins import BUNDLED_PLUGIN_DIR, get_plugin
from serve_app.args import ModelAppArgs
from serve_app.deployments.model_host import ModelHost

__all__ = ["build_model_app", "cluster_has_gpus", "replica_options"]

logger = logging.getLogger(__name__)


def cluster_has_gpus() -> bool:
    """Whether the Ray cluster currently has GPU resources (False if Ray is not up)."""
    return ray.is_initialized() and ray.cluster_resources().get("GPU", 0) > 0


def replica_options(args: ModelAppArgs, supports_gpu: bool, has_gpus: bool) -> dict:
    """The ``ModelHost`` deployment options for this model on this cluster.

    ``num_gpus`` from the config is kept when the plugin can use a GPU and
    ``use_gpu`` is ``True``, or ``"auto"`` on a cluster with GPUs; otherwise it is
    dropped, so the same config runs on CPU-only clusters.

    Raises:
        ValueError: ``use_gpu`` is ``True`` for a plugin that cannot use a GPU.
    """
    deployment = args.deployment
    if args.use_gpu is True and not supports_gpu:
        raise ValueError(f"plugin {args.plugin!r} cannot use a GPU (supports_gpu is not set)")
    wants_gpu = supports_gpu and (args.use_gpu is True or (args.use_gpu == "auto" and has_gpus))
    if not wants_gpu:
        deployment = deployment.without_gpus()
    return deployment.as_options()


def build_model_app(args: ModelAppArgs | dict) -> Application:
    """Build one model application from its ``args`` in ``configs/serve.yaml``.

    Raises:
        pydantic.ValidationError: the args do not match ``ModelAppArgs``.
        KeyError: no plugin file registers ``args.plugin``.
        ValueError: ``use_gpu: true`` for a CPU-only plugin.
    """
    args = ModelAppArgs.model_validate(args)
    plugin = get_plugin(args.plugin, args.plugin_dirs or [BUNDLED_PLUGIN_DIR])
    supports_gpu = bool(getattr(plugin, "supports_gpu", False))
    options = replica_options(args, supports_gpu, cluster_has_gpus())
    logger.info("Model app %s: deployment options %s", args.public_name, options)
    return ModelHost.options(**options).bind(args.model_dump())
