"""Liveness: answers without authentication."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import text

from xueliang import __version__
from xueliang.api.deps import SessionDep, public
from xueliang.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, dependencies=[Depends(public("liveness probe"))])
async def health(session: SessionDep) -> Health:
    await session.execute(text("SELECT 1"))
    return Health(status="ok", version=__version__, database=session.bind.dialect.name)
