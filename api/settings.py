"""Service settings from the environment: secrets, URLs, limits.

Deployment topology and model options are not here: they live in the typed
application arguments of ``configs/serve.yaml`` (``serve_app.args.AppArgs``).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.stores.objects import ObjectStore, object_store
from core.stores.rate_limits import parse_limits

__all__ = ["Settings", "get_settings"]

#: Minimum length of a configured JWT signing secret. RFC 7518 section 3.2 requires
#: an HS256 key of at least 256 bits; 32 characters of a random string is the floor.
MIN_JWT_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Environment configuration (prefix ``FMR_``; ``REDIS_URL`` is accepted as is).

    Attributes:
        redis_url: Redis holding users, file metadata, tasks and the task queue.
        jwt_secret: HS256 signing key. When unset, a random key is generated once and
            kept in Redis, so every ingress replica signs with the same key.
        access_token_expire_minutes: Lifetime of an access token, in minutes (short:
            access tokens are not revocable; clients renew them with a refresh token).
        refresh_token_expire_days: Lifetime of a refresh token, in days; each use
            rotates it and the new one gets a full lifetime (``core.stores.tokens``).
        data_dir: Folder for uploaded and derived files. Without ``storage_url`` it
            is the store itself and must be shared by all nodes of a multi-node
            cluster (an NFS or CSI volume); with it, each node's own working copy.
        storage_url: Where file bytes are kept: ``s3://bucket/prefix`` for any
            S3-compatible store (credentials and region from the standard ``AWS_*``
            variables), or unset for ``data_dir`` alone (``core.stores.objects``).
        s3_endpoint_url: The S3 endpoint of MinIO, SeaweedFS...; unset for AWS.
        working_copy_max_bytes: With ``storage_url``, the size each node's working
            copy in ``data_dir`` is kept under, in bytes: the least recently used
            files beyond it are deleted every minute (fetched again when needed;
            files used in the last hour stay). Ignored without ``storage_url``.
        download_redirect_min_bytes: With ``storage_url``, downloads of files of at
            least this many bytes answer 307 with a presigned URL of the object
            instead of passing the bytes through the API; unset (the default): never.
            The clients must reach the store's endpoint.
        download_url_ttl_s: Lifetime of such a URL, in seconds (at most 7 days, S3's
            limit for presigned URLs).
        key_prefix: Prefix of every Redis key this service writes.
        max_upload_bytes: Largest accepted upload, in bytes.
        max_audio_duration_s: Longest accepted recording, in seconds.
        max_image_pixels: Largest accepted image area, in pixels (width * height).
        max_body_bytes: Largest accepted request body other than an upload (JSON,
            forms), in bytes; bigger ones get 413 before they are read in full.
        decode_timeout_s: Time budget of ffmpeg/ffprobe on one audio upload, in
            seconds; past it the decoder is killed and the upload refused with 422.
        max_text_words: Most words (whitespace-separated) in the reference text of a
            comparison or in the phrases of an extraction; more gets 422.
        min_password_length: Shortest accepted password, in characters.
        rate_limit_enabled: Whether requests are rate limited (``core.stores.rate_limits``;
            counters live in Redis, so limits hold across ingress replicas).
        rate_limit_auth: Limit of the anonymous account endpoints (register, log in,
            refresh), per client address, in ``limits`` notation (``"60/minute"``;
            several separated by ``;``). Log-ins cost an Argon2id hash each.
        rate_limit_upload: Limit of audio and image uploads, per user.
        rate_limit_task: Limit of task creation (process, extract, compare), per user.
        rate_limit_read: Limit of every other limited request (status polls, results,
            downloads, model lists, the current user), per user; requests without a
            valid token count per client address. Health probes and the docs are
            never limited.
        trusted_proxies: Addresses or CIDR networks (comma-separated in the
            environment) of the reverse proxies / load balancers in front of the API.
            Only a connection from one of them has its ``X-Forwarded-For`` honoured
            (right-most untrusted address). Empty (the default): the header is never
            used. Serve's own HTTP proxy must not rewrite it either: see
            ``docs/operations.md`` (``FORWARDED_ALLOW_IPS``).
    """

    model_config = SettingsConfigDict(env_prefix="FMR_", extra="ignore")

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("FMR_REDIS_URL", "REDIS_URL"),
    )
    jwt_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FMR_JWT_SECRET", "JWT_SECRET")
    )
    jwt_algorithm: str = "HS256"
    access_token_expire_minutes: int = Field(default=15, gt=0)
    refresh_token_expire_days: int = Field(default=14, gt=0)
    data_dir: Path = Path(".data/files")
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    working_copy_max_bytes: int = Field(default=2 * 1024**3, gt=0)
    download_redirect_min_bytes: int | None = Field(default=None, ge=0)
    download_url_ttl_s: int = Field(default=300, gt=0, le=7 * 24 * 3600)
    key_prefix: str = "fmr:"
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_audio_duration_s: float = Field(default=30 * 60, gt=0)
    max_image_pixels: int = Field(default=50_000_000, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    decode_timeout_s: float = Field(default=60.0, gt=0)
    max_text_words: int = Field(default=10_000, gt=0)
    min_password_length: int = Field(default=8, ge=1)
    # Defaults: see docs/operations.md ("Rate limits") for how they were sized.
    rate_limit_enabled: bool = True
    rate_limit_auth: str = "60/minute"
    rate_limit_upload: str = "600/minute"
    rate_limit_task: str = "600/minute"
    rate_limit_read: str = "6000/minute"
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"JWT secret must be at least {MIN_JWT_SECRET_LENGTH} characters; "
                "unset it to let the service generate one"
            )
        return value

    @field_validator("jwt_algorithm")
    @classmethod
    def _hmac_only(cls, value: str) -> str:
        if value not in {"HS256", "HS384", "HS512"}:
            raise ValueError("jwt_algorithm must be one of HS256, HS384, HS512")
        return value

    @field_validator("rate_limit_auth", "rate_limit_upload", "rate_limit_task", "rate_limit_read")
    @classmethod
    def _limit_notation(cls, value: str) -> str:
        parse_limits(value)
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _ip_networks(cls, value: list[str]) -> list[str]:
        # Normalised ("10.0.0.1/8" -> "10.0.0.0/8"): uvicorn would take an address
        # with host bits set as a literal name and silently trust nothing.
        try:
            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        except ValueError as error:
            raise ValueError(f"trusted_proxies takes IP addresses or networks: {error}") from None

    def object_store(self) -> ObjectStore | None:
        """The configured object store, or None when ``data_dir`` alone holds the files.

        Raises:
            ValueError: ``storage_url`` is not ``s3://bucket/...`` or a folder.
        """
        if not self.storage_url:
            return None
        options = {"endpoint_url": self.s3_endpoint_url} if self.s3_endpoint_url else {}
        return object_store(self.storage_url, **options)

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Ray workers may start in another working directory than the driver.
        return value.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
