"""The task pipeline: consumes the task queue and composes model and matcher calls.

A task's model calls go to the model applications found at run time
(``serve_app.discovery``); the matcher deployment aligns the texts
(``core.tasks.runner.TaskRunner``). The queue
consumer (``core.tasks.consumer.TaskConsumer``) runs inside each replica, so pipeline
replicas scale the number of tasks worked on at once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast

from ray import serve
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from api.settings import get_settings
from core.plugins import AudioProcessingResult, ImageProcessingResult, PluginKind
from core.plugins.host import ModelCallTimeout, PluginResult
from core.reading.assess import Assessment, HeardWord, RefWord
from core.stores.archive import sweep_periodically
from core.stores.connection import connect
from core.stores.files import FileStore, evict_periodically
from core.stores.known_models import KnownModels
from core.stores.tasks import Task, TaskStore
from core.tasks.consumer import TaskConsumer, TaskFailed, is_storage_outage
from core.tasks.runner import TaskRunner
from serve_app.args import WorkerConfig
from serve_app.discovery import ModelDirectory, ModelUnavailable
from serve_app.metrics import get_metrics

__all__ = ["HandleGateway", "HandleMatcher", "Pipeline", "is_retryable"]

logger = logging.getLogger(__name__)

_RETRYABLE = (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    BackPressureError,
    DeploymentUnavailableError,
    # Redis restarting: the task's records are intact, only this attempt broke.
    RedisConnectionError,
    RedisTimeoutError,
)


def is_retryable(error: BaseException) -> bool:
    """A model replica died or was unavailable, or Redis was: worth another attempt.

    The object store unreachable is an outage instead (``is_storage_outage``): tried
    again without using up an attempt, until the worker's ``outage_budget_s``."""
    return isinstance(error, _RETRYABLE)


