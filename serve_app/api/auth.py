"""``/v1/auth``: register, log in (OAuth2 password flow), current user."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from core.security import create_access_token
from core.users import UserExistsError, ValidationFailed
from serve_app.api.common import documented
from serve_app.deps import CurrentUser, ServicesDep
from serve_app.schemas import RegisterResponse, Token, User

router = APIRouter(prefix="/auth", tags=["auth"])


@router.put(
    "/register",
    response_model=RegisterResponse,
    summary="Register a new user (username, password, email, full name).",
    responses=documented(
        (422, "The username is taken or a field is not acceptable", "Username is already taken")
    ),
)
async def register_user(
    services: ServicesDep,
    username: str,
    password: str,
    email: str | None = None,
    full_name: str | None = None,
) -> RegisterResponse:
    """Parameters: **username**, **password**, optional **email** and **full_name**.

    The password is stored only as an Argon2id hash.
    """
    try:
        await services.users.register(username, password, email, full_name)
    except UserExistsError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "Username is already taken"
        ) from None
    except ValidationFailed as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(error)) from None
    return RegisterResponse(text="Registered successfully")


@router.post(
    "/token",
    response_model=Token,
    summary="Log in and get a bearer access token.",
    responses=documented((401, "Incorrect username or password", "Incorrect username or password")),
)
async def login_for_access_token(
    services: ServicesDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: form fields **username** and **password**."""
    user = await services.users.authenticate(form_data.username, form_data.password)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = create_access_token(
        user.username,
        services.jwt_secret,
        timedelta(minutes=services.settings.access_token_expire_minutes),
        services.settings.jwt_algorithm,
    )
    return Token(access_token=token, token_type="bearer")


@router.get(
    "/users/me",
    response_model=User,
    summary="The current user.",
    responses=documented(
        (400, "User is inactive", "Inactive user"),
        (401, "Could not validate credentials", "Could not validate credentials"),
    ),
)
async def read_users_me(user: CurrentUser) -> User:
    return User.model_validate(user.model_dump())
