"""Service settings from the environment: secrets, URLs, limits.

Deployment topology and model options are not here: they live in the typed
application arguments of ``configs/serve.yaml`` (``serve_app.config.AppArgs``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        access_token_expire_minutes: Lifetime of an access token, in minutes.
        data_dir: Folder for uploaded and derived files (must be shared by all
            nodes of a multi-node cluster, e.g. an NFS or CSI volume).
        key_prefix: Prefix of every Redis key this service writes.
        max_upload_bytes: Largest accepted upload, in bytes.
        max_audio_duration_s: Longest accepted recording, in seconds.
        max_image_pixels: Largest accepted image area, in pixels (width * height).
        min_password_length: Shortest accepted password, in characters.
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
    access_token_expire_minutes: int = Field(default=30, gt=0)
    data_dir: Path = Path(".data/files")
    key_prefix: str = "fmr:"
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    max_audio_duration_s: float = Field(default=30 * 60, gt=0)
    max_image_pixels: int = Field(default=50_000_000, gt=0)
    min_password_length: int = Field(default=8, ge=1)

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

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Ray workers may start in another working directory than the driver.
        return value.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process from the environment."""
    return Settings()
