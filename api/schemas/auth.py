"""Schemas of ``/v1/auth``: accounts and tokens."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["RegisterResponse", "RevokeResponse", "Token", "User"]


class RegisterResponse(BaseModel):
    text: str


class Token(BaseModel):
    """A bearer access token and the refresh token that renews it (RFC 6749 section 5.1).

    ``refresh_token`` and ``expires_in`` are additive to the spec's two fields.
    """

    access_token: str
    token_type: str
    refresh_token: str = Field(
        description="Single-use token for `POST /v1/auth/refresh`; each use returns a "
        "new one and invalidates it. Reusing an old one revokes the whole session."
    )
    expires_in: int = Field(description="Seconds until `access_token` expires.")


class RevokeResponse(BaseModel):
    text: str


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool | None = None
