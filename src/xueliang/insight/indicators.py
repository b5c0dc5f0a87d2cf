"""Indicators from the database: additive sums grouped in SQL, rates computed by :mod:`rates`.

The database does the interval-overlap arithmetic (``SUM(MIN(until, to) - MAX(since, from))``
in epoch seconds, see :mod:`xueliang.insight.sql`) and returns one row per group of the finest
grain asked for (civil code, organisation, point class, source). Those few rows are rolled up
in Python to any region level or organisation subtree: the sums are additive, so the roll-up
is exact and no interval row ever leaves the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, not_, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Availability, Channel, Organization, Region, RegionPlan, civil_code_range
from xueliang.insight.periods import Period
from xueliang.insight.rates import CHINA_EXTENT, GOOD_STATE, KINDS, Tally, indicators, ratio
from xueliang.insight.sql import epoch, greatest, least

__all__ = [
    "DIMENSIONS",
    "Scope",
    "UnknownScope",
    "breakdown",
    "resolve_scope",
    "summary",
    "tally_groups",
    "trend",
    "worst_channels",
]

DIMENSIONS = {
    "civil_code": Channel.civil_code,
    "organization_id": Channel.organization_id,
    "point_class": Channel.point_class,
    "source": Channel.source,
}
GROUPINGS = ("region", "org", "class", "source")
_GROUP_DIM = {"region": "civil_code", "org": "organization_id", "class": "point_class", "source": "source"}


class UnknownScope(LookupError):
    """A region or organisation that is not in the directory (the API answers 404)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Which channels a figure is about. ``org_path`` is the organisation's '/id/…/' path;
    ``access`` a where-clause on :class:`Channel` limiting it to what the user may see."""

    region: str | None = None
    org: str | None = None
    org_path: str | None = None
    point_class: int | None = None
    source: str | None = None
    access: Any = None

    def conditions(self) -> list[Any]:
        conditions: list[Any] = []
        if self.region:
            low, high = civil_code_range(self.region)
            conditions.append(and_(Channel.civil_code >= low, Channel.civil_code < high))
        if self.org_path:
            subtree = select(Organization.id).where(
                Organization.path.startswith(self.org_path, autoescape=True)
            )
            conditions.append(Channel.organization_id.in_(subtree))
        if self.point_class is not None:
            conditions.append(Channel.point_class == self.point_class)
        if self.source:
            conditions.append(Channel.source == self.source)
        if self.access is not None:
            conditions.append(self.access)
        return conditions


async def resolve_scope(
    session: AsyncSession,
    region: str | None = None,
    org: str | None = None,
    point_class: int | None = None,
    source: str | None = None,
) -> Scope:
    """Check that the region (civil code) and organisation (code) exist; UnknownScope if not."""
    known = select(Region.civil_code).where(Region.civil_code == region)
    if region and await session.scalar(known) is None:
        raise UnknownScope(f"region {region} not found")
    path = None
    if org:
        path = await session.scalar(select(Organization.path).where(Organization.code == org))
        if path is None:
            raise UnknownScope(f"organisation {org} not found")
    return Scope(
        region=region or None, org=org or None, org_path=path, point_class=point_class, source=source
    )


def _annotated(area: tuple[float, float, float, float] | None) -> Any:
    min_lon, min_lat, max_lon, max_lat = area or CHINA_EXTENT
    lon, lat = Channel.longitude, Channel.latitude
    return and_(
        lon.isnot(None),
        lat.isnot(None),
        not_(and_(lon == 0, lat == 0)),
        lon.between(max(min_lon, -180.0), min(max_lon, 180.0)),
        lat.between(max(min_lat, -90.0), min(max_lat, 90.0)),
    )


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _epoch_seconds(moment: datetime) -> float:
    return moment.astimezone(UTC).timestamp()


def _buckets(periods: Sequence[Period], now: datetime) -> Any:
    """The periods as a small table (b, b_start, b_end) in epoch seconds, ends clipped at ``now``."""
    now_e = _epoch_seconds(now)
    selects = [
        select(
            literal(index).label("b"),
            cast(literal(_epoch_seconds(p.start)), Float).label("b_start"),
            cast(literal(min(_epoch_seconds(p.end), now_e)), Float).label("b_end"),
        )
        for index, p in enumerate(periods)
    ]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).cte("buckets")


async def tally_groups(
    session: AsyncSession,
    scope: Scope,
    *,
    dims: Sequence[str] = (),
    periods: Sequence[Period] = (),
    now: datetime,
    area: tuple[float, float, float, float] | None = None,
) -> list[dict[tuple[Any, ...], Tally]]:
    """Sums per group of ``dims`` (names of :data:`DIMENSIONS`): one dict per period, or one
    dict of present-time sums when no period is given. Time after ``now`` is never counted."""
    columns = [DIMENSIONS[d] for d in dims]
    conditions = scope.conditions()
    static: dict[tuple[Any, ...], Tally] = {}
    rows = await session.execute(
        select(
            *columns,
            Channel.point_class.label("_class"),
            func.count(),
            _count(_annotated(area)),
            _count(Channel.hd.is_(True)),
            _count(Channel.hd.isnot(None)),
            _count(Channel.status == "online"),
        )
        .where(*conditions)
        .group_by(*columns, Channel.point_class)
    )
    for row in rows:
        key = tuple(row[: len(dims)])
        point_class, channels, annotated, hd, known, online = row[len(dims) :]
        tally = static.setdefault(key, Tally())
        tally.add(
            Tally(
                channels=channels,
                annotated=annotated,
                hd=hd,
                resolution_known=known,
                online_now=online,
                built={point_class: channels},
            )
        )
    current = await session.execute(
        select(*columns, Availability.kind, Availability.state, func.count())
        .join(Channel, Channel.id == Availability.channel_id)
        .where(Availability.until.is_(None), Availability.kind.in_(("integrity", "output")), *conditions)
        .group_by(*columns, Availability.kind, Availability.state)
    )
    for row in current:
        key = tuple(row[: len(dims)])
        kind, state, count = row[len(dims) :]
        static.setdefault(key, Tally()).add_current(kind, state, count)
    if not periods:
        return [static]

    results: list[dict[tuple[Any, ...], Tally]] = []
    for _period in periods:
        copy: dict[tuple[Any, ...], Tally] = {}
        for key, tally in static.items():
            copy[key] = Tally().add(tally)
        results.append(copy)
    if len(periods) > 1 and all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False)):
        await _consecutive_seconds(session, conditions, columns, periods, now, results)
        return results
    buckets = _buckets(periods, now)
    created = epoch(Channel.created_at)
    scope_rows = await session.execute(
        select(
            buckets.c.b,
            *columns,
            func.sum(greatest(0.0, buckets.c.b_end - greatest(buckets.c.b_start, created))),
        )
        .select_from(Channel)
        .join(buckets, created < buckets.c.b_end)
        .where(*conditions)
        .group_by(buckets.c.b, *columns)
    )
    for row in scope_rows:
        key = tuple(row[1 : 1 + len(dims)])
        results[row[0]].setdefault(key, Tally()).scope_seconds += float(row[-1] or 0.0)

    low = min(p.start for p in periods)
    high = min(max(p.end for p in periods), now)
    since = epoch(Availability.since)
    until = func.coalesce(epoch(Availability.until), _epoch_seconds(now))
    # Online time counts only while the channel is in the directory (see rates.py).
    floor = case(
        (Availability.kind == "online", greatest(buckets.c.b_start, created)), else_=buckets.c.b_start
    )
    seconds = func.sum(greatest(0.0, least(until, buckets.c.b_end) - greatest(since, floor)))
    interval_rows = await session.execute(
        select(buckets.c.b, *columns, Availability.kind, Availability.state, seconds)
        .select_from(Availability)
        .join(Channel, Channel.id == Availability.channel_id)
        .join(buckets, and_(since < buckets.c.b_end, until > buckets.c.b_start))
        .where(
            Availability.kind.in_(KINDS),
            Availability.since < high,
            or_(Availability.until.is_(None), Availability.until > low),
            *conditions,
        )
        .group_by(buckets.c.b, *columns, Availability.kind, Availability.state)
    )
    for row in interval_rows:
        key = tuple(row[1 : 1 + len(dims)])
        kind, state, total = row[1 + len(dims) :]
        results[row[0]].setdefault(key, Tally()).add_seconds(kind, state, float(total or 0.0))
    return results


def _bucket_index(value: Any, bounds: Sequence[float], low: int, high: int) -> Any:
    """The index k with bounds[k] <= value < bounds[k + 1], as a balanced tree of CASEs (log n tests)."""
    if high - low <= 1:
        return literal(low)
    middle = (low + high) // 2
    return case(
        (value < bounds[middle], _bucket_index(value, bounds, low, middle)),
        else_=_bucket_index(value, bounds, middle, high),
    )


async def _consecutive_seconds(
    session: AsyncSession,
    conditions: list[Any],
    columns: list[Any],
    periods: Sequence[Period],
    now: datetime,
    results: list[dict[tuple[Any, ...], Tally]],
) -> None:
    """Seconds per period for back-to-back periods (a trend's days) without a join per period.

    Each interval is clipped once to [first start, min(last end, now)) and grouped by the
    periods its two ends fall in: SQL returns COUNT, SUM(start) and SUM(end) per (first,
    last) pair, and Python gives the first period ``end_i - start``, the last ``end - start_j``
    and every period between its full length. Times are seconds from the first start.
    """
    base = _epoch_seconds(periods[0].start)
    now_e = _epoch_seconds(now) - base
    starts = [_epoch_seconds(p.start) - base for p in periods]
    ends = [min(_epoch_seconds(p.end) - base, max(now_e, s)) for p, s in zip(periods, starts, strict=True)]
    stop = min(_epoch_seconds(periods[-1].end) - base, now_e)
    if stop <= 0:
        return
    lengths = [max(0.0, e - s) for s, e in zip(starts, ends, strict=True)]
    n = len(periods)
    width = len(columns)

    def spread(first: int, last: int, count: int, low: float, high: float) -> list[tuple[int, float]]:
        """(period, seconds) shares of ``count`` spans summing to ``low``…``high``."""
        if first == last:
            return [(first, high - low)]
        shares = [(first, count * ends[first] - low), (last, high - count * starts[last])]
        shares += [(k, count * lengths[k]) for k in range(first + 1, last)]
        return shares

    # Channels are in scope from their creation on. Indexes are grouped through a subquery:
    # PostgreSQL does not see two CASEs with separately bound numbers as the same expression.
    created = greatest(epoch(Channel.created_at) - base, 0.0)
    born = (
        select(
            *[column.label(f"d{i}") for i, column in enumerate(columns)],
            _bucket_index(created, starts, 0, n).label("first"),
            created.label("c"),
        )
        .where(*conditions, epoch(Channel.created_at) - base < stop)
        .subquery()
    )
    born_dims = [born.c[f"d{i}"] for i in range(width)]
    scope_rows = await session.execute(
        select(*born_dims, born.c.first, func.count(), func.sum(born.c.c)).group_by(*born_dims, born.c.first)
    )
    for row in scope_rows:
        key = tuple(row[:width])
        first, count, total = row[width:]
        for k, seconds in spread(first, n - 1, count, float(total), count * stop):
            results[k].setdefault(key, Tally()).scope_seconds += seconds

    floor = case((Availability.kind == "online", epoch(Channel.created_at) - base), else_=0.0)
    spans = (
        select(
            *[column.label(f"d{i}") for i, column in enumerate(columns)],
            Availability.kind.label("kind"),
            Availability.state.label("state"),
            greatest(epoch(Availability.since) - base, floor, 0.0).label("s"),
            least(func.coalesce(epoch(Availability.until) - base, now_e), stop).label("u"),
        )
        .join(Channel, Channel.id == Availability.channel_id)
        .where(
            Availability.kind.in_(KINDS),
            Availability.since < periods[-1].end,
            or_(Availability.until.is_(None), Availability.until > periods[0].start),
            *conditions,
        )
        .cte("spans")
        .prefix_with("MATERIALIZED")
    )
    indexed = (
        select(
            spans,
            _bucket_index(spans.c.s, starts, 0, n).label("first"),
            _bucket_index(spans.c.u, starts, 0, n).label("last"),
        )
        .where(spans.c.s < spans.c.u)
        .subquery()
    )
    dims = [indexed.c[f"d{i}"] for i in range(width)]
    rows = await session.execute(
        select(
            *dims,
            indexed.c.kind,
            indexed.c.state,
            indexed.c.first,
            indexed.c.last,
            func.count(),
            func.sum(indexed.c.s),
            func.sum(indexed.c.u),
        ).group_by(*dims, indexed.c.kind, indexed.c.state, indexed.c.first, indexed.c.last)
    )
    for row in rows:
        key = tuple(row[:width])
        kind, state, i, j, count, low, high = row[width:]
        # an interval ending exactly on a period's start adds nothing to that period
        for k, seconds in spread(i, j, count, float(low), float(high)):
            if seconds:
                results[k].setdefault(key, Tally()).add_seconds(kind, state, seconds)


# --- coverage plans ---------------------------------------------------------------------------


async def _plans(session: AsyncSession) -> tuple[dict[str, dict[int, int]], dict[str | None, list[str]]]:
    plans: dict[str, dict[int, int]] = {}
    for code, point_class, planned in await session.execute(
        select(RegionPlan.civil_code, RegionPlan.point_class, RegionPlan.planned)
    ):
        plans.setdefault(code, {})[point_class] = planned
    children: dict[str | None, list[str]] = {}
    for code, parent in await session.execute(select(Region.civil_code, Region.parent_code)):
        children.setdefault(parent, []).append(code)
    return plans, children


def _planned(
    code: str | None, plans: dict[str, dict[int, int]], children: dict[str | None, list[str]]
) -> dict[int, int]:
    """A region's own plan per class where it has one, else the sum of its children's."""
    own = dict(plans.get(code, {})) if code else {}
    below: dict[int, int] = {}
    for child in children.get(code, []):
        for point_class, planned in _planned(child, plans, children).items():
            below[point_class] = below.get(point_class, 0) + planned
    for point_class, planned in below.items():
        own.setdefault(point_class, planned)
    return own


def _scope_plan(scope: Scope, plan: dict[int, int]) -> dict[int, int] | None:
    """Coverage applies to regions: not to organisation, source or access-limited scopes."""
    if scope.org_path or scope.source or scope.access is not None:
        return None
    if scope.point_class is not None:
        return {scope.point_class: plan.get(scope.point_class, 0)}
    return plan


# --- published figures ------------------------------------------------------------------------


def _period_json(period: Period | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


async def summary(
    session: AsyncSession,
    scope: Scope,
    *,
    period: Period | None = None,
    now: datetime,
    area: tuple[float, float, float, float] | None = None,
) -> dict[str, Any]:
    """Headline indicators of a scope: point-in-time, or time-weighted over ``period``."""
    groups = await tally_groups(session, scope, periods=[period] if period else [], now=now, area=area)
    tally = groups[0].get((), Tally())
    plans, children = await _plans(session)
    planned = _scope_plan(scope, _planned(scope.region, plans, children))
    return {**indicators(tally, weighted=period is not None, planned=planned), "period": _period_json(period)}


def _org_depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _org_ancestor(path: str, depth: int) -> str:
    parts = [part for part in path.split("/") if part]
    return "/" + "/".join(parts[:depth]) + "/"


async def breakdown(
    session: AsyncSession,
    scope: Scope,
    group_by: str,
    *,
    level: int | None = None,
    period: Period | None = None,
    now: datetime,
    area: tuple[float, float, float, float] | None = None,
) -> list[dict[str, Any]]:
    """Rows of indicators per region (at ``level``: 1 province, 2 city, 3 county, 4 town),
    organisation (at tree depth ``level``), point class or source, ranked by online rate
    (highest first; ties in key order; groups with no data last)."""
    if group_by not in GROUPINGS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPINGS)}")
    dim = _GROUP_DIM[group_by]
    groups = (
        await tally_groups(
            session, scope, dims=(dim,), periods=[period] if period else [], now=now, area=area
        )
    )[0]
    weighted = period is not None
    rolled: dict[Any, Tally] = {}
    names: dict[Any, str] = {}
    plans: dict[Any, dict[int, int] | None] = {}
    if group_by == "region":
        if level is None:
            level = min(4, max(3, len(scope.region or "") // 2 + 1))
        width = 2 * level
        for (code,), tally in groups.items():
            key = (code or "")[:width]
            rolled.setdefault(key, Tally()).add(tally)
        region_names = dict((await session.execute(select(Region.civil_code, Region.name))).all())
        all_plans, children = await _plans(session)
        for key in rolled:
            names[key] = region_names.get(key, key or "—")
            plans[key] = (
                _scope_plan(scope, _planned(key, all_plans, children)) if key in region_names else None
            )
    elif group_by == "org":
        orgs = {
            org_id: (code, name, path)
            for org_id, code, name, path in await session.execute(
                select(Organization.id, Organization.code, Organization.name, Organization.path)
            )
        }
        if level is None:
            level = _org_depth(scope.org_path) + 1 if scope.org_path else 1
        by_path = {path: (code, name) for code, name, path in orgs.values()}
        for (org_id,), tally in groups.items():
            if org_id is None or org_id not in orgs:
                key = ""
            else:
                path = orgs[org_id][2]
                key = by_path.get(_org_ancestor(path, level), (orgs[org_id][0], ""))[0]
                if _org_depth(path) < level:
                    key = orgs[org_id][0]
            rolled.setdefault(key, Tally()).add(tally)
        org_names = {code: name for code, name, _path in orgs.values()}
        for key in rolled:
            names[key] = org_names.get(key, "—")
            plans[key] = None
    else:
        for (value,), tally in groups.items():
            rolled.setdefault(value, Tally()).add(tally)
        for key in rolled:
            names[key] = str(key)
            plans[key] = None
    rows = []
    for key, tally in rolled.items():
        row = indicators(tally, weighted=weighted, planned=plans.get(key))
        rows.append({"key": key if key is not None else "", "name": names[key], **row})
    return rank_rows(rows)


def rank_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order by online rate, highest first; equal rates keep key order; no data goes last."""
    ordered = sorted(
        rows,
        key=lambda r: (r["online_rate"] is None, -(r["online_rate"] or 0.0), str(r["key"])),
    )
    for rank, row in enumerate(ordered, start=1):
        row["rank"] = rank
    return ordered


async def trend(
    session: AsyncSession,
    scope: Scope,
    days: Sequence[Period],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """Time-weighted online, integrity and output rates for each day (one query for all days)."""
    groups = await tally_groups(session, scope, periods=days, now=now)
    items = []
    for day, group in zip(days, groups, strict=True):
        tally = group.get((), Tally())
        items.append(
            {
                "date": day.first.isoformat() if day.first else day.start.isoformat(),
                "from": day.start.isoformat(),
                "to": day.end.isoformat(),
                "online_rate": ratio(tally.online_seconds, tally.scope_seconds),
                "integrity_rate": ratio(tally.intact_seconds, tally.diagnosed_seconds),
                "output_rate": ratio(tally.output_ok_seconds, tally.checked_seconds),
                "downtime_hours": round((tally.scope_seconds - tally.online_seconds) / 3600, 3),
            }
        )
    return items


async def worst_channels(
    session: AsyncSession,
    scope: Scope,
    period: Period,
    *,
    now: datetime,
    limit: int = 20,
    threshold_hours: float = 8.0,
) -> tuple[list[dict[str, Any]], int]:
    """The channels with the most downtime in ``period`` (time in scope not online), with their
    defect and output-failure hours; and how many channels exceed ``threshold_hours``."""
    end = min(period.end, now)
    start_e, end_e, now_e = _epoch_seconds(period.start), _epoch_seconds(end), _epoch_seconds(now)
    conditions = scope.conditions()
    created = epoch(Channel.created_at)
    since = epoch(Availability.since)
    until = func.coalesce(epoch(Availability.until), now_e)
    floor = case((Availability.kind == "online", greatest(start_e, created)), else_=start_e)
    clipped = greatest(0.0, least(until, end_e) - greatest(since, floor))
    per_kind = (
        select(
            Availability.channel_id.label("channel_id"),
            func.sum(
                case(
                    (
                        and_(Availability.kind == "online", Availability.state == GOOD_STATE["online"]),
                        clipped,
                    ),
                    else_=0.0,
                )
            ).label("online"),
            func.sum(
                case(
                    (
                        and_(Availability.kind == "online", Availability.state != GOOD_STATE["online"]),
                        clipped,
                    ),
                    else_=0.0,
                )
            ).label("offline"),
            func.sum(
                case(
                    (
                        and_(Availability.kind == "integrity", Availability.state != GOOD_STATE["integrity"]),
                        clipped,
                    ),
                    else_=0.0,
                )
            ).label("defect"),
            func.sum(
                case(
                    (
                        and_(Availability.kind == "output", Availability.state != GOOD_STATE["output"]),
                        clipped,
                    ),
                    else_=0.0,
                )
            ).label("no_output"),
        )
        .join(Channel, Channel.id == Availability.channel_id)
        .where(
            Availability.kind.in_(KINDS),
            Availability.since < end,
            or_(Availability.until.is_(None), Availability.until > period.start),
            *conditions,
        )
        .group_by(Availability.channel_id)
        .subquery()
    )
    scope_seconds = greatest(0.0, end_e - greatest(start_e, created))
    downtime = (scope_seconds - func.coalesce(per_kind.c.online, 0.0)).label("downtime")
    base = (
        select(
            Channel.gb_id,
            Channel.name,
            Channel.civil_code,
            Channel.point_class,
            Channel.organization_id,
            Channel.status,
            downtime,
            func.coalesce(per_kind.c.offline, 0.0),
            func.coalesce(per_kind.c.defect, 0.0),
            func.coalesce(per_kind.c.no_output, 0.0),
        )
        .select_from(Channel)
        .outerjoin(per_kind, per_kind.c.channel_id == Channel.id)
        .where(*conditions)
    )
    threshold = threshold_hours * 3600
    table = base.subquery()
    over = await session.scalar(select(func.count()).select_from(table).where(table.c.downtime > threshold))
    rows = await session.execute(
        base.where(or_(downtime > 0, per_kind.c.defect > 0, per_kind.c.no_output > 0))
        .order_by(downtime.desc(), func.coalesce(per_kind.c.defect, 0.0).desc(), Channel.gb_id)
        .limit(limit)
    )
    org_names = dict((await session.execute(select(Organization.id, Organization.name))).all())
    items = [
        {
            "id": gb_id,
            "name": name,
            "civil_code": civil_code,
            "point_class": point_class,
            "organization": org_names.get(org_id, ""),
            "status": status,
            "downtime_hours": round(float(down) / 3600, 3),
            "offline_hours": round(float(offline) / 3600, 3),
            "defect_hours": round(float(defect) / 3600, 3),
            "output_fail_hours": round(float(no_output) / 3600, 3),
        }
        for gb_id, name, civil_code, point_class, org_id, status, down, offline, defect, no_output in rows
    ]
    return items, int(over or 0)
