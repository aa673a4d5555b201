"""The objects request handlers work with, built once per ingress replica."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from api.settings import Settings
from core.plugins import AudioProcessingResult, PluginInfo, PluginKind
from core.stores.connection import connect
from core.stores.files import FileStore
from core.stores.tasks import TaskStore
from core.stores.tokens import RefreshTokenStore
from core.stores.users import UserStore
from core.uploads.remote import Resolver

__all__ = [
    "ModelCatalog",
    "Readiness",
    "Services",
    "SpeechGateway",
    "StaticCatalog",
    "always_ready",
]


@dataclass(frozen=True)
class Readiness:
    """Whether the service can do its work (``GET /v1/health/readiness``).

    Attributes:
        ready: True when every model application has a running replica and no
            application is still being built or has failed.
        applications: Application name -> its state, e.g. ``"RUNNING, 1 replica"``.
    """

    ready: bool
    applications: dict[str, str] = field(default_factory=dict)


async def always_ready() -> Readiness:
    """Readiness of a service without model applications to wait for (tests)."""
    return Readiness(ready=True)


class ModelCatalog(Protocol):
    """The models being served, as the API lists and checks them.

    ``serve_app.discovery.ModelDirectory`` implements it over the running model
    applications (its one cache, ``ttl_s``); :class:`StaticCatalog` is a fixed list.
    """

    async def list(self, kind: PluginKind) -> list[PluginInfo]:
        """Models of one kind (``"audio"`` or ``"image"``)."""
        ...

    async def has(self, kind: PluginKind, name: str) -> bool:
        """Whether a model of that kind and name is served."""
        ...


class StaticCatalog:
    """A fixed list of models (tests, or an ingress run without model hosts)."""

    def __init__(self, infos: Sequence[PluginInfo]) -> None:
        self._infos = list(infos)

    async def list(self, kind: PluginKind) -> list[PluginInfo]:
        return [info for info in self._infos if info.kind == kind]

    async def has(self, kind: PluginKind, name: str) -> bool:
        return any(info.name == name for info in await self.list(kind))


class SpeechGateway(Protocol):
    """Runs a served ASR model on audio bytes now, outside the task queue (live
    streaming, ``WS /v1/audio/stream``). ``serve_app`` implements it over the model
    applications' handles; tests pass a plain object."""

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
        """Transcribe one file's content (``suffix`` e.g. ``".wav"``).

        Raises:
            LookupError: no audio model of that name is served.
            RuntimeError: the model failed on this input (message safe for users).
        """
        ...


@dataclass
class Services:
    """Per-replica service objects; FastAPI dependencies hand them to routes.

    ``tokens`` (refresh tokens) is built from the others: Redis, the key prefix, the
    signing secret and ``settings.refresh_token_expire_days``.
    """

    settings: Settings
    redis: Redis
    users: UserStore
    files: FileStore
    tasks: TaskStore
    models: ModelCatalog
    jwt_secret: str
    readiness: Callable[[], Awaitable[Readiness]] = always_ready
    instance: str = ""
    #: Live transcription for streaming; None where no model is reachable (tests).
    speech: SpeechGateway | None = None
    #: Resolves media URL host names (``core.uploads.remote``); None: the system's.
    url_resolver: Resolver | None = None
    started_at: float = field(default_factory=time.monotonic)
    tokens: RefreshTokenStore = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = RefreshTokenStore(
            self.redis,
            self.settings.key_prefix,
            self.jwt_secret,
            ttl_s=self.settings.refresh_token_expire_days * 24 * 3600,
            algorithm=self.settings.jwt_algorithm,
        )

    @classmethod
    async def create(
        cls,
        settings: Settings,
        models: ModelCatalog,
        readiness: Callable[[], Awaitable[Readiness]] = always_ready,
        instance: str = "",
        redis: Redis | None = None,
    ) -> Services:
        """Connect to Redis (unless a client is given) and resolve the signing secret."""
        if redis is None:
            redis = connect(settings.redis_url)
        users = UserStore(redis, settings.key_prefix, settings.min_password_length)
        configured = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        return cls(
            settings=settings,
            redis=redis,
            users=users,
            files=FileStore(
                redis, settings.key_prefix, settings.data_dir, settings.object_store()
            ),
            tasks=TaskStore(redis, settings.key_prefix),
            models=models,
            jwt_secret=await users.signing_secret(configured),
            readiness=readiness,
            instance=instance,
        )

    async def close(self) -> None:
        await self.redis.aclose()
