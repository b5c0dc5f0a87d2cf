"""Operational indicators (运维指标): summary, breakdown for the weekly notice, daily trend."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query

from xueliang.api.deps import CanView, SessionDep, SettingsDep
from xueliang.catalog import ChannelSource
from xueliang.db import utcnow
from xueliang.insight.indicators import breakdown, summary, trend
from xueliang.insight.periods import day_periods
from xueliang.insight.routes.common import REGION_PATTERN, period_from, scope_for, zone_of
from xueliang.security import Action

router = APIRouter(prefix="/stats", tags=["stats"])

RegionQ = Annotated[
    str | None, Query(pattern=REGION_PATTERN, description="Civil-code prefix (a known region)")
]
OrgQ = Annotated[str | None, Query(description="Organisation code (its whole subtree)")]
ClassQ = Annotated[int | None, Query(alias="class", ge=1, le=9)]
FromQ = Annotated[datetime | None, Query(alias="from", description="Period start, UTC (inclusive)")]
ToQ = Annotated[datetime | None, Query(alias="to", description="Period end, UTC (exclusive); default now")]


class GroupBy(StrEnum):
    REGION = "region"
    ORG = "org"
    CLASS = "class"
    SOURCE = "source"


@router.get("/summary")
async def stats_summary(
    principal: CanView,
    session: SessionDep,
    settings: SettingsDep,
    region: RegionQ = None,
    org: OrgQ = None,
    point_class: ClassQ = None,
    source: ChannelSource | None = None,
    start: FromQ = None,
    end: ToQ = None,
) -> dict[str, Any]:
    """``channels, online_rate, integrity_rate, output_rate, annotation_rate, hd_rate`` (fractions
    0–1, null = no data) and more: point-in-time without a period, time-weighted over [from, to)."""
    now = utcnow()
    period = period_from(start, end, now)
    scope = await scope_for(
        session, region, org, point_class, source.value if source else None, principal.channels(Action.VIEW)
    )
    return await summary(session, scope, period=period, now=now, area=settings.area)


@router.get("/breakdown")
async def stats_breakdown(
    principal: CanView,
    session: SessionDep,
    settings: SettingsDep,
    group_by: GroupBy = GroupBy.REGION,
    level: Annotated[
        int | None,
        Query(ge=1, le=8, description="Region level (1 province … 4 town) or organisation tree depth"),
    ] = None,
    region: RegionQ = None,
    org: OrgQ = None,
    point_class: ClassQ = None,
    source: ChannelSource | None = None,
    start: FromQ = None,
    end: ToQ = None,
) -> dict[str, Any]:
    """One row per group with the summary's indicators and a ``rank`` by online rate."""
    now = utcnow()
    period = period_from(start, end, now)
    scope = await scope_for(
        session, region, org, point_class, source.value if source else None, principal.channels(Action.VIEW)
    )
    rows = await breakdown(
        session, scope, group_by.value, level=level, period=period, now=now, area=settings.area
    )
    return {
        "items": rows,
        "total": len(rows),
        "group_by": group_by.value,
        "period": None if period is None else {"from": period.start, "to": period.end},
    }


@router.get("/trend")
async def stats_trend(
    principal: CanView,
    session: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366, description="Number of local days (7 or 30 for charts)")] = 7,
    end: Annotated[date | None, Query(description="Last local day (default: today, up to now)")] = None,
    region: RegionQ = None,
    org: OrgQ = None,
    point_class: ClassQ = None,
    source: ChannelSource | None = None,
) -> dict[str, Any]:
    """Daily time-weighted online, integrity and output rates, oldest day first."""
    now = utcnow()
    zone = zone_of(settings)
    last = end or now.astimezone(zone).date()
    scope = await scope_for(
        session, region, org, point_class, source.value if source else None, principal.channels(Action.VIEW)
    )
    items = await trend(session, scope, day_periods(last - timedelta(days=days - 1), days, zone), now=now)
    return {"items": items, "total": len(items), "timezone": settings.timezone}
