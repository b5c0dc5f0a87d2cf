"""What a report says: every figure comes from the same functions as the statistics API."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Region
from xueliang.insight.indicators import breakdown, resolve_scope, summary, trend, worst_channels
from xueliang.insight.periods import Period, ReportKind, day_periods, previous_period, report_period
from xueliang.insight.rates import Targets
from xueliang.insight.workorders import WorkOrderFilter, list_work_orders, work_order_counts
from xueliang.security.alerts import alert_summary

__all__ = ["Report", "build_report"]

RATE_KEYS = ("online_rate", "integrity_rate", "output_rate", "annotation_rate", "hd_rate", "coverage_rate")


@dataclass(slots=True)
class Report:
    kind: str
    period: Period
    previous: Period
    zone: str
    region: str | None
    region_name: str
    generated_at: datetime
    targets: Targets
    headline: dict[str, Any]
    previous_headline: dict[str, Any]
    changes: dict[str, float | None]
    by_class: list[dict[str, Any]]
    counties: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    worst: list[dict[str, Any]]
    over_threshold: int
    threshold_hours: float
    workorders: dict[str, int]
    overdue_orders: list[dict[str, Any]]
    assets: dict[str, Any] | None = None  # asset security (weekly and monthly): alert_summary()
    extras: dict[str, Any] = field(default_factory=dict)


def _trend_days(period: Period, zone: ZoneInfo) -> list[Period]:
    """Daily points of the trend chart: the 7 days up to a daily report's day, else every day."""
    assert period.first is not None and period.last is not None
    if period.kind == ReportKind.DAILY:
        return day_periods(period.first - timedelta(days=6), 7, zone)
    return day_periods(period.first, (period.last - period.first).days + 1, zone)


async def build_report(
    session: AsyncSession,
    kind: ReportKind | str,
    day: date,
    *,
    zone: ZoneInfo,
    now: datetime,
    region: str | None = None,
    area: tuple[float, float, float, float] | None = None,
    targets: Targets | None = None,
    threshold_hours: float = 8.0,
    worst: int = 20,
    access: Any = None,
) -> Report:
    """Gather a daily, weekly or monthly report for the period containing ``day`` (local to ``zone``).

    Raises :class:`~xueliang.insight.indicators.UnknownScope` for an unknown region.
    """
    kind = ReportKind(kind)
    targets = targets or Targets()
    scope = replace(await resolve_scope(session, region=region), access=access)
    period = report_period(kind, day, zone)
    previous = previous_period(period, zone)
    headline = await summary(session, scope, period=period, now=now, area=area)
    before = await summary(session, scope, period=previous, now=now, area=area)
    changes = {
        key: (None if headline[key] is None or before[key] is None else headline[key] - before[key])
        for key in RATE_KEYS
    }
    level = min(4, len(region) // 2 + 1) if region and len(region) >= 6 else 3
    counties = await breakdown(session, scope, "region", level=level, period=period, now=now, area=area)
    departments = await breakdown(session, scope, "org", level=1, period=period, now=now, area=area)
    by_class = sorted(
        await breakdown(session, scope, "class", period=period, now=now, area=area), key=lambda r: r["key"]
    )
    for row in by_class:
        row["target"] = targets.for_class(row["key"])
        row["met"] = None if row["online_rate"] is None else row["online_rate"] >= row["target"]
    sources = await breakdown(session, scope, "source", period=period, now=now, area=area)
    daily = await trend(session, scope, _trend_days(period, zone), now=now)
    worst_rows, over = await worst_channels(
        session, scope, period, now=now, limit=worst, threshold_hours=threshold_hours
    )
    orders_filter = WorkOrderFilter(status="active", region=region, access=access)
    counts = await work_order_counts(session, orders_filter, now=now)
    overdue, _total = await list_work_orders(
        session,
        WorkOrderFilter(status="active", overdue=True, region=region, access=access),
        now=now,
        limit=20,
    )
    assets = None
    if kind is not ReportKind.DAILY:
        assets = await alert_summary(session, period.start, period.end, region=region, top=10)
    name = (
        "全部"
        if not region
        else (await session.scalar(select(Region.name).where(Region.civil_code == region)))
    )
    return Report(
        kind=kind.value,
        period=period,
        previous=previous,
        zone=zone.key,
        region=region,
        region_name=name or (region or ""),
        generated_at=now,
        targets=targets,
        headline=headline,
        previous_headline=before,
        changes=changes,
        by_class=by_class,
        counties=counties,
        departments=departments,
        sources=sources,
        trend=daily,
        worst=worst_rows,
        over_threshold=over,
        threshold_hours=threshold_hours,
        workorders=counts,
        overdue_orders=overdue,
        assets=assets,
    )
