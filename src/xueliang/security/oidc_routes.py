"""Single sign-on routes: ``/auth/oidc/login`` → the provider → ``/auth/oidc/callback`` →
the web page with ``#oidc_ticket=…`` → ``POST /auth/oidc/token``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.security.audit import AuditEntry, record_audit
from xueliang.security.authority import AuthError
from xueliang.security.dependencies import authority_of, public
from xueliang.security.models import User
from xueliang.security.oidc import OidcClient, OidcError
from xueliang.security.routes import NO_STORE, TokenResponse, client_address

__all__ = ["router"]

router = APIRouter(prefix="/auth/oidc", tags=["auth"])


class TicketBody(BaseModel):
    ticket: str = Field(min_length=1, max_length=100)


def _oidc(request: Request) -> OidcClient:
    client: OidcClient = request.app.state.oidc
    if not client.configured:
        raise HTTPException(404, "single sign-on is not configured")
    return client


def _error(exc: OidcError) -> HTTPException:
    return HTTPException(exc.status, exc.detail, headers=NO_STORE)


@router.get(
    "/login",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[Depends(public("starts single sign-on"))],
)
async def oidc_login(
    request: Request, next_path: Annotated[str, Query(alias="next", max_length=500)] = "/"
) -> RedirectResponse:
    """Send the browser to the identity platform; it comes back to the callback."""
    oidc = _oidc(request)
    try:
        url = await oidc.login_url(str(request.url_for("oidc_callback")), next_path)
    except OidcError as exc:
        raise _error(exc) from None
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


async def _local_account(request: Request, oidc: OidcClient, claims: dict[str, Any]) -> User:
    """The account linked to ``sub``, else the one named by the username claim (then linked)."""
    subject, name = str(claims["sub"]), claims.get(oidc.claim)
    async with authority_of(request).sessions() as session, session.begin():
        user = await session.scalar(select(User).where(User.oidc_subject == subject))
        if user is None and isinstance(name, str):
            user = await session.scalar(
                select(User).where(User.username == name, User.oidc_subject.is_(None))
            )
            if user is not None:
                user.oidc_subject = subject
        if user is None or user.disabled:
            raise HTTPException(
                403, f"no usable local account for {name or subject}: an administrator must create it"
            )
        return user


@router.get(
    "/callback",
    status_code=302,
    response_class=RedirectResponse,
    dependencies=[Depends(public("the identity platform's redirect, checked by its single-use state"))],
)
async def oidc_callback(
    request: Request,
    state: Annotated[str, Query(max_length=100)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> RedirectResponse:
    oidc = _oidc(request)
    client = client_address(request)
    if error or not code or not state:
        raise HTTPException(400, f"single sign-on failed: {error or 'no code or state'}")
    try:
        claims, next_path = await oidc.finish(code, state)
    except OidcError as exc:
        await record_audit(
            authority_of(request).sessions,
            AuditEntry("(oidc)", "login", "failed", client_address=client, detail={"error": exc.detail}),
        )
        raise _error(exc) from None
    user = await _local_account(request, oidc, claims)
    ticket = request.app.state.oidc_tickets.issue(user.id)
    return RedirectResponse(f"{next_path}#oidc_ticket={ticket}", status_code=302, headers=NO_STORE)


@router.post(
    "/token",
    response_model=TokenResponse,
    dependencies=[Depends(public("carries its one-time sign-on ticket"))],
)
async def oidc_token(request: Request, response: Response, body: TicketBody) -> dict[str, object]:
    """Tokens for the one-time ticket the callback put in the page's fragment (valid 60 s)."""
    user_id = request.app.state.oidc_tickets.redeem(body.ticket)
    if user_id is None:
        raise HTTPException(401, "unknown, used or expired sign-on ticket", headers=NO_STORE)
    try:
        pair = await authority_of(request).login_as(
            user_id, "oidc", client_address(request), request.headers.get("user-agent", "")
        )
    except AuthError as exc:
        raise HTTPException(exc.status, exc.detail, headers=NO_STORE) from None
    response.headers.update(NO_STORE)
    return pair.public()
