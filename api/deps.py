"""FastAPI dependencies: services, the current user. JWT decoding lives here.

An access token is decoded once per request: :func:`token_subject` keeps the outcome
in the request's ASGI scope (``scope["state"]``, which is ``request.state``), so the
rate limiter (``api.middleware.rate_limit``), which runs first, and the
``CurrentUser`` dependency share one verification.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from starlette.types import Scope

from api.services import Services
from core.security import InvalidTokenError, decode_access_token
from core.stores.users import User

__all__ = [
    "CurrentUser",
    "ServicesDep",
    "get_current_active_user",
    "oauth2_scheme",
    "token_subject",
]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token")


#: Key of the verified token in ``scope["state"]``: ``(token, username or None)``.
_VERIFIED = "fmr_verified_token"


def token_subject(scope: Scope, token: str, services: Services) -> str | None:
    """The username an access token names, or None when it is not valid; decoded at
    most once per request (the outcome is kept in ``scope["state"]``).

    Args:
        scope: The request's ASGI scope.
        token: The bearer token, without the ``Bearer`` scheme.
        services: Holds the signing secret and algorithm.
    """
    state = scope.setdefault("state", {})
    verified = state.get(_VERIFIED)
    if verified is not None and verified[0] == token:
        return verified[1]
    try:
        username: str | None = decode_access_token(
            token, services.jwt_secret, services.settings.jwt_algorithm
        )
    except InvalidTokenError:
        username = None
    state[_VERIFIED] = (token, username)
    return username


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop on
    # every request (measured: about 4 % of the ingress replica's CPU under load).
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_current_user(
    request: Request, token: Annotated[str, Depends(oauth2_scheme)], services: ServicesDep
) -> User:
    """The user named by a valid bearer token.

    Raises:
        HTTPException: 401 "Could not validate credentials" for a malformed or
            expired token, one signed with another key or algorithm (``alg: none``
            included), a refresh token, or an unknown user.
    """
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    username = token_subject(request.scope, token, services)
    if username is None:
        raise unauthorized
    user = await services.users.get(username)
    if user is None:
        raise unauthorized
    return user


async def get_current_active_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The current user, refused with 400 "Inactive user" when disabled."""
    if user.disabled:
        raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="Inactive user")
    return user


CurrentUser = Annotated[User, Depends(get_current_active_user)]
