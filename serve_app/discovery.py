"""Finding the model applications of the running Serve instance.

Models are separate Serve applications (``serve_app.model_app``), so the API
application does not know them at build time: it asks Serve (``serve.status()``)
which applications run a ``ModelHost`` deployment, asks each for the names it
serves, and caches the answer for ``ttl_s`` seconds. A model added to or removed from
the config shows up here within that time, without restarting the API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ray import serve
from ray.serve.handle import DeploymentHandle

from core.plugins import PluginInfo
from serve_app.deployments.model_host import MODEL_DEPLOYMENT
from serve_app.services import Readiness

__all__ = ["ModelDirectory", "ServedModel"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedModel:
    """A public model name and where it is served.

    Attributes:
        info: Name, languages, description, kind.
        app_name: The Serve application hosting it.
        model_id: Multiplexed model id (a variant's name), or ``""`` for the base model.
    """

    info: PluginInfo
    app_name: str
    model_id: str = ""


def _running_replicas(deployment: Any) -> int:
    states = getattr(deployment, "replica_states", None) or {}
    return int(states.get("RUNNING", 0))


class ModelDirectory:
    """The models served by this Serve instance, cached.

    Args:
        ttl_s: Seconds a fetched list is reused.
        own_app: Name of the API application (it is not a model application).
        info_timeout_s: Longest wait for one model application's ``info``, in
            seconds; one that does not answer is left out rather than blocking.
        status: Returns Serve's status (injected for tests; ``serve.status``).
        get_handle: ``(deployment, app) -> DeploymentHandle`` (injected for tests).
    """

    def __init__(
        self,
        ttl_s: float = 5.0,
        own_app: str | None = None,
        info_timeout_s: float = 5.0,
        status: Callable[[], Any] = serve.status,
        get_handle: Callable[[str, str], DeploymentHandle] = serve.get_deployment_handle,
    ) -> None:
        self._ttl_s = ttl_s
        self._own_app = own_app
        self._info_timeout_s = info_timeout_s
        self._status = status
        self._get_handle = get_handle
        self._handles: dict[str, DeploymentHandle] = {}
        self._infos: dict[str, list[PluginInfo]] = {}  # last answer of each model app
        self._models: dict[str, ServedModel] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _serve_status(self) -> Any:
        return await asyncio.to_thread(self._status)

    def _model_apps(self, status: Any) -> dict[str, Any]:
        return {
            name: app
            for name, app in status.applications.items()
            if name != self._own_app and MODEL_DEPLOYMENT in app.deployments
        }

    def handle(self, app_name: str) -> DeploymentHandle:
        """The ``ModelHost`` handle of a model application (cached)."""
        if app_name not in self._handles:
            self._handles[app_name] = self._get_handle(MODEL_DEPLOYMENT, app_name)
        return self._handles[app_name]

    async def refresh(self) -> dict[str, ServedModel]:
        """Ask Serve and every running model application now; returns name -> model.

        An application whose replicas are all being replaced (a rolling update of
        its only replica) keeps its last known names: requests routed to it wait in
        Serve's router for the new replica instead of being refused.
        """
        status = await self._serve_status()
        present = self._model_apps(status)
        running = sorted(
            name for name, app in present.items()
            if _running_replicas(app.deployments[MODEL_DEPLOYMENT]) > 0
        )
        answers = await asyncio.gather(
            *(
                asyncio.wait_for(self.handle(name).info.remote(), self._info_timeout_s)
                for name in running
            ),
            return_exceptions=True,
        )
        for app_name, answer in zip(running, answers, strict=True):
            if isinstance(answer, BaseException):
                logger.warning("Model application %r did not describe itself: %r",
                               app_name, answer)
            else:
                self._infos[app_name] = list(answer)
        # While Serve rebuilds an application (a redeploy), its deployments may not be
        # listed; only an application that is gone loses its names.
        for gone in set(self._infos) - set(status.applications):
            del self._infos[gone]
        for gone in set(self._handles) - set(status.applications):
            del self._handles[gone]
        models: dict[str, ServedModel] = {}
        for app_name in sorted(self._infos):
            for position, info in enumerate(self._infos[app_name]):
                if info.name in models:
                    logger.warning("Model name %r served by %r and %r; using the first",
                                   info.name, models[info.name].app_name, app_name)
                    continue
                models[info.name] = ServedModel(info, app_name, "" if position == 0 else info.name)
        self._models = models
        self._fetched_at = time.monotonic()
        return models

    async def models(self) -> dict[str, ServedModel]:
        """Public name -> served model, refreshed when older than ``ttl_s``."""
        async with self._lock:
            if time.monotonic() - self._fetched_at > self._ttl_s:
                await self.refresh()
            return self._models

    async def infos(self) -> list[PluginInfo]:
        """``PluginInfo`` of every served model (for ``/v1/*/models``)."""
        return [model.info for model in (await self.models()).values()]

    async def find(self, name: str) -> tuple[ServedModel, DeploymentHandle] | None:
        """The served model of that name and a handle routed to it, or None.

        A name not in the cached list triggers one refresh first (it may have just
        been deployed).
        """
        models = await self.models()
        if name not in models:
            async with self._lock:
                models = await self.refresh()
        model = models.get(name)
        if model is None:
            return None
        handle = self.handle(model.app_name)
        if model.model_id:
            handle = handle.options(multiplexed_model_id=model.model_id)
        return model, handle

    async def readiness(self) -> Readiness:
        """Whether every application is deployed and every model app has a replica."""
        status = await self._serve_status()
        model_apps = self._model_apps(status)
        ready = True
        report: dict[str, str] = {}
        for name, app in status.applications.items():
            state = str(getattr(app.status, "value", app.status))
            if name in model_apps:
                running = _running_replicas(app.deployments[MODEL_DEPLOYMENT])
                report[name] = f"{state}, {running} replica{'s' if running != 1 else ''}"
                ready &= running > 0
            else:
                report[name] = state
                # An application still being built may be a model not yet known.
                ready &= state == "RUNNING" or (name == self._own_app and state == "DEPLOYING")
        return Readiness(ready=ready and bool(model_apps), applications=report)
