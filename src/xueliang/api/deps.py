"""Typed FastAPI dependencies shared by every router.

Authentication and authorisation plug in here as further dependencies, declared per route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.api.context import PlatformContext
from xueliang.config import Settings

__all__ = ["ContextDep", "SessionDep", "SettingsDep"]


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
