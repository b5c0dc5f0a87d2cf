"""Wiring the security plane into the HTTP app: the authority, the auth routes, headers, CORS."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.config import Settings
from xueliang.security import admin, audit_routes, oidc_routes
from xueliang.security.authority import Authority
from xueliang.security.headers import SecurityHeaders
from xueliang.security.oidc import OidcClient, OneTimeTickets
from xueliang.security.routes import router

__all__ = ["install"]


def install(
    app: FastAPI, settings: Settings, sessions: async_sessionmaker[AsyncSession], prefix: str
) -> None:
    app.state.authority = Authority.open(settings, sessions)
    app.include_router(router, prefix=prefix)
    app.state.oidc = OidcClient(settings)
    app.state.oidc_tickets = OneTimeTickets(ttl=60)
    app.include_router(oidc_routes.router, prefix=prefix)
    app.include_router(admin.router, prefix=prefix)
    app.include_router(audit_routes.router, prefix=prefix)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # closed by default: no CORS headers at all, so browsers refuse cross-site calls
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=False,  # bearer tokens, not cookies
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders, content_security_policy=settings.content_security_policy)
