"""Rectification work orders (整改工单): from a persisting fault to verified recovery.

A fault is an availability interval in a bad state (``online``: offline; ``integrity``: a
defect; ``output``: fail). When one has lasted past the grace time, :func:`reconcile_work_orders`
opens one order for the channel's owning organisation per channel and cause — never one per
poll: while an order for (channel, cause) is not closed its ``open_key`` holds that pair, and
the column is unique. The order closes only when a later observation verifies recovery (the
channel's interval of that kind has been in the good state for the grace time), or when an
operator closes it with a reason. Everything that happens to an order is appended to its
event list; nothing there is ever updated or deleted.

Call :func:`reconcile_work_orders` periodically (every minute is plenty); it is idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xueliang.catalog import Availability, Channel, Organization, civil_code_range
from xueliang.db import Base, UtcDateTime
from xueliang.insight.rates import GOOD_STATE, KINDS

__all__ = [
    "ReconcileResult",
    "WorkOrder",
    "WorkOrderConflict",
    "WorkOrderEvent",
    "WorkOrderFilter",
    "WorkOrderNotFound",
    "WorkOrderPolicy",
    "WorkOrderStatus",
    "assign_work_order",
    "cause_for",
    "close_work_order",
    "comment_work_order",
    "export_work_orders",
    "get_work_order",
    "list_work_orders",
    "reconcile_work_orders",
    "work_order_counts",
    "work_order_public",
]

SYSTEM = "system"


class WorkOrderStatus(StrEnum):
    OPEN = "open"  # detected, nobody assigned yet
    ASSIGNED = "assigned"  # someone is on it
    CLOSED = "closed"  # recovered and verified, or closed by an operator with a reason


class Resolution(StrEnum):
    RECOVERED = "recovered"
    OPERATOR = "operator"


class EventKind(StrEnum):
    OPENED = "opened"
    ASSIGNED = "assigned"
    COMMENT = "comment"
    RECOVERING = "recovering"  # good state seen, waiting for the grace time
    RELAPSED = "relapsed"  # bad again before recovery was verified
    CLOSED = "closed"


class WorkOrder(Base):
    """One fault of one channel, from detection to verified recovery."""

    __tablename__ = "work_order"
    __table_args__ = (Index("ix_work_order_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"), index=True)
    channel_gb_id: Mapped[str] = mapped_column(String(20), index=True)
    channel_name: Mapped[str] = mapped_column(String(200), default="")
    civil_code: Mapped[str] = mapped_column(String(8), default="", index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    point_class: Mapped[int] = mapped_column(Integer, default=3)
    kind: Mapped[str] = mapped_column(String(16), doc="Availability kind: online, integrity, output")
    cause: Mapped[str] = mapped_column(String(16), doc="offline, defect (or a VQD defect name), no_output")
    priority: Mapped[int] = mapped_column(Integer, doc="1 highest")
    status: Mapped[str] = mapped_column(String(10), default=WorkOrderStatus.OPEN)
    open_key: Mapped[str | None] = mapped_column(
        String(40), unique=True, doc="'channel_id:cause' while not closed: one open order per fault"
    )
    fault_since: Mapped[datetime] = mapped_column(UtcDateTime)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assignee: Mapped[str] = mapped_column(String(100), default="")
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recovery_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolution: Mapped[str] = mapped_column(String(16), default="")
    close_reason: Mapped[str] = mapped_column(Text, default="")

    events: Mapped[list[WorkOrderEvent]] = relationship(
        back_populates="work_order", order_by="WorkOrderEvent.id", lazy="raise"
    )


class WorkOrderEvent(Base):
    """An append-only history entry of a work order."""

    __tablename__ = "work_order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100), default=SYSTEM)
    note: Mapped[str] = mapped_column(Text, default="")

    work_order: Mapped[WorkOrder] = relationship(back_populates="events", lazy="raise")


class WorkOrderNotFound(LookupError):
    """No work order with that number (404)."""


class WorkOrderConflict(ValueError):
    """The operation does not fit the order's state, e.g. closing a closed order (409)."""


def _default_sla() -> dict[int, timedelta]:
    return {1: timedelta(hours=4), 2: timedelta(hours=24), 3: timedelta(hours=72)}


@dataclass(frozen=True, slots=True)
class WorkOrderPolicy:
    """Grace time before a fault opens an order (and before recovery closes it), SLA per priority.

    Priority follows the point class: class-1 points are priority 1, class 2 priority 2,
    everything else priority 3.
    """

    grace: timedelta = timedelta(minutes=10)
    sla: Mapping[int, timedelta] = field(default_factory=_default_sla)

    def priority_for(self, point_class: int | None) -> int:
        return point_class if point_class in (1, 2) else 3

    def due(self, priority: int, detected_at: datetime) -> datetime:
        return detected_at + self.sla.get(priority, max(self.sla.values()))


