"""The ingress deployment (FastAPI, the v1 API) and the application builder.

``configs/serve.yaml`` names ``serve_app.ingress:build_app`` as its ``import_path``;
``serve run configs/serve.yaml`` or ``serve deploy configs/serve.yaml`` start it.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from ray import serve
from ray.serve import Application
from ray.serve.handle import DeploymentHandle

from core.config import get_settings
from core.plugins import BUNDLED_PLUGIN_DIR, PluginInfo
from serve_app.app import create_app
from serve_app.config import AppArgs
from serve_app.deployments.matcher import Matcher
from serve_app.deployments.model_host import ModelHost
from serve_app.deployments.pipeline import Pipeline
from serve_app.services import ModelCatalog, Services

__all__ = ["Ingress", "build_app"]

#: How long the ingress waits for a model host to describe its model, in seconds.
MODEL_INFO_TIMEOUT_S = 5.0


@serve.deployment(ray_actor_options={"num_cpus": 0.25})
@serve.ingress()
class Ingress:
    """Serves the v1 API; creates tasks, which pipeline replicas take from Redis.

    Args:
        model_hosts: Model name -> model host handle (asked for model info).
        pipeline: The pipeline deployment (bound here so the app deploys it).
    """

    async def __init__(
        self, model_hosts: dict[str, DeploymentHandle], pipeline: DeploymentHandle
    ) -> None:
        async def fetch() -> list[PluginInfo]:
            # A host that is down or slow is left out rather than blocking every request.
            answers = await asyncio.gather(
                *(
                    asyncio.wait_for(h.info.remote(), MODEL_INFO_TIMEOUT_S)
                    for h in model_hosts.values()
                ),
                return_exceptions=True,
            )
            return [a for a in answers if isinstance(a, PluginInfo)]

        self._services = await Services.create(get_settings(), ModelCatalog(fetch))
        self._pipeline = pipeline

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self._services)

    async def __del__(self) -> None:
        await self._services.close()


def build_app(args: AppArgs | dict) -> Application:
    """Build the application graph from ``configs/serve.yaml``'s ``args``.

    One ``ModelHost`` deployment named ``model-{name}`` per configured model, the
    matcher, the pipeline (consuming the task queue) and the ingress.

    Raises:
        pydantic.ValidationError: the args do not match ``AppArgs`` (unknown keys too).
    """
    args = AppArgs.model_validate(args)
    plugin_dirs = args.plugin_dirs or [str(BUNDLED_PLUGIN_DIR)]
    hosts = {
        model.public_name: ModelHost.options(
            name=f"model-{model.public_name}", **model.deployment.as_options()
        ).bind(model.model_dump(), plugin_dirs)
        for model in args.models
    }
    matcher = Matcher.options(**args.matcher.as_options()).bind()
    pipeline = Pipeline.options(**args.pipeline.as_options()).bind(
        hosts, matcher, args.worker.model_dump()
    )
    return Ingress.options(**args.ingress.as_options()).bind(hosts, pipeline)
