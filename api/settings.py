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
        retention_days: Days a request's records and files are kept: every task
            (with the segments it cut) and every file older than that is deleted by
            an hourly sweep of the pipeline replicas (``core.stores.archive``).
            0 keeps everything forever.
        wait_timeout_s: Longest a ``wait=true`` task creation (and
            ``/v1/audio/transcriptions``) waits for the result, in seconds; past it
            the answer is the task id with ``state: PENDING``.
        url_fetch_timeout_s: Time cap of fetching one media URL (``upload_url``,
            ``media_urls``), redirects included, in seconds. Its size cap is
            ``max_upload_bytes``.
        url_max_redirects: Redirects followed when fetching a media URL.
        url_hosts: Fixed addresses of media URL host names (``name=address``,
            comma-separated in the environment), looked up before DNS, e.g. for a
            host an air-gapped deployment reaches by a pinned address. Still checked
            like any address (``url_allowlist``).
        url_dns: Whether media URL host names not in ``url_hosts`` are resolved
            with DNS; false: only literal addresses and ``url_hosts`` names work.
        url_allowlist: Addresses or CIDR networks (comma-separated in the
            environment) that media URLs may point at although they are loopback,
            private, link-local or otherwise not public (``core.uploads.remote``).
            Empty (the default): only public addresses.
        stream_max_duration_s: Longest live stream (``WS /v1/audio/stream``), seconds
            of audio. ``stream_max_message_bytes``: largest message, bytes.
            ``stream_min_chunk_s``: new audio (seconds) before the window is decoded
            again; ``stream_buffer_trim_s``: window length (seconds) past which it is
            trimmed at a committed segment (``core.streaming``).
            ``stream_idle_timeout_s`` / ``stream_auth_timeout_s``: longest wait for a
            message / for the token, seconds.
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
    retention_days: float = Field(default=30.0, ge=0)
    wait_timeout_s: float = Field(default=30.0, gt=0, le=600)
    url_fetch_timeout_s: float = Field(default=30.0, gt=0, le=600)
    url_max_redirects: int = Field(default=5, ge=0, le=20)
    url_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)
    url_hosts: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    url_dns: bool = True
    stream_max_duration_s: float = Field(default=600.0, gt=0)
    stream_max_message_bytes: int = Field(default=1024 * 1024, gt=0)
    stream_min_chunk_s: float = Field(default=1.0, gt=0, le=10)
    stream_buffer_trim_s: float = Field(default=15.0, gt=0, le=28)
    stream_idle_timeout_s: float = Field(default=30.0, gt=0)
    stream_auth_timeout_s: float = Field(default=10.0, gt=0)

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

    @field_validator("trusted_proxies", "url_allowlist", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies", "url_allowlist")
    @classmethod
    def _ip_networks(cls, value: list[str]) -> list[str]:
        # Normalised ("10.0.0.1/8" -> "10.0.0.0/8"): uvicorn would take an address
        # with host bits set as a literal name and silently trust nothing.
        try:
            return [str(ipaddress.ip_network(item, strict=False)) for item in value]
        except ValueError as error:
            raise ValueError(f"takes IP addresses or networks: {error}") from None

    @field_validator("url_hosts", mode="before")
    @classmethod
    def _host_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [item.strip() for item in value.split(",") if item.strip()]
            if any("=" not in pair for pair in pairs):
                raise ValueError("url_hosts takes name=address pairs, comma-separated")
            return dict(pair.split("=", 1) for pair in pairs)
        return value

    @field_validator("url_hosts")
    @classmethod
    def _host_addresses(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            return {
                name.strip().lower(): str(ipaddress.ip_address(address.strip()))
                for name, address in value.items()
            }
        except ValueError as error:
            raise ValueError(f"url_hosts takes IP addresses: {error}") from None

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
