"""Authentication routes: ``/auth/token`` (login), ``/auth/refresh``, ``/auth/logout``,
``/auth/me`` and the administrator's ``/auth/sessions``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.db import utcnow
from xueliang.security.authority import AuthError, TokenPair
from xueliang.security.dependencies import AUTHENTICATED, authority_of, public, require
from xueliang.security.models import AuthSession, User
from xueliang.security.permissions import Action
from xueliang.security.principal import Principal

__all__ = ["router"]

router = APIRouter(prefix="/auth", tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=300)


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    actions: list[str]


class SessionPublic(BaseModel):
    id: str
    username: str
    method: str
    client_address: str
    user_agent: str
    created_at: datetime
    refreshed_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _refused(exc: AuthError) -> HTTPException:
    headers = {"WWW-Authenticate": "Bearer", **NO_STORE}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return HTTPException(exc.status, exc.detail, headers=headers)


def _tokens(response: Response, pair: TokenPair) -> dict[str, object]:
    response.headers.update(NO_STORE)
    return pair.public()


@router.post(
    "/token",
    response_model=TokenResponse,
    dependencies=[Depends(public("the login itself"))],
    responses={401: {"description": "Wrong credentials, locked out"}, 429: {"description": "Rate limited"}},
)
async def login(
    request: Request,
    response: Response,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=256)],
    otp: Annotated[str | None, Form(max_length=12, description="One-time code when enrolled")] = None,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
) -> dict[str, object]:
    """OAuth2 password flow: a form with ``username``, ``password`` and, for accounts with a
    second factor, ``otp``."""
    try:
        pair = await authority_of(request).login(
            username, password, otp, client_address(request), request.headers.get("user-agent", "")
        )
    except AuthError as exc:
        raise _refused(exc) from None
    return _tokens(response, pair)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    dependencies=[Depends(public("carries its own refresh token"))],
    responses={401: {"description": "Invalid, used or expired refresh token"}},
)
async def refresh(request: Request, response: Response, body: RefreshBody) -> dict[str, object]:
    """New tokens for a live session. The refresh token rotates: keep the new one; sending an
    old one again revokes the session."""
    try:
        pair = await authority_of(request).refresh(body.refresh_token, client_address(request))
    except AuthError as exc:
        raise _refused(exc) from None
    return _tokens(response, pair)


@router.post("/logout", status_code=204, response_class=Response)
async def logout(
    request: Request, principal: Annotated[Principal, Depends(require(AUTHENTICATED))]
) -> Response:
    """End this session: its access and refresh tokens stop working at once."""
    await authority_of(request).revoke(principal.session_id, principal.username, client_address(request))
    return Response(status_code=204)


@router.get("/me", response_model=Me)
async def me(principal: Annotated[Principal, Depends(require(AUTHENTICATED))]) -> Me:
    return Me(
        username=principal.username,
        display_name=principal.display_name,
        roles=principal.roles,
        actions=principal.actions,
    )


@router.get("/sessions", dependencies=[Depends(require(Action.MANAGE_USERS))])
async def list_sessions(request: Request, user: str | None = None, ended: bool = False) -> dict[str, Any]:
    """Live sessions (with ``ended=true`` also revoked and expired ones), newest first."""
    statement = select(AuthSession, User.username).join(User, User.id == AuthSession.user_id)
    if user:
        statement = statement.where(User.username == user)
    if not ended:
        statement = statement.where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > utcnow())
    async with authority_of(request).sessions() as session:
        rows = (await session.execute(statement.order_by(AuthSession.created_at.desc()).limit(1000))).all()
    items = [
        SessionPublic(
            id=s.id,
            username=name,
            method=s.method,
            client_address=s.client_address,
            user_agent=s.user_agent,
            created_at=s.created_at,
            refreshed_at=s.refreshed_at,
            expires_at=s.expires_at,
            revoked_at=s.revoked_at,
            revoked_by=s.revoked_by,
        )
        for s, name in rows
    ]
    return {"items": items, "total": len(items)}


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def revoke_session(
    request: Request,
    session_id: str,
    principal: Annotated[Principal, Depends(require(Action.MANAGE_USERS))],
) -> Response:
    """Revoke a session now (its tokens stop working at once); 404 if it is not live."""
    revoked = await authority_of(request).revoke(
        session_id, principal.username, client_address(request), "revoke_session"
    )
    if not revoked:
        raise HTTPException(404, f"no live session {session_id}")
    return Response(status_code=204)