class HandleGateway:
    """``core.tasks.runner.ModelGateway`` over the model applications' handles.

    Args:
        directory: Finds the application (and multiplexed id) serving a model name.
        model_wait_s: How long a call waits for a deployed model's application to
            have a running replica (it may be restarting), seconds.
    """

    def __init__(self, directory: ModelDirectory, model_wait_s: float = 120.0) -> None:
        self._directory = directory
        self._model_wait_s = model_wait_s

    async def _handle(self, kind: PluginKind, model: str) -> DeploymentHandle:
        try:
            found = await self._directory.find(model, wait_s=self._model_wait_s)
        except ModelUnavailable as error:
            raise TaskFailed(f"The {kind} model {model!r} did not come back: {error}") from error
        if found is None or found[0].info.kind != kind:
            raise TaskFailed(f"No such {kind} model available")
        return found[1]

    async def _process_bytes(
        self,
        kind: PluginKind,
        model: str,
        data: bytes,
        suffix: str,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> PluginResult:
        handle = await self._handle(kind, model)
        try:
            return await handle.process.remote(data, suffix, reference_text, language, options)
        except RayTaskError as error:
            # The plugin raised (or timed out): the same input would fail again.
            cause = error.cause
            reason = str(cause) if isinstance(cause, ModelCallTimeout) else repr(cause)
            raise TaskFailed(f"The {kind} model {model!r} failed: {reason}") from error

    async def _process(
        self,
        kind: PluginKind,
        model: str,
        path: Path,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> PluginResult:
        data = await asyncio.to_thread(path.read_bytes)
        return await self._process_bytes(
            kind, model, data, path.suffix, reference_text, language, options
        )

    async def describe(self, model: str) -> dict[str, Any]:
        """The configuration serving ``model`` (``ModelHost.config``) for the archive."""
        found = await self._directory.find(model)
        if found is None:
            return {"name": model}
        return await found[1].config.remote(model)

    async def transcribe(
        self,
        model: str,
        path: Path,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> AudioProcessingResult:
        # _process checked the model's kind; its host validated the result as that kind.
        result = await self._process("audio", model, path, reference_text, language, options)
        return cast(AudioProcessingResult, result)

    async def transcribe_bytes(
        self,
        model: str,
        data: bytes,
        suffix: str,
        *,
        language: str | None = None,
        prompt: str | None = None,
        hot_words: dict[str, float] | None = None,
    ) -> AudioProcessingResult:
        """``api.services.SpeechGateway``: run an ASR model on bytes now (streaming).

        Raises:
            LookupError: no audio model of that name is served.
            RuntimeError: the model failed or did not come back (the reason).
        """
        options = {"prompt": prompt, "hot_words": hot_words}
        try:
            result = await self._process_bytes(
                "audio", model, data, suffix, None, language, options
            )
        except TaskFailed as error:
            if str(error) == "No such audio model available":
                raise LookupError(str(error)) from error
            raise RuntimeError(str(error)) from error
        return cast(AudioProcessingResult, result)

    async def recognise(self, model: str, path: Path) -> ImageProcessingResult:
        return cast(ImageProcessingResult, await self._process("image", model, path))


class HandleMatcher:
    """``core.tasks.runner.TextMatcher`` over the matcher deployment's handle."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self._handle = handle

    async def find_phrases(
        self, phrases: list[str], to_find: str, margin: float, score_cutoff: float,
        language: str = "en",
    ) -> list[int]:
        return await self._handle.find_phrases.remote(
            phrases, to_find, margin, score_cutoff, language
        )

    async def assess(
        self,
        reference_text: str,
        reference: list[RefWord],
        heard: list[HeardWord],
        duration: float,
        segment_lengths: list[int],
        language: str = "en",
    ) -> Assessment:
        return await self._handle.assess.remote(
            reference_text, reference, heard, duration, segment_lengths, language
        )


#: Seconds between queue depth / in-flight gauge updates.
GAUGE_PERIOD_S = 5.0


@serve.deployment(ray_actor_options={"num_cpus": 0.25})
class Pipeline:
    """Runs queued tasks to completion.

    Args:
        matcher: The matcher deployment handle.
        worker: ``WorkerConfig`` as a dict (consumer concurrency, lease, retries...).
        catalog_ttl_s: How long the list of model applications is cached, seconds.
    """

    async def __init__(
        self, matcher: DeploymentHandle, worker: dict[str, Any], catalog_ttl_s: float = 5.0
    ) -> None:
        settings = get_settings()
        config = WorkerConfig.model_validate(worker)
        self._metrics = get_metrics()
        self._redis = connect(settings.redis_url)
        context = serve.get_replica_context()
        files = FileStore(
            self._redis, settings.key_prefix, settings.data_dir, settings.object_store()
        )
        runner = TaskRunner(
            files,
            HandleGateway(
                ModelDirectory(
                    ttl_s=catalog_ttl_s,
                    own_app=context.app_name,
                    known=KnownModels(self._redis, settings.key_prefix),
                ),
                model_wait_s=config.model_wait_s,
            ),
            HandleMatcher(matcher),
            extraction_score_cutoff=config.extraction_score_cutoff,
            observe_stage=self._metrics.task_stage,
            record_models=self._record_models,
        )
        self._tasks = TaskStore(self._redis, settings.key_prefix)
        self._consumer = TaskConsumer(
            self._tasks,
            name=context.replica_id.unique_id,
            handler=runner.run,
            options=config,
            is_retryable=is_retryable,
            is_outage=is_storage_outage,
            on_finished=self._finished,
        )
        loop = asyncio.get_running_loop()
        self._loop = loop.create_task(self._consumer.run())
        self._gauges = loop.create_task(self._update_gauges())
        # With an object store, data_dir is this node's working copy: keep it under its cap.
        self._evictions = (
            loop.create_task(evict_periodically(files, settings.working_copy_max_bytes))
            if files.objects is not None
            else None
        )
        # Requests older than FMR_RETENTION_DAYS go, with their files (0: kept forever).
        self._retention = (
            loop.create_task(
                sweep_periodically(self._tasks, files, settings.retention_days * 86400)
            )
            if settings.retention_days > 0
            else None
        )

    async def _record_models(self, task: Task, models: dict[str, Any]) -> None:
        await self._tasks.record_models(task.task_id, models)

    def _finished(self, kind: str, status: str, seconds: float) -> None:
        self._metrics.task_finished(kind, status)
        self._metrics.task_stage(kind, "total", seconds)

    async def _update_gauges(self) -> None:
        while True:
            try:
                depth = await self._tasks.queue_depth()
                self._metrics.queue_depth(depth["queued"], depth["in_flight"])
                self._metrics.tasks_in_flight(self._consumer.in_flight)
            except Exception:  # noqa: BLE001 - a metrics hiccup must not stop the loop
                logger.debug("Queue gauge update failed", exc_info=True)
            await asyncio.sleep(GAUGE_PERIOD_S)

    async def check_health(self) -> None:
        """Unhealthy (and restarted by Serve) if the consumer loop has stopped."""
        if self._loop.done():
            raise RuntimeError(f"task consumer stopped: {self._loop!r}")

    async def __del__(self) -> None:
        await self._consumer.stop()
        self._loop.cancel()
        self._gauges.cancel()
        for background in (self._evictions, self._retention):
            if background is not None:
                background.cancel()
        await self._redis.aclose()
