"""Report periods (pure): calendar days, ISO weeks and months in the configured zone, as UTC.

A local day is not always 24 hours: Europe/Berlin's last Sunday of March has 23, its last
Sunday of October 25. Periods are built from local midnights and converted, so a month that
crosses a DST change is exactly as long as the clock on the wall says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "Period",
    "ReportKind",
    "day_periods",
    "default_report_date",
    "local_midnight",
    "previous_period",
    "report_period",
]


class ReportKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span [start, end) in UTC; ``first``/``last`` are the local days it covers."""

    start: datetime
    end: datetime
    kind: str = "custom"
    first: date | None = None
    last: date | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must carry a zone")
        if self.end <= self.start:
            raise ValueError("the period ends before it starts")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def label(self) -> str:
        if self.first is None or self.last is None:
            return f"{self.start.isoformat()} – {self.end.isoformat()}"
        if self.kind == ReportKind.DAILY:
            return self.first.isoformat()
        if self.kind == ReportKind.WEEKLY:
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d} ({self.first.isoformat()} – {self.last.isoformat()})"
        if self.kind == ReportKind.MONTHLY:
            return f"{self.first.year}-{self.first.month:02d}"
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant of local 00:00 on ``day`` (the first instant of the day if 00:00 is skipped)."""
    local = datetime.combine(day, time(0), tzinfo=zone)
    # A zone that jumps over midnight: zoneinfo maps a missing wall time forward (fold=0).
    return local.astimezone(UTC)


def _span(first: date, after_last: date, zone: ZoneInfo, kind: str) -> Period:
    return Period(
        local_midnight(first, zone),
        local_midnight(after_last, zone),
        kind,
        first,
        after_last - timedelta(days=1),
    )


def report_period(kind: ReportKind | str, day: date, zone: ZoneInfo) -> Period:
    """The calendar day, ISO week (Monday–Sunday) or month containing ``day``, local to ``zone``."""
    kind = ReportKind(kind)
    if kind is ReportKind.DAILY:
        return _span(day, day + timedelta(days=1), zone, kind)
    if kind is ReportKind.WEEKLY:
        monday = day - timedelta(days=day.weekday())
        return _span(monday, monday + timedelta(days=7), zone, kind)
    first = day.replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return _span(first, after, zone, kind)


def previous_period(period: Period, zone: ZoneInfo) -> Period:
    """The period of the same kind just before ``period``."""
    if period.first is None:
        length = period.end - period.start
        return Period(period.start - length, period.start)
    return report_period(period.kind, period.first - timedelta(days=1), zone)


def default_report_date(kind: ReportKind | str, today: date) -> date:
    """The last complete period by default: yesterday, last week, last month."""
    kind = ReportKind(kind)
    if kind is ReportKind.DAILY:
        return today - timedelta(days=1)
    if kind is ReportKind.WEEKLY:
        return today - timedelta(days=7)
    return today.replace(day=1) - timedelta(days=1)


def day_periods(first: date, days: int, zone: ZoneInfo) -> list[Period]:
    """``days`` consecutive local days from ``first``, each as a UTC period."""
    return [report_period(ReportKind.DAILY, first + timedelta(days=i), zone) for i in range(days)]
