"""A fake of the service's auth and task endpoints for ``httpx.MockTransport``.

It issues numbered tokens (access ``a1``, ``a2``...; refresh ``r1``, ``r2``...) and,
like the service, treats refresh tokens as single use: a reused one revokes its whole
session (every token issued from that login stops working).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@dataclass
class FakeAPI:
    """Routes ``(method, path)`` to handlers; records every request."""

    expires_in: int = 900
    users: dict[str, str] = field(default_factory=lambda: {"alice": "secret-pw"})
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    valid_access: set[str] = field(default_factory=set)
    #: refresh token -> session id; used ones are in ``spent``.
    refresh_tokens: dict[str, int] = field(default_factory=dict)
    spent: set[str] = field(default_factory=set)
    revoked_sessions: set[int] = field(default_factory=set)
    refreshes: list[str] = field(default_factory=list)
    counter: int = 0
    sessions: int = 0

    def __post_init__(self) -> None:
        self.routes[("POST", "/v1/auth/token")] = self._token
        self.routes[("POST", "/v1/auth/refresh")] = self._refresh
        self.routes[("GET", "/v1/auth/users/me")] = lambda r: httpx.Response(
            200, json={"username": "alice"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def async_transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def route(self, method: str, path: str, handler: Handler | dict | list) -> None:
        if not callable(handler):
            body = handler
            handler = lambda request: httpx.Response(200, json=body)  # noqa: E731
        self.routes[(method, path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"detail": "Not Found"})
        if not request.url.path.startswith("/v1/auth/") or request.url.path.endswith("/me"):
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if token not in self.valid_access:
                return httpx.Response(401, json={"detail": "Could not validate credentials"},
                                      headers={"WWW-Authenticate": "Bearer"})
        return handler(request)

    def expire_access_tokens(self) -> None:
        self.valid_access.clear()

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def _issue(self, session: int) -> httpx.Response:
        self.counter += 1
        access, refresh = f"a{self.counter}", f"r{self.counter}"
        self.valid_access.add(access)
        self.refresh_tokens[refresh] = session
        return httpx.Response(200, json={"access_token": access, "token_type": "bearer",
                                         "refresh_token": refresh,
                                         "expires_in": self.expires_in})

    def _token(self, request: httpx.Request) -> httpx.Response:
        data = form(request)
        if self.users.get(data.get("username", "")) != data.get("password"):
            return httpx.Response(401, json={"detail": "Incorrect username or password"})
        self.sessions += 1
        return self._issue(self.sessions)

    def _refresh(self, request: httpx.Request) -> httpx.Response:
        data = form(request)
        token = data.get("refresh_token", "")
        self.refreshes.append(token)
        session = self.refresh_tokens.get(token)
        if data.get("grant_type") != "refresh_token" or session is None:
            return httpx.Response(401, json={"detail": "Invalid or expired refresh token"})
        if token in self.spent or session in self.revoked_sessions:
            self.revoked_sessions.add(session)
            return httpx.Response(401, json={
                "detail": "Refresh token already used; its session is revoked, log in again"})
        self.spent.add(token)
        return self._issue(session)


def json_body(request: httpx.Request) -> dict:
    return json.loads(request.content)
