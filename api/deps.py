"""FastAPI dependencies: services, the current user. JWT decoding lives here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from api.services import Services
from core.security import InvalidTokenError, decode_access_token
from core.stores.users import User

__all__ = ["CurrentUser", "ServicesDep", "get_current_active_user", "oauth2_scheme"]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token")


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], services: ServicesDep
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
    try:
        username = decode_access_token(token, services.jwt_secret, services.settings.jwt_algorithm)
    except InvalidTokenError:
        raise unauthorized from None
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
