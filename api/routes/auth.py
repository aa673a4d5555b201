"""``/v1/auth``: register, log in (OAuth2 password flow), refresh, revoke, current user.

Access tokens are short-lived JWTs (``access_token_expire_minutes``). Login also
returns a refresh token (``core.stores.tokens``): single use, rotated by
``POST /v1/auth/refresh``, revocable with ``POST /v1/auth/revoke``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, ServicesDep
from api.routes.common import documented
from api.schemas import RegisterResponse, RevokeResponse, Token, User
from api.services import Services
from core.security import create_access_token
from core.stores.tokens import InvalidRefreshToken, RefreshTokenReused
from core.stores.users import UserExistsError, ValidationFailed

__all__ = ["router"]


class _RedactedInputRoute(APIRoute):
    """A route whose validation errors (422) never echo the submitted values.

    FastAPI puts each offending value in the error's ``input``; on these routes a
    value may be a password or a token, so ``input`` is dropped (``loc``, ``msg``
    and ``type`` still say what is wrong).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def redacted(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                errors = [
                    {key: value for key, value in item.items() if key != "input"}
                    for item in error.errors()
                ]
                raise RequestValidationError(errors) from None

        return redacted


router = APIRouter(prefix="/auth", tags=["auth"], route_class=_RedactedInputRoute)

_INVALID_REFRESH = "Invalid or expired refresh token"
_REUSED_REFRESH = "Refresh token already used; its session is revoked, log in again"
_INACTIVE = "Inactive user"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _token_response(services: Services, username: str, refresh_token: str) -> Token:
    lifetime = timedelta(minutes=services.settings.access_token_expire_minutes)
    access_token = create_access_token(
        username, services.jwt_secret, lifetime, services.settings.jwt_algorithm
    )
    return Token(
        access_token=access_token,
        token_type="bearer",
        refresh_token=refresh_token,
        expires_in=int(lifetime.total_seconds()),
    )


def _from_query_or_form(name: str, query: str | None, form: str | None) -> str | None:
    if query is not None and form is not None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            f"Give {name} either as a query parameter or as a form field, not both",
        )
    return form if form is not None else query


_EITHER = "Required, as a query parameter or as a form field."
_OPTIONAL = "Optional, as a query parameter or as a form field."
_SECRET = {"format": "password"}


