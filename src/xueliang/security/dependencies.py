"""FastAPI dependencies that guard routes: each route declares ``require(action)`` or
``public(why)``, and :func:`assert_protected` refuses to build an app with a route that
declares neither, so a new route cannot forget its check."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before route contexts copies included routes into app.routes

    def iter_route_contexts(routes: Any) -> Iterator[Any]:  # type: ignore[misc]
        return iter(routes)


from fastapi.security import OAuth2PasswordBearer

from xueliang.security.authority import AuthError, Authority
from xueliang.security.permissions import Action
from xueliang.security.principal import Principal

__all__ = [
    "AUTHENTICATED",
    "GuardedRoute",
    "api_routes",
    "assert_protected",
    "authority_of",
    "public",
    "require",
]

AUTHENTICATED = "authenticated"  # any logged-in user, whatever their grants
bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def authority_of(request: Request) -> Authority:
    return request.app.state.authority  # type: ignore[no-any-return]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(request: Request, token: str | None) -> Principal:
    """Authenticate once per request (several guards on one route share the result)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not token:
        raise unauthorized("not authenticated: send 'Authorization: Bearer <access token>'")
    try:
        principal = await authority_of(request).authenticate(token)
    except AuthError as exc:
        raise unauthorized(exc.detail) from None
    request.state.principal = principal
    return principal


@functools.cache
def require(action: Action | str) -> Callable[..., Any]:
    """The guard for a route doing ``action`` (or :data:`AUTHENTICATED`): 401 without a valid
    token, 403 without the action; returns the :class:`Principal`."""
    needed = None if action == AUTHENTICATED else Action(action)

    async def guard(request: Request, token: Annotated[str | None, Depends(bearer)]) -> Principal:
        principal = await current_principal(request, token)
        if needed is not None and not principal.can(needed):
            raise HTTPException(403, f"permission denied: this needs the '{needed}' permission")
        return principal

    guard.permission = needed or AUTHENTICATED  # type: ignore[attr-defined]
    guard.__name__ = f"require_{needed or AUTHENTICATED}"
    return guard


@functools.cache
def public(why: str) -> Callable[[], None]:
    """The explicit mark of a route anyone may call, with the reason it needs no login."""

    def open_route() -> None:
        return None

    open_route.permission = "public"  # type: ignore[attr-defined]
    open_route.why = why  # type: ignore[attr-defined]
    return open_route


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


@dataclass(frozen=True, slots=True)
class GuardedRoute:
    path: str
    methods: frozenset[str]  # empty for a WebSocket
    permission: str | None  # an action, "authenticated", "public", or None: unguarded


def api_routes(app: FastAPI) -> list[GuardedRoute]:
    """Every API and WebSocket route of ``app`` as served (prefixes of included routers applied)."""
    found = []
    for context in iter_route_contexts(app.routes):
        original = getattr(context, "original_route", context)
        if not isinstance(original, APIRoute | APIWebSocketRoute):
            continue
        marks = {getattr(call, "permission", None) for call in _calls(context.dependant)} - {None}
        found.append(
            GuardedRoute(
                context.path,
                frozenset(getattr(context, "methods", None) or ()),
                ",".join(sorted(marks)) or None,
            )
        )
    return found


def assert_protected(app: FastAPI) -> list[GuardedRoute]:
    """Every API route with its permission; RuntimeError names a route that declares none."""
    routes = api_routes(app)
    for route in routes:
        if route.permission is None:
            raise RuntimeError(
                f"route {route.path} declares no permission: add Depends(require(...)) or public(...)"
            )
    return routes
