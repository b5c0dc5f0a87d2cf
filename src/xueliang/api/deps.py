"""Typed FastAPI dependencies shared by every router.

Every route declares its permission: a parameter typed with one of the ``Can*`` aliases
below (which also hands it the :class:`Principal`), ``dependencies=[Depends(require(...))]``,
or ``public(why)`` for the few open routes. The app factory refuses a route with none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.api.context import PlatformContext
from xueliang.config import Settings
from xueliang.security import AUTHENTICATED, Action, Principal, public, require

__all__ = [
    "Authenticated",
    "CanExport",
    "CanManageCatalog",
    "CanManageUsers",
    "CanPtz",
    "CanSnapshot",
    "CanView",
    "CanViewAudit",
    "CanViewLive",
    "ContextDep",
    "Principal",
    "RowId",
    "SessionDep",
    "SettingsDep",
    "public",
    "require",
]

#: A stored row's ID in a path: bounded so that a huge number answers 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

Authenticated = Annotated[Principal, Depends(require(AUTHENTICATED))]
CanView = Annotated[Principal, Depends(require(Action.VIEW))]
CanViewLive = Annotated[Principal, Depends(require(Action.VIEW_LIVE))]
CanSnapshot = Annotated[Principal, Depends(require(Action.SNAPSHOT))]
CanPtz = Annotated[Principal, Depends(require(Action.PTZ))]
CanExport = Annotated[Principal, Depends(require(Action.EXPORT))]
CanManageCatalog = Annotated[Principal, Depends(require(Action.MANAGE_CATALOG))]
CanManageUsers = Annotated[Principal, Depends(require(Action.MANAGE_USERS))]
CanViewAudit = Annotated[Principal, Depends(require(Action.VIEW_AUDIT))]


def get_context(request: Request) -> PlatformContext:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[PlatformContext, Depends(get_context)]


def get_settings(context: ContextDep) -> Settings:
    return context.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(context: ContextDep) -> AsyncIterator[AsyncSession]:
    async with context.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