def cause_for(kind: str, state: str) -> str | None:
    """The work-order cause of being in ``state`` of ``kind``; None for the good state.

    ``integrity`` states other than ``intact`` are defects: ``defect``, or a VQD defect name
    (``blur``, ``signal_loss`` …) when inspection records one.
    """
    if kind not in GOOD_STATE or GOOD_STATE[kind] == state:
        return None
    if kind == "online":
        return "offline"
    if kind == "output":
        return "no_output"
    return state[:16] or "defect"


@dataclass(slots=True)
class ReconcileResult:
    opened: int = 0
    recovering: int = 0
    relapsed: int = 0
    closed: int = 0


def _bad_state() -> Any:
    return or_(
        *(and_(Availability.kind == kind, Availability.state != good) for kind, good in GOOD_STATE.items())
    )


async def reconcile_work_orders(
    session: AsyncSession, now: datetime, policy: WorkOrderPolicy | None = None
) -> ReconcileResult:
    """Open orders for faults older than the grace time; verify recoveries and close orders.

    Idempotent: a second call at the same ``now`` changes nothing. The caller commits.
    """
    policy = policy or WorkOrderPolicy()
    result = ReconcileResult()
    cutoff = now - policy.grace
    active = (
        await session.scalars(select(WorkOrder).where(WorkOrder.status != WorkOrderStatus.CLOSED))
    ).all()
    open_keys = {order.open_key for order in active}

    faults = await session.execute(
        select(
            Availability.channel_id,
            Availability.kind,
            Availability.state,
            Availability.since,
            Channel.gb_id,
            Channel.name,
            Channel.civil_code,
            Channel.organization_id,
            Channel.point_class,
        )
        .join(Channel, Channel.id == Availability.channel_id)
        .where(
            Availability.until.is_(None),
            Availability.kind.in_(KINDS),
            Availability.since <= cutoff,
            _bad_state(),
        )
        .order_by(Availability.channel_id, Availability.kind)
    )
    new_orders = []
    for channel_id, kind, state, since, gb_id, name, civil_code, org_id, point_class in faults:
        cause = cause_for(kind, state)
        if cause is None:
            continue
        key = f"{channel_id}:{cause}"
        if key in open_keys:
            continue
        open_keys.add(key)
        priority = policy.priority_for(point_class)
        order = WorkOrder(
            channel_id=channel_id,
            channel_gb_id=gb_id,
            channel_name=name,
            civil_code=civil_code,
            organization_id=org_id,
            point_class=point_class,
            kind=kind,
            cause=cause,
            priority=priority,
            status=WorkOrderStatus.OPEN,
            open_key=key,
            fault_since=since,
            detected_at=now,
            due_at=policy.due(priority, now),
            assignee="",
            resolution="",
            close_reason="",
        )
        new_orders.append(order)
    if new_orders:
        session.add_all(new_orders)
        await session.flush()
        session.add_all(
            WorkOrderEvent(
                work_order_id=order.id,
                at=now,
                kind=EventKind.OPENED,
                actor=SYSTEM,
                note=f"{order.kind} {order.cause} since {order.fault_since.isoformat()}",
            )
            for order in new_orders
        )
        result.opened = len(new_orders)

    # Verify recoveries of the orders that were already open.
    channel_ids = [o.channel_id for o in active if o.channel_id is not None]
    current: dict[tuple[int, str], tuple[str, datetime]] = {}
    for start in range(0, len(channel_ids), 2000):
        rows = await session.execute(
            select(Availability.channel_id, Availability.kind, Availability.state, Availability.since).where(
                Availability.until.is_(None),
                Availability.channel_id.in_(channel_ids[start : start + 2000]),
            )
        )
        for channel_id, kind, state, since in rows:
            current[(channel_id, kind)] = (state, since)
    for order in active:
        if order.channel_id is None:
            continue
        state, since = current.get((order.channel_id, order.kind), ("", now))
        if GOOD_STATE[order.kind] == state:
            if since <= cutoff:
                _close(order, now, Resolution.RECOVERED, f"recovered: {state} since {since.isoformat()}")
                session.add(order)
                result.closed += 1
                session.add(
                    WorkOrderEvent(
                        work_order_id=order.id,
                        at=now,
                        kind=EventKind.CLOSED,
                        actor=SYSTEM,
                        note=f"recovery verified: {state} since {since.isoformat()}",
                    )
                )
            elif order.recovery_seen_at is None:
                order.recovery_seen_at = since
                result.recovering += 1
                session.add(
                    WorkOrderEvent(
                        work_order_id=order.id,
                        at=now,
                        kind=EventKind.RECOVERING,
                        actor=SYSTEM,
                        note=f"{state} since {since.isoformat()}; verifying for {policy.grace}",
                    )
                )
        elif order.recovery_seen_at is not None:
            order.recovery_seen_at = None
            result.relapsed += 1
            session.add(
                WorkOrderEvent(
                    work_order_id=order.id,
                    at=now,
                    kind=EventKind.RELAPSED,
                    actor=SYSTEM,
                    note=f"{state or 'no state'} again before recovery was verified",
                )
            )
    await session.flush()
    return result


