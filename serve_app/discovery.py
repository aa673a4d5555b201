"""Finding the model applications of the running Serve instance.

Models are separate Serve applications (``serve_app.model_app``), so the API
application does not know them at build time: it asks Serve (``serve.status()``)
which applications run a ``ModelHost`` deployment, asks each for the names it
serves, and caches the answer for ``ttl_s`` seconds. A model added to or removed from
the config shows up here within that time, without restarting the API.

An application answers only while a replica of it runs, so the names each one served
last are also kept in Redis (``core.stores.known_models``): a replica started while a model
application restarts (a lost node takes both) still knows that the model exists, and
:meth:`ModelDirectory.find` waits for it instead of calling it missing.
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
from tenacity import AsyncRetrying, retry_if_exception_type, stop_before_delay, wait_exponential

from api.services import Readiness
from core.plugins import PluginInfo, PluginKind
from core.stores.known_models import KnownModels
from serve_app.deployments.model_host import MODEL_DEPLOYMENT

__all__ = ["ModelDirectory", "ModelUnavailable", "ServedModel"]

logger = logging.getLogger(__name__)

#: While waiting for a model, Serve is asked again at most this often (seconds), however
#: many tasks wait: every waiter shares the last answer.
MIN_REFRESH_S = 0.5
#: Longest pause between two looks while waiting for a model, seconds.
MAX_POLL_S = 2.0


class ModelUnavailable(Exception):
    """A deployed application serves (or may serve) the model, but had no running
    replica within the wait. ``str(error)`` says which application and how long."""


class _NotRunning(Exception):
    """One look found the model's application without a running replica (yet)."""


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


