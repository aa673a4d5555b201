"""The task pipeline: consumes the task queue and composes model and matcher calls.

For a comparison, the ASR and OCR model deployments run concurrently, then the
matcher deployment aligns the texts (``core.pipeline.TaskRunner``). The queue
consumer (``core.worker.TaskConsumer``) runs inside each replica, so pipeline
replicas scale the number of tasks worked on at once.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from ray import serve
from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentHandle
from redis.asyncio import Redis

from core.assessment import Assessment, HeardWord, RefWord
from core.config import get_settings
from core.pipeline import TaskRunner
from core.plugins import AudioProcessingResult, ImageProcessingResult, PluginKind
from core.storage import FileStore
from core.tasks import TaskStore
from core.worker import ConsumerOptions, TaskConsumer, TaskFailed
from serve_app.config import WorkerConfig

__all__ = ["HandleGateway", "HandleMatcher", "Pipeline", "is_retryable"]

logger = logging.getLogger(__name__)

_RETRYABLE = (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    BackPressureError,
    DeploymentUnavailableError,
)


def is_retryable(error: BaseException) -> bool:
    """A model replica died or was unavailable: the task deserves another attempt."""
    return isinstance(error, _RETRYABLE)


class HandleGateway:
    """``core.pipeline.ModelGateway`` over model host deployment handles."""

    def __init__(self, hosts: dict[str, DeploymentHandle]) -> None:
        self._hosts = hosts
        self._kinds: dict[str, PluginKind] = {}

    async def _process(
        self, kind: PluginKind, model: str, path: Path, reference_text: str | None = None
    ) -> dict[str, Any]:
        handle = self._hosts.get(model)
        if handle is not None and model not in self._kinds:
            self._kinds[model] = (await handle.info.remote()).kind
        if handle is None or self._kinds[model] != kind:
            raise TaskFailed(f"No such {kind} model available")
        data = await asyncio.to_thread(path.read_bytes)
        try:
            return await handle.process.remote(data, path.suffix, reference_text)
        except RayTaskError as error:
            # The plugin raised: the same input would fail again.
            raise TaskFailed(f"The {kind} model {model!r} failed: {error.cause!r}") from error

    async def transcribe(
        self, model: str, path: Path, reference_text: str | None = None
    ) -> AudioProcessingResult:
        result = await self._process("audio", model, path, reference_text)
        return AudioProcessingResult.model_validate(result)

    async def recognise(self, model: str, path: Path) -> ImageProcessingResult:
        return ImageProcessingResult.model_validate(await self._process("image", model, path))


class HandleMatcher:
    """``core.pipeline.TextMatcher`` over the matcher deployment's handle."""

    def __init__(self, handle: DeploymentHandle) -> None:
        self._handle = handle

    async def find_phrases(
        self, phrases: list[str], to_find: str, margin: float, score_cutoff: float
    ) -> list[int]:
        return await self._handle.find_phrases.remote(phrases, to_find, margin, score_cutoff)

    async def assess(
        self,
        reference_text: str,
        reference: list[RefWord],
        heard: list[HeardWord],
        duration: float,
        segment_lengths: list[int],
    ) -> Assessment:
        return await self._handle.assess.remote(
            reference_text, reference, heard, duration, segment_lengths
        )


@serve.deployment(ray_actor_options={"num_cpus": 0.25})
class Pipeline:
    """Runs queued tasks to completion.

    Args:
        model_hosts: Model name -> model host deployment handle.
        matcher: The matcher deployment handle.
        worker: ``WorkerConfig`` as a dict (consumer concurrency, lease, retries...).
    """

    async def __init__(
        self,
        model_hosts: dict[str, DeploymentHandle],
        matcher: DeploymentHandle,
        worker: dict[str, Any],
    ) -> None:
        settings = get_settings()
        config = WorkerConfig.model_validate(worker)
        self._redis = Redis.from_url(settings.redis_url, decode_responses=True)
        runner = TaskRunner(
            FileStore(self._redis, settings.key_prefix, settings.data_dir),
            HandleGateway(model_hosts),
            HandleMatcher(matcher),
            extraction_score_cutoff=config.extraction_score_cutoff,
        )
        self._consumer = TaskConsumer(
            TaskStore(self._redis, settings.key_prefix),
            name=serve.get_replica_context().replica_id.unique_id,
            handler=runner.run,
            options=ConsumerOptions(
                concurrency=config.concurrency,
                lease_s=config.lease_s,
                max_attempts=config.max_attempts,
                task_timeout_s=config.task_timeout_s,
            ),
            is_retryable=is_retryable,
        )
        self._loop = asyncio.get_running_loop().create_task(self._consumer.run())

    async def check_health(self) -> None:
        """Unhealthy (and restarted by Serve) if the consumer loop has stopped."""
        if self._loop.done():
            raise RuntimeError(f"task consumer stopped: {self._loop!r}")

    async def __del__(self) -> None:
        await self._consumer.stop()
        self._loop.cancel()
        await self._redis.aclose()
