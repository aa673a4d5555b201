"""Schemas of ``/v1/health``."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["HealthResponse", "ReadinessResponse"]


class HealthResponse(BaseModel):
    """Liveness: the process is serving.

    Attributes:
        status: Always ``"ok"``.
        replica: Id of the ingress replica that answered (empty outside Serve).
        uptime_s: Seconds since that replica started.
    """

    status: str
    replica: str
    uptime_s: float


class ReadinessResponse(BaseModel):
    """Readiness: whether every model application is up, and each one's state."""

    ready: bool
    applications: dict[str, str]
