"""The ingress deployment (FastAPI, the v1 API) and the API application's builder.

``configs/serve.yaml`` names ``serve_app.ingress:build_app`` as the API
application's ``import_path``; each model is its own application
(``serve_app.model_app``), found at run time, so models can be added, removed or
replaced by redeploying the config while the ingress keeps running.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from api import log_redaction
from api.app import create_app
from api.services import Services
from api.settings import get_settings
from core.stores.connection import connect
from core.stores.files import evict_periodically
from core.stores.known_models import KnownModels
from serve_app.args import AppArgs
from serve_app.deployments.matcher import Matcher
from serve_app.deployments.pipeline import HandleGateway, Pipeline
from serve_app.discovery import ModelDirectory
from serve_app.metrics import get_metrics

__all__ = ["Ingress", "build_app"]


@serve.deployment(ray_actor_options={"num_cpus": 0.25})
@serve.ingress()
class Ingress:
    """Serves the v1 API; creates tasks, which pipeline replicas take from Redis.

    Args:
        pipeline: The pipeline deployment, bound here only so that the application
            deploys it; the ingress never calls it (tasks go through Redis).
        catalog_ttl_s: How long the list of served models is cached, in seconds.
        stream_model_wait_s: How long a live stream's model call waits for a
            restarting model to have a running replica, in seconds.
    """

    async def __init__(
        self,
        pipeline: DeploymentHandle,
        catalog_ttl_s: float = 5.0,
        stream_model_wait_s: float = 10.0,
    ) -> None:
        del pipeline  # see Args
        # Serve has set up this replica's log handlers by now.
        log_redaction.install()
        context = serve.get_replica_context()
        settings = get_settings()
        redis = connect(settings.redis_url)
        directory = ModelDirectory(
            ttl_s=catalog_ttl_s,
            own_app=context.app_name,
            known=KnownModels(redis, settings.key_prefix),
        )
        self._services = await Services.create(
            settings,
            directory,
            readiness=directory.readiness,
            instance=context.replica_id.unique_id,
            redis=redis,
        )
        # Live streaming calls the ASR models directly, not through the task queue.
        self._services.speech = HandleGateway(directory, model_wait_s=stream_model_wait_s)
        # With an object store, data_dir is this node's working copy: keep it under its cap.
        files = self._services.files
        self._evictions = (
            asyncio.get_running_loop().create_task(
                evict_periodically(files, settings.working_copy_max_bytes)
            )
            if files.objects is not None
            else None
        )

    def __serve_build_asgi_app__(self) -> FastAPI:
        # Serve's proxy echoes X-Request-ID itself (the client's, or the one it made).
        return create_app(self._services, metrics=get_metrics(), echo_request_id=False)

    async def __del__(self) -> None:
        if self._evictions is not None:
            self._evictions.cancel()
        await self._services.close()


def build_app(args: AppArgs | dict | None = None) -> Application:
    """Build the API application from ``configs/serve.yaml``'s ``args``.

    The matcher, the pipeline (consuming the task queue) and the ingress. Models are
    separate applications (``serve_app.model_app:build_model_app``).

    Raises:
        pydantic.ValidationError: the args do not match ``AppArgs`` (unknown keys too).
    """
    args = AppArgs.model_validate(args or {})
    matcher = Matcher.options(**args.matcher.as_options()).bind()
    pipeline = Pipeline.options(**args.pipeline.as_options()).bind(
        matcher, args.worker.model_dump(), args.catalog_ttl_s
    )
    return Ingress.options(**args.ingress.as_options()).bind(pipeline, args.catalog_ttl_s)
