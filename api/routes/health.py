"""``/v1/health``: liveness and readiness probes (no auth, for load balancers and k8s)."""

from __future__ import annotations

import time

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.schemas import HealthResponse, ReadinessResponse

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/liveness", response_model=HealthResponse, summary="The API process is serving.")
async def liveness(services: ServicesDep) -> HealthResponse:
    """200 while the ingress answers; says nothing about models or Redis. Gives the
    answering replica's id and its uptime in seconds (a restart resets both)."""
    return HealthResponse(
        status="ok",
        replica=services.instance,
        uptime_s=round(time.monotonic() - services.started_at, 3),
    )


@router.get(
    "/readiness",
    response_model=ReadinessResponse,
    responses={503: {"model": ReadinessResponse, "description": "Not ready yet."}},
    summary="Every model application is up and Redis answers.",
)
async def readiness(services: ServicesDep) -> JSONResponse:
    """200 when every model application has a running replica and Redis answers PING,
    else 503 with the state of each application."""
    state = await services.readiness()
    applications = dict(state.applications)
    try:
        redis_ok = bool(await services.redis.ping())
    except Exception:  # noqa: BLE001 - any Redis failure means not ready
        redis_ok = False
    applications["redis"] = "ok" if redis_ok else "unreachable"
    ready = state.ready and redis_ok
    body = ReadinessResponse(ready=ready, applications=applications)
    return JSONResponse(
        body.model_dump(),
        status_code=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
    )
