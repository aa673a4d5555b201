"""One generic deployment class that hosts any plugin: the ``ModelHost`` of a model app.

Each model application (``serve_app.model_app``) runs one ``ModelHost`` deployment.
The replica loads its plugin's model in the constructor, on the GPU Ray gave it (if
any), and serves ``process`` requests:

* with batching on, concurrent requests are gathered by ``@serve.batch`` (sizes
  from the config) and handed to the plugin's batch method in one call;
* with ``variants``, more weights of the same plugin are loaded on demand by Ray
  Serve model multiplexing (``serve.multiplexed``), at most
  ``max_models_per_replica`` per replica, least recently used unloaded first.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
import time
from collections import defaultdict, deque
from typing import Any

import ray
from ray import serve

from core.plugins import PluginInfo
from core.plugins.host import BatchItem, PluginResult, PluginRunner, TimedCalls
from serve_app.args import ModelAppArgs
from serve_app.metrics import get_metrics

__all__ = ["MODEL_DEPLOYMENT", "ModelHost", "library_versions", "lower_priority"]

logger = logging.getLogger(__name__)

#: Deployment name of every model application's host; discovery looks for it.
MODEL_DEPLOYMENT = "ModelHost"


#: Distributions whose versions say what computed a result (``ModelHost.config``).
_VERSIONED = (
    "follow-my-reading", "ray", "faster-whisper", "ctranslate2", "torch", "easyocr",
    "pytesseract", "transformers",
)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries in ``_VERSIONED`` (absent ones left out)."""
    versions = {}
    for name in _VERSIONED:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def lower_priority(nice: int) -> None:
    """Raise the niceness of every thread of this process to ``nice`` (never lower it).

    On Linux niceness is per thread and a new thread inherits its creator's, so every
    existing thread is changed (``/proc/self/task``); threads started later (the
    model's compute threads) inherit it.

    Raises:
        OSError: the process may not change a thread's priority.
    """
    tids = [int(tid) for tid in os.listdir("/proc/self/task")] if os.path.isdir(
        "/proc/self/task"
    ) else [0]
    for tid in tids:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except ProcessLookupError:  # the thread ended meanwhile
            continue


