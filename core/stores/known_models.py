"""The model names each model application served last, kept in Redis.

A model application answers "which names do you serve?" only while a replica of it
runs. When a node is lost, the pipeline replica and the model replica can die
together; the new pipeline replica would then not know that the restarting
application serves the model a queued task names, and would fail the task as if the
model did not exist. This record lets every new replica (pipeline or ingress) know
the names of applications that are deployed but have no running replica yet.

One hash ``{prefix}known-models``: field = application name, value = JSON list of
that application's ``PluginInfo`` (name, languages, description, kind), in the
order the application listed them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.plugins import PluginInfo

__all__ = ["KnownModels"]

logger = logging.getLogger(__name__)


class KnownModels:
    """Application name -> the ``PluginInfo`` list it served last, in Redis.

    Best effort: a Redis error is logged and read as "nothing known" (the caller then
    waits for the application's replicas instead), never raised.

    Args:
        redis: Asyncio Redis client (``decode_responses=True``).
        prefix: Key prefix shared by the service.
    """

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self.key = f"{prefix}known-models"

    async def load(self) -> dict[str, list[PluginInfo]]:
        """Every recorded application's models; ``{}`` if Redis cannot be read."""
        try:
            raw = await self._redis.hgetall(self.key)
        except RedisError:
            logger.warning("Could not read the known model names", exc_info=True)
            return {}
        known: dict[str, list[PluginInfo]] = {}
        for app, value in raw.items():
            try:
                known[app] = [PluginInfo(**item) for item in json.loads(value)]
            except (TypeError, ValueError):
                logger.warning("Ignoring a malformed record of application %r", app)
        return known

    async def save(self, app: str, infos: list[PluginInfo]) -> None:
        """Record what ``app`` serves now."""
        value = json.dumps([dataclasses.asdict(info) for info in infos])
        try:
            await self._redis.hset(self.key, app, value)
        except RedisError:
            logger.warning("Could not record the models of %r", app, exc_info=True)

    async def forget(self, apps: Iterable[str]) -> None:
        """Drop applications that are no longer deployed."""
        names = list(apps)
        if not names:
            return
        try:
            await self._redis.hdel(self.key, *names)
        except RedisError:
            logger.warning("Could not forget the models of %s", names, exc_info=True)
