"""Parameters shared by the insight routes: periods, scopes, zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.config import Settings
from xueliang.insight.indicators import Scope, UnknownScope, resolve_scope
from xueliang.insight.periods import Period

REGION_PATTERN = r"^\d{2,8}$"


def utc(moment: datetime) -> datetime:
    """Naive times in the API are UTC (storage and APIs are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def period_from(start: datetime | None, end: datetime | None, now: datetime) -> Period | None:
    """[from, to) in UTC; ``from`` alone runs to now; ``to`` alone is an error."""
    if start is None and end is None:
        return None
    if start is None:
        raise HTTPException(422, "give 'from' with 'to' (a period is [from, to))")
    start = utc(start)
    end = utc(end) if end is not None else now
    if end <= start:
        raise HTTPException(422, "the period ends before it starts: 'to' must be after 'from'")
    return Period(start, end)


async def scope_for(
    session: AsyncSession,
    region: str | None = None,
    org: str | None = None,
    point_class: int | None = None,
    source: str | None = None,
    access: Any = None,
) -> Scope:
    """The scope of a figure; ``access`` limits it to the channels the user may see."""
    try:
        return replace(await resolve_scope(session, region, org, point_class, source), access=access)
    except UnknownScope as exc:
        raise HTTPException(404, str(exc)) from None


def zone_of(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise HTTPException(500, f"configured timezone {settings.timezone!r} is unknown") from None