def _state(app: Any) -> str:
    """An application's status as a string (``"RUNNING"``, ``"DEPLOYING"``...)."""
    return str(getattr(app.status, "value", app.status))


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
        known: The names each application served last, shared in Redis; ``None``
            keeps them in this process only.
    """

    def __init__(
        self,
        ttl_s: float = 5.0,
        own_app: str | None = None,
        info_timeout_s: float = 5.0,
        status: Callable[[], Any] = serve.status,
        get_handle: Callable[[str, str], DeploymentHandle] = serve.get_deployment_handle,
        known: KnownModels | None = None,
    ) -> None:
        self._ttl_s = ttl_s
        self._own_app = own_app
        self._info_timeout_s = info_timeout_s
        self._status = status
        self._get_handle = get_handle
        self._known = known
        self._handles: dict[str, DeploymentHandle] = {}
        self._infos: dict[str, list[PluginInfo]] = {}  # last answer of each model app
        self._recorded: dict[str, list[PluginInfo]] = {}  # what this process wrote to Redis
        self._models: dict[str, ServedModel] = {}
        self._running: set[str] = set()  # model apps with a RUNNING replica
        self._unknown: set[str] = set()  # deployed apps that may serve models not yet known
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
        its only replica, or a replica killed) keeps its last known names, from this
        process or from Redis: :meth:`find` waits for its replica instead of calling
        the model missing.
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
        answered = []
        for app_name, answer in zip(running, answers, strict=True):
            if isinstance(answer, BaseException):
                logger.warning("Model application %r did not describe itself: %r",
                               app_name, answer)
            else:
                self._infos[app_name] = list(answer)
                answered.append(app_name)
        # While Serve rebuilds an application (a redeploy), its deployments may not be
        # listed; only an application that is gone loses its names.
        deployed = {name for name in status.applications if name != self._own_app}
        gone = set(self._infos) - deployed
        for app_name in gone:
            del self._infos[app_name]
        for app_name in set(self._handles) - deployed:
            del self._handles[app_name]
        if self._known is not None:
            await self._share_names(deployed, answered, gone)
        self._running = set(running)
        self._unknown = {
            name for name in deployed - set(self._infos)
            # A running application without a ModelHost is no model application.
            if name in present or _state(status.applications[name]) != "RUNNING"
        }
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

    async def _share_names(
        self, deployed: set[str], answered: list[str], gone: set[str]
    ) -> None:
        """Record fresh answers in Redis; learn from it the names of deployed apps that
        could not answer (no running replica); forget apps no longer deployed."""
        assert self._known is not None
        for app_name in answered:
            if self._recorded.get(app_name) != self._infos[app_name]:
                await self._known.save(app_name, self._infos[app_name])
                self._recorded[app_name] = self._infos[app_name]
        stale = set(gone)
        if deployed - set(self._infos):
            recorded = await self._known.load()
            for app_name in (deployed - set(self._infos)) & set(recorded):
                self._infos[app_name] = recorded[app_name]
            stale |= set(recorded) - deployed
        if stale:
            await self._known.forget(stale)
            for app_name in stale:
                self._recorded.pop(app_name, None)

    async def models(self) -> dict[str, ServedModel]:
        """Public name -> served model, refreshed when older than ``ttl_s``."""
        async with self._lock:
            if time.monotonic() - self._fetched_at > self._ttl_s:
                await self.refresh()
            return self._models

    async def infos(self) -> list[PluginInfo]:
        """``PluginInfo`` of every served model."""
        return [model.info for model in (await self.models()).values()]

    async def list(self, kind: PluginKind) -> list[PluginInfo]:
        """Served models of one kind (``api.services.ModelCatalog``, ``/v1/*/models``)."""
        return [info for info in await self.infos() if info.kind == kind]

    async def has(self, kind: PluginKind, name: str) -> bool:
        """Whether a model of that kind is served under ``name`` (``ModelCatalog``)."""
        model = (await self.models()).get(name)
        return model is not None and model.info.kind == kind

    async def find(
        self, name: str, wait_s: float = 0.0
    ) -> tuple[ServedModel, DeploymentHandle] | None:
        """The served model of that name and a handle routed to a running replica.

        A model whose application is deployed but has no running replica (it is
        starting, or its replica died) is waited for, up to ``wait_s`` seconds,
        looking again with exponential back-off (at most every ``MAX_POLL_S``); so
        is a name not known yet while some deployed application cannot say what it
        serves. A name that no deployed application serves is ``None`` at once.

        Args:
            name: Public model name (``audio_model`` / ``image_model``).
            wait_s: Longest wait for a running replica, seconds; 0 looks once.

        Returns:
            ``(model, handle)``, or ``None`` when no deployed application serves
            ``name``.

        Raises:
            ModelUnavailable: The model's application (or one that may serve it)
                still had no running replica after ``wait_s`` seconds.
        """
        retrying = AsyncRetrying(
            stop=stop_before_delay(wait_s),
            wait=wait_exponential(multiplier=MIN_REFRESH_S / 2, max=MAX_POLL_S),
            retry=retry_if_exception_type(_NotRunning),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._look_up(name)
        except _NotRunning as error:
            raise ModelUnavailable(f"{error} after {wait_s:g} s") from error
        return None  # unreachable: the loop returns or raises

    async def _look_up(self, name: str) -> tuple[ServedModel, DeploymentHandle] | None:
        """One look (see :meth:`find`); raises ``_NotRunning`` to be retried."""
        models = await self.models()
        model = models.get(name)
        if model is None or model.app_name not in self._running:
            # Maybe just deployed, or back: ask Serve again, once per MIN_REFRESH_S.
            async with self._lock:
                if time.monotonic() - self._fetched_at >= MIN_REFRESH_S:
                    await self.refresh()
                models = self._models
            model = models.get(name)
        if model is None:
            if self._unknown:
                raise _NotRunning(
                    f"no running replica of {', '.join(sorted(self._unknown))}, which "
                    f"may serve {name!r}"
                )
            return None
        if model.app_name not in self._running:
            raise _NotRunning(f"no running replica of application {model.app_name!r}")
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
            state = _state(app)
            if name in model_apps:
                running = _running_replicas(app.deployments[MODEL_DEPLOYMENT])
                report[name] = f"{state}, {running} replica{'s' if running != 1 else ''}"
                ready &= running > 0
            else:
                report[name] = state
                # An application still being built may be a model not yet known.
                ready &= state == "RUNNING" or (name == self._own_app and state == "DEPLOYING")
        return Readiness(ready=ready and bool(model_apps), applications=report)
