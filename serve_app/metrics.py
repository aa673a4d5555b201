"""The service's Prometheus metrics, through Ray's metrics API (``ray.serve.metrics``).

Why Ray's API and not a ``/metrics`` route of our own: replicas of one deployment run
in many processes on many nodes; Ray's metrics agent on each node collects every
process's metrics and exposes them on the node's metrics export port
(``ray start --metrics-export-port``; Ray writes a Prometheus file-SD list of the
nodes to ``/tmp/ray/prom_metrics_service_discovery.json`` on the head node). Serve's
wrappers add ``application``, ``deployment`` and ``replica`` tags. Prometheus sees
the names below prefixed with ``ray_`` (counters also get ``_total``), e.g.
``ray_fmr_http_requests_total``. See ``docs/operations.md``.

Metric objects are created lazily inside replicas (``get_metrics()``); outside Ray
(unit tests, plain FastAPI) ``api.metrics.NullMetrics`` records nothing. ``ServiceMetrics``
implements the ``api.metrics.Metrics`` protocol.
"""

from __future__ import annotations

import functools

from api.metrics import Metrics, NullMetrics

__all__ = [
    "LATENCY_BUCKETS_S",
    "BATCH_SIZE_BUCKETS",
    "ServiceMetrics",
    "get_metrics",
]

#: Histogram bounds for latencies, in seconds: 5 ms (status polls) to 10 min (long tasks).
LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
#: Histogram bounds for batch sizes (requests per model call).
BATCH_SIZE_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]


class ServiceMetrics:
    """Ray metrics of the service. Create inside a Ray worker (a replica).

    Names (before Ray's ``ray_`` prefix), tags, units:
      * ``fmr_http_requests{route, method, status}``: counter of API responses;
        ``route`` is the path template (``/v1/task/status``), not the raw path.
      * ``fmr_http_request_duration_seconds{route, method}``: histogram, seconds.
      * ``fmr_task_duration_seconds{kind, stage}``: histogram, seconds; stage is
        ``asr``, ``ocr``, ``matching`` or ``total`` (queue wait excluded).
      * ``fmr_tasks_finished{kind, status}``: counter; status ``completed``/``failed``.
      * ``fmr_tasks_in_flight``: gauge, tasks a pipeline replica is running.
      * ``fmr_task_queue_depth{state}``: gauge; ``pending`` = queued, not taken yet,
        ``delivered`` = taken by a worker, not yet acknowledged.
      * ``fmr_model_batch_size{model}``: histogram of requests per model call.
      * ``fmr_model_inference_seconds{model}``: histogram, seconds per model call.
      * ``fmr_model_errors{model}``: counter of failed model requests.
    """

    def __init__(self) -> None:
        from ray.serve import metrics

        self._requests = metrics.Counter(
            "fmr_http_requests",
            description="API responses by route template, method and status code.",
            tag_keys=("route", "method", "status"),
        )
        self._request_seconds = metrics.Histogram(
            "fmr_http_request_duration_seconds",
            description="API response time in seconds.",
            boundaries=LATENCY_BUCKETS_S,
            tag_keys=("route", "method"),
        )
        self._stage_seconds = metrics.Histogram(
            "fmr_task_duration_seconds",
            description="Task time in seconds by task kind and stage (asr, ocr, matching, total).",
            boundaries=LATENCY_BUCKETS_S,
            tag_keys=("kind", "stage"),
        )
        self._finished = metrics.Counter(
            "fmr_tasks_finished",
            description="Tasks that reached a terminal status.",
            tag_keys=("kind", "status"),
        )
        self._in_flight = metrics.Gauge(
            "fmr_tasks_in_flight", description="Tasks a pipeline replica is running."
        )
        self._queue = metrics.Gauge(
            "fmr_task_queue_depth",
            description="Task queue entries: pending (not taken) and delivered (unacknowledged).",
            tag_keys=("state",),
        )
        self._batch = metrics.Histogram(
            "fmr_model_batch_size",
            description="Requests per model call (1 when batching is off).",
            boundaries=BATCH_SIZE_BUCKETS,
            tag_keys=("model",),
        )
        self._inference = metrics.Histogram(
            "fmr_model_inference_seconds",
            description="Seconds per model call (one batch).",
            boundaries=LATENCY_BUCKETS_S,
            tag_keys=("model",),
        )
        self._model_errors = metrics.Counter(
            "fmr_model_errors",
            description="Model requests that raised.",
            tag_keys=("model",),
        )

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._requests.inc(tags={"route": route, "method": method, "status": str(status)})
        self._request_seconds.observe(seconds, tags={"route": route, "method": method})

    def task_stage(self, kind: str, stage: str, seconds: float) -> None:
        self._stage_seconds.observe(seconds, tags={"kind": kind, "stage": stage})

    def task_finished(self, kind: str, status: str) -> None:
        self._finished.inc(tags={"kind": kind, "status": status})

    def tasks_in_flight(self, count: int) -> None:
        self._in_flight.set(count)

    def queue_depth(self, pending: int, delivered: int) -> None:
        self._queue.set(pending, tags={"state": "pending"})
        self._queue.set(delivered, tags={"state": "delivered"})

    def model_call(self, model: str, batch_size: int, seconds: float) -> None:
        self._batch.observe(batch_size, tags={"model": model})
        self._inference.observe(seconds, tags={"model": model})

    def model_error(self, model: str) -> None:
        self._model_errors.inc(tags={"model": model})


@functools.lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    """The process's metrics: ``ServiceMetrics`` inside Ray, else ``NullMetrics``."""
    import ray

    if not ray.is_initialized():
        return NullMetrics()
    return ServiceMetrics()