@serve.deployment(
    name=MODEL_DEPLOYMENT, ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=8
)
class ModelHost:
    """Loads one plugin's model and runs it on request, batched when configured.

    Args:
        args: The model application's ``ModelAppArgs`` (as a dict).
        runner_cls: Injected for tests; builds a ``PluginRunner``.

    Raises:
        Whatever loading the plugin raises (unknown plugin, bad options, missing
        weights): the replica fails to start and Serve reports the deploy failed.
    """

    def __init__(
        self, args: dict[str, Any], runner_cls: type[PluginRunner] = PluginRunner
    ) -> None:
        self._args = ModelAppArgs.model_validate(args)
        self._gpu_ids = [str(g) for g in ray.get_gpu_ids()]
        if not self._gpu_ids:
            # A replica without a GPU share must not grab a GPU of its node: libraries
            # default to device 0 when they see one ("auto" device selection).
            os.environ["CUDA_VISIBLE_DEVICES"] = ""
        if self._args.nice:
            lower_priority(self._args.nice)
        if self._args.cpu_threads:
            # Read by OpenMP when torch / CTranslate2 load, i.e. in the plugin's __init__.
            os.environ["OMP_NUM_THREADS"] = str(self._args.cpu_threads)
        self._runner_cls = runner_cls
        self._loads: list[str] = []  # served names loaded, in order (multiplexing LRU)
        self._batch_sizes: deque[int] = deque(maxlen=1000)
        self._base = self._load(self._args.public_name)
        self._metrics = get_metrics()
        # At most concurrent_calls model calls at a time (1 by default: not every
        # plugin is thread-safe); Serve queues the rest (max_ongoing_requests).
        self._slots = asyncio.Semaphore(self._args.concurrent_calls)
        self._calls = TimedCalls(self._args.call_timeout_s)

        async def load_variant(model_id: str) -> PluginRunner:
            return await asyncio.to_thread(self._load, model_id)

        self._variant = serve.multiplexed(
            max_num_models_per_replica=self._args.max_models_per_replica
        )(load_variant)
        batching = self._args.batching
        self._run_batched.set_max_batch_size(batching.max_batch_size)
        self._run_batched.set_batch_wait_timeout_s(batching.batch_wait_timeout_s)

    def _load(self, model_id: str) -> PluginRunner:
        """Load the plugin with the options of one served name (base or variant)."""
        started = time.perf_counter()
        runner = self._runner_cls(
            self._args.plugin,
            self._args.variant_options(model_id),
            self._args.plugin_dirs or (),
            model_id or self._args.public_name,
            deskew=self._args.deskew,
        )
        self._loads.append(model_id)
        logger.info("Loaded model %r in %.2f s (GPUs %s)", model_id,
                    time.perf_counter() - started, self._gpu_ids or "none")
        return runner

    def info(self) -> list[PluginInfo]:
        """The served models: the base name first, then each variant (same plugin)."""
        base = self._base.info
        return [base] + [
            PluginInfo(
                name=variant,
                languages=base.languages,
                description=f"{base.description} (variant of {base.name})",
                kind=base.kind,
            )
            for variant in self._args.variants
        ]

    def device(self) -> dict[str, Any]:
        """Where this replica runs: Ray's GPU ids, ``CUDA_VISIBLE_DEVICES``, replica id."""
        context = serve.get_replica_context()
        return {
            "replica": context.replica_id.unique_id,
            "gpu_ids": self._gpu_ids,
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "batching": self._args.batching.enabled,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "pid": os.getpid(),
        }

    def check_health(self) -> None:
        """Serve's health check: unhealthy once ``max_stuck_calls`` calls hang.

        Raises:
            RuntimeError: too many timed-out model calls are still running; Serve
                then replaces this replica.
        """
        if self._calls.stuck >= self._args.max_stuck_calls:
            raise RuntimeError(
                f"{self._calls.stuck} model calls timed out and are still running"
            )

    def config(self, model_id: str = "") -> dict[str, Any]:
        """The configuration that serves one served name, as the request archive keeps
        it (``/v1/archive/requests/{id}/full_request``): the application, plugin,
        name, options, batching and the versions of the libraries that ran it."""
        name = model_id or self._args.public_name
        return {
            "name": name,
            "application": serve.get_replica_context().app_name,
            "plugin": self._args.plugin,
            "kind": self._base.info.kind,
            "options": self._args.variant_options(model_id),
            "batching": self._args.batching.model_dump(),
            "versions": library_versions(),
        }

    def stats(self) -> dict[str, Any]:
        """Served names loaded so far, in order, and the last 1000 batch sizes."""
        return {"loads": list(self._loads), "batch_sizes": list(self._batch_sizes)}

    async def process(
        self,
        data: bytes,
        suffix: str,
        reference_text: str | None = None,
        language: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> PluginResult:
        """Run the model on file content.

        Args:
            data: The file's bytes (mp3 for audio, png for images).
            suffix: The file name suffix, e.g. ``".mp3"``.
            reference_text: The expected text, for ASR plugins that can use it
                (``PluginRunner.run_file``).
            language: ISO 639-1 code of the speech, for ASR plugins that take one.
            options: Decoding options (``core.plugins.host.DECODE_OPTIONS``), for ASR
                plugins that take them; the result lists the ones ignored.

        Returns:
            ``AudioProcessingResult`` or ``ImageProcessingResult`` (pickled by Ray
            as it is: no dict round trip).

        Raises:
            The plugin's exception for this input (other requests of the same batch
            are unaffected).
        """
        # Read in the request's context; the batch handler runs in another one.
        model_id = serve.get_multiplexed_model_id()
        item: BatchItem = (data, suffix, reference_text, language, options)
        if self._args.batching.enabled:
            outcome = await self._run_batched((model_id, item))
        else:
            (outcome,) = await self._run(model_id, [item])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def _run_batched(
        self, requests: list[tuple[str, BatchItem]]
    ) -> list[PluginResult | Exception]:
        """``@serve.batch`` handler: one plugin call per served name in the batch."""
        groups: dict[str, list[int]] = defaultdict(list)
        for index, (model_id, _) in enumerate(requests):
            groups[model_id].append(index)
        outcomes: list[PluginResult | Exception] = [None] * len(requests)  # type: ignore[list-item]
        for model_id, indices in groups.items():
            results = await self._run(model_id, [requests[i][1] for i in indices])
            for index, result in zip(indices, results, strict=True):
                outcomes[index] = result
        return outcomes

    async def _run(
        self, model_id: str, items: list[BatchItem]
    ) -> list[PluginResult | Exception]:
        runner = self._base if self._args.is_base(model_id) else await self._variant(model_id)
        async with self._slots:
            self._batch_sizes.append(len(items))
            started = time.perf_counter()
            # A timed-out call raises here and releases the lock; its thread is
            # abandoned (TimedCalls) so the next request is served.
            results = await self._calls.run(runner.run_bytes_batch, items)
            self._metrics.model_call(runner.info.name, len(items), time.perf_counter() - started)
        for result in results:
            if isinstance(result, Exception):
                self._metrics.model_error(runner.info.name)
        return results
