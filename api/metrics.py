"""What the service records, as a protocol the HTTP layer and the task pipeline write to.

``serve_app.metrics.ServiceMetrics`` implements it with Ray's metrics API inside
replicas; :class:`NullMetrics` records nothing (tests, plain FastAPI). Units: seconds.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Metrics", "NullMetrics"]


class Metrics(Protocol):
    """What the service records; ``ServiceMetrics`` and ``NullMetrics`` implement it."""

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None: ...
    def task_stage(self, kind: str, stage: str, seconds: float) -> None: ...
    def task_finished(self, kind: str, status: str) -> None: ...
    def tasks_in_flight(self, count: int) -> None: ...
    def queue_depth(self, pending: int, delivered: int) -> None: ...
    def model_call(self, model: str, batch_size: int, seconds: float) -> None: ...
    def model_error(self, model: str) -> None: ...


class NullMetrics:
    """Records nothing (used outside Ray)."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args, **kwargs: None