@router.put(
    "/register",
    response_model=RegisterResponse,
    summary="Register a new user (username, password, email, full name).",
    responses=documented(
        (422, "The username is taken or a field is missing or not acceptable",
         "Username is already taken")
    ),
)
async def register_user(
    services: ServicesDep,
    username: Annotated[str | None, Query(description=_EITHER)] = None,
    password: Annotated[
        str | None,
        Query(
            description=_EITHER + " Prefer the form field: URLs end up in logs.",
            json_schema_extra=_SECRET,
        ),
    ] = None,
    email: Annotated[str | None, Query(description=_OPTIONAL)] = None,
    full_name: Annotated[str | None, Query(description=_OPTIONAL)] = None,
    form_username: Annotated[str | None, Form(alias="username", description=_EITHER)] = None,
    form_password: Annotated[
        str | None, Form(alias="password", description=_EITHER, json_schema_extra=_SECRET)
    ] = None,
    form_email: Annotated[str | None, Form(alias="email", description=_OPTIONAL)] = None,
    form_full_name: Annotated[
        str | None, Form(alias="full_name", description=_OPTIONAL)
    ] = None,
) -> RegisterResponse:
    """Parameters: **username**, **password**, optional **email** and **full_name**,
    as query parameters (the spec) or as an ``application/x-www-form-urlencoded``
    body (keeps the password out of URLs). Each field may come from either, not both.

    Usernames are 3-64 letters, digits, ``_ . @ -``; passwords at least
    ``min_password_length`` characters (8 by default) and at most 1024; e-mails like
    ``name@example.org``, at most 254 characters; full names at most 128 characters.
    Every field is checked before the username is looked up, so the only answer that
    depends on other users is "Username is already taken". The password is stored
    only as an Argon2id hash and never appears in a response.
    """
    username = _from_query_or_form("username", username, form_username)
    password = _from_query_or_form("password", password, form_password)
    email = _from_query_or_form("email", email, form_email) or None
    full_name = _from_query_or_form("full_name", full_name, form_full_name) or None
    if username is None or password is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "username and password are required, as query parameters or as form fields",
        )
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
    summary="Log in and get a bearer access token and a refresh token.",
    responses=documented((401, "Incorrect username or password", "Incorrect username or password")),
)
async def login_for_access_token(
    services: ServicesDep, form_data: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password flow: form fields **username** and **password**.

    Returns ``access_token`` (valid ``expires_in`` seconds) and ``refresh_token``
    (valid ``refresh_token_expire_days`` days, single use: see ``/v1/auth/refresh``).
    """
    user = await services.users.authenticate(form_data.username, form_data.password)
    if user is None:
        raise _unauthorized("Incorrect username or password")
    refresh_token = await services.tokens.issue(user.username)
    return _token_response(services, user.username, refresh_token)


@router.post(
    "/refresh",
    response_model=Token,
    summary="Renew the access token with a refresh token (which is rotated).",
    responses=documented(
        (400, "The user is disabled", _INACTIVE),
        (401, "The refresh token is invalid, expired, revoked or already used",
         _INVALID_REFRESH),
    ),
)
async def refresh_access_token(
    services: ServicesDep,
    refresh_token: Annotated[
        str, Form(min_length=1, description="The refresh token from the last login or refresh.")
    ],
    # Optional, but never null: a form field cannot carry a null (only be left out).
    grant_type: Annotated[
        str, Form(pattern="^refresh_token$", description="`refresh_token` if given.")
    ] = "refresh_token",
) -> Token:
    """RFC 6749 section 6: form fields **grant_type** ``refresh_token`` and
    **refresh_token**. Returns a new access token *and a new refresh token*; the one
    sent is invalid from now on. Sending an already used refresh token revokes its
    whole session (RFC 9700 section 4.14.2, refresh token reuse detection): every
    refresh token of that login stops working and the user must log in again.

    Errors: 401 "Invalid or expired refresh token" (malformed, expired, signed with
    another key, not a refresh token, revoked, or superseded); 401 "Refresh token
    already used; ..." on reuse; 400 "Inactive user" for a disabled user (whose
    session is then revoked).
    """
    tokens = services.tokens
    try:
        claims = tokens.verify(refresh_token)
    except InvalidRefreshToken:
        raise _unauthorized(_INVALID_REFRESH) from None
    user = await services.users.get(claims.username)
    if user is None or user.disabled:
        await tokens.revoke(claims)
        if user is None:
            raise _unauthorized(_INVALID_REFRESH)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, _INACTIVE)
    try:
        new_refresh_token = await tokens.rotate(claims)
    except RefreshTokenReused:
        raise _unauthorized(_REUSED_REFRESH) from None
    except InvalidRefreshToken:
        raise _unauthorized(_INVALID_REFRESH) from None
    return _token_response(services, user.username, new_refresh_token)


@router.post(
    "/revoke",
    response_model=RevokeResponse,
    summary="Log out: revoke a refresh token and every token of its session.",
)
async def revoke_token(
    services: ServicesDep,
    token: Annotated[str, Form(min_length=1, description="The refresh token to revoke.")],
    token_type_hint: Annotated[
        str | None, Form(description="Ignored; only refresh tokens can be revoked.")
    ] = None,
) -> RevokeResponse:
    """Token revocation as in RFC 7009: form field **token** (a refresh token).

    Revokes the token's whole session (its token family), so neither it nor any
    refresh token rotated from it works afterwards. Answers 200 whether or not the
    token was valid (RFC 7009 section 2.2). Access tokens cannot be revoked: they
    expire after ``access_token_expire_minutes`` (15 by default).
    """
    try:
        claims = services.tokens.verify(token)
    except InvalidRefreshToken:
        pass
    else:
        await services.tokens.revoke(claims)
    return RevokeResponse(text="Token revoked")


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