def _close(order: WorkOrder, now: datetime, resolution: str, reason: str) -> None:
    order.status = WorkOrderStatus.CLOSED
    order.closed_at = now
    order.open_key = None
    order.resolution = resolution
    order.close_reason = reason


# --- operators --------------------------------------------------------------------------------


async def _order(session: AsyncSession, order_id: int) -> WorkOrder:
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise WorkOrderNotFound(f"work order {order_id} not found")
    return order


def _text(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


async def assign_work_order(
    session: AsyncSession, order_id: int, assignee: str, *, actor: str, now: datetime, note: str = ""
) -> WorkOrder:
    """Give the order to ``assignee`` (a person or contractor); reassigning is allowed."""
    assignee = _text(assignee, "assignee", 100)
    order = await _order(session, order_id)
    if order.status == WorkOrderStatus.CLOSED:
        raise WorkOrderConflict(f"work order {order_id} is closed")
    order.assignee = assignee
    order.assigned_at = now
    order.status = WorkOrderStatus.ASSIGNED
    text = f"assigned to {assignee}" + (f": {note.strip()}" if note.strip() else "")
    session.add(
        WorkOrderEvent(work_order_id=order.id, at=now, kind=EventKind.ASSIGNED, actor=actor, note=text)
    )
    await session.flush()
    return order


async def comment_work_order(
    session: AsyncSession, order_id: int, note: str, *, actor: str, now: datetime
) -> WorkOrder:
    """Add a note (closed orders too: the history stays open for remarks)."""
    note = _text(note, "comment", 4000)
    order = await _order(session, order_id)
    session.add(
        WorkOrderEvent(work_order_id=order.id, at=now, kind=EventKind.COMMENT, actor=actor, note=note)
    )
    await session.flush()
    return order


async def close_work_order(
    session: AsyncSession, order_id: int, reason: str, *, actor: str, now: datetime
) -> WorkOrder:
    """An operator closes the order with a reason (e.g. camera removed, duplicate)."""
    reason = _text(reason, "reason", 4000)
    order = await _order(session, order_id)
    if order.status == WorkOrderStatus.CLOSED:
        raise WorkOrderConflict(f"work order {order_id} is already closed")
    _close(order, now, Resolution.OPERATOR, reason)
    session.add(
        WorkOrderEvent(work_order_id=order.id, at=now, kind=EventKind.CLOSED, actor=actor, note=reason)
    )
    await session.flush()
    return order


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    """``status``: open, assigned, closed, or ``active`` (not closed)."""

    status: str | None = None
    overdue: bool | None = None
    region: str | None = None
    org_path: str | None = None
    cause: str | None = None
    priority: int | None = None
    channel: str | None = None
    access: Any = None  # a where-clause on Channel: only orders of channels the user may see

    def conditions(self, now: datetime) -> list[Any]:
        conditions: list[Any] = []
        if self.status == "active":
            conditions.append(WorkOrder.status != WorkOrderStatus.CLOSED)
        elif self.status:
            conditions.append(WorkOrder.status == self.status)
        if self.overdue is not None:
            late = and_(WorkOrder.status != WorkOrderStatus.CLOSED, WorkOrder.due_at < now)
            conditions.append(late if self.overdue else ~late)
        if self.region:
            low, high = civil_code_range(self.region)
            conditions.append(and_(WorkOrder.civil_code >= low, WorkOrder.civil_code < high))
        if self.org_path:
            subtree = select(Organization.id).where(
                Organization.path.startswith(self.org_path, autoescape=True)
            )
            conditions.append(WorkOrder.organization_id.in_(subtree))
        if self.cause:
            conditions.append(WorkOrder.cause == self.cause)
        if self.priority is not None:
            conditions.append(WorkOrder.priority == self.priority)
        if self.channel:
            conditions.append(WorkOrder.channel_gb_id == self.channel)
        if self.access is not None:
            conditions.append(WorkOrder.channel_gb_id.in_(select(Channel.gb_id).where(self.access)))
        return conditions


def work_order_public(order: WorkOrder, now: datetime, org: tuple[str, str] | None = None) -> dict[str, Any]:
    """The API shape of an order; ``overdue`` is computed against ``now`` (or the close time)."""
    late_at = order.closed_at or now
    return {
        "id": order.id,
        "channel_id": order.channel_gb_id,
        "channel_name": order.channel_name,
        "civil_code": order.civil_code,
        "organization": org[0] if org else None,
        "organization_name": org[1] if org else None,
        "point_class": order.point_class,
        "kind": order.kind,
        "cause": order.cause,
        "priority": order.priority,
        "status": order.status,
        "fault_since": order.fault_since,
        "detected_at": order.detected_at,
        "due_at": order.due_at,
        "overdue": late_at > order.due_at,
        "assignee": order.assignee,
        "assigned_at": order.assigned_at,
        "recovery_seen_at": order.recovery_seen_at,
        "closed_at": order.closed_at,
        "resolution": order.resolution,
        "close_reason": order.close_reason,
    }


async def _org_names(session: AsyncSession) -> dict[int, tuple[str, str]]:
    rows = await session.execute(select(Organization.id, Organization.code, Organization.name))
    return {org_id: (code, name) for org_id, code, name in rows}


async def list_work_orders(
    session: AsyncSession,
    filters: WorkOrderFilter,
    *,
    now: datetime,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Orders matching ``filters``, most urgent first (open before closed, then due time)."""
    conditions = filters.conditions(now)
    total = int(await session.scalar(select(func.count(WorkOrder.id)).where(*conditions)) or 0)
    statement = (
        select(WorkOrder)
        .where(*conditions)
        .order_by((WorkOrder.status == WorkOrderStatus.CLOSED), WorkOrder.due_at, WorkOrder.id)
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    orders = (await session.scalars(statement)).all()
    orgs = await _org_names(session)
    return [work_order_public(o, now, orgs.get(o.organization_id or -1)) for o in orders], total


async def get_work_order(session: AsyncSession, order_id: int, *, now: datetime) -> dict[str, Any]:
    """One order with its full event history, oldest first."""
    order = await _order(session, order_id)
    events = (
        await session.scalars(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id).order_by(WorkOrderEvent.id)
        )
    ).all()
    orgs = await _org_names(session)
    return {
        **work_order_public(order, now, orgs.get(order.organization_id or -1)),
        "events": [{"at": e.at, "kind": e.kind, "actor": e.actor, "note": e.note} for e in events],
    }


async def work_order_counts(
    session: AsyncSession, filters: WorkOrderFilter, *, now: datetime
) -> dict[str, int]:
    """Active, overdue and per-cause counts of active orders matching ``filters``."""
    conditions = [*filters.conditions(now), WorkOrder.status != WorkOrderStatus.CLOSED]
    rows = await session.execute(
        select(WorkOrder.cause, func.count(), func.sum(_as_int(WorkOrder.due_at < now)))
        .where(*conditions)
        .group_by(WorkOrder.cause)
    )
    counts: dict[str, int] = {"active": 0, "overdue": 0}
    for cause, count, overdue in rows:
        counts["active"] += count
        counts["overdue"] += int(overdue or 0)
        counts[f"cause:{cause}"] = count
    return counts


def _as_int(condition: Any) -> Any:
    return case((condition, 1), else_=0)


async def export_work_orders(
    session: AsyncSession, path: Any, filters: WorkOrderFilter, *, now: datetime, zone: Any
) -> int:
    """Write matching orders (sheet 1) and their events (sheet 2) to an XLSX file; times local to ``zone``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    orders, _total = await list_work_orders(session, filters, now=now, limit=None)

    def local(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = "work orders"
    columns = [
        "id", "channel_id", "channel_name", "civil_code", "organization", "organization_name", "point_class",
        "kind", "cause", "priority", "status", "overdue", "fault_since", "detected_at", "due_at", "assignee",
        "assigned_at", "closed_at", "resolution", "close_reason",
    ]  # fmt: skip
    sheet.append(columns)
    times = {"fault_since", "detected_at", "due_at", "assigned_at", "closed_at"}
    for order in orders:
        sheet.append([local(order[c]) if c in times else order[c] for c in columns])
    events = book.create_sheet("events")
    events.append(["work_order_id", "at", "kind", "actor", "note"])
    ids = [order["id"] for order in orders]
    for start in range(0, len(ids), 2000):
        rows = await session.execute(
            select(WorkOrderEvent)
            .where(WorkOrderEvent.work_order_id.in_(ids[start : start + 2000]))
            .order_by(WorkOrderEvent.work_order_id, WorkOrderEvent.id)
        )
        for (event,) in rows:
            events.append([event.work_order_id, local(event.at), event.kind, event.actor, event.note])
    for ws in (sheet, events):
        for cell in ws[1]:
            cell.font = Font(bold=True)
    book.save(path)
    return len(orders)
