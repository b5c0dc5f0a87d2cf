"""Security alerts (安全告警) and the vulnerable-firmware list, stored.

An alert aggregates events: one *open* alert per device and kind, with when it was first and
last seen and how many times; resolving it closes it, and the next event opens a new one.
Events are written in batches by the signalling plane's directory writer, off the hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.catalog import Device
from xueliang.db import Base, UtcDateTime, utcnow
from xueliang.security.assets import AlertKind, FirmwareRule, SecurityEvent, glob_to_like

__all__ = [
    "AlertFilter",
    "SecurityAlert",
    "VulnerableFirmware",
    "alert_summary",
    "check_firmware",
    "firmware_rules",
    "list_alerts",
    "record_events",
    "resolve_alert",
    "scan_firmware",
]

_CHUNK = 500


class SecurityAlert(Base):
    """Security events of one kind about one device (by GB ID: unknown IDs have no row)."""

    __tablename__ = "security_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    device_id: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(80), default="", doc="Where it was last seen from")
    detail: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")


# At most one open alert per device and kind (a partial unique index on both backends).
Index(
    "ix_security_alert_open",
    SecurityAlert.device_id,
    SecurityAlert.kind,
    unique=True,
    sqlite_where=SecurityAlert.resolved_at.is_(None),
    postgresql_where=SecurityAlert.resolved_at.is_(None),
)


class VulnerableFirmware(Base):
    """An entry of the operator's vulnerable list: ``*``/``?`` patterns, case-insensitive."""

    __tablename__ = "vulnerable_firmware"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100), default="*")
    model: Mapped[str] = mapped_column(String(100), default="*")
    firmware: Mapped[str] = mapped_column(String(100))
    advisory: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# -- writing ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    count: int
    first: datetime
    last: datetime
    address: str
    detail: str


async def record_events(session: AsyncSession, events: Sequence[tuple[SecurityEvent, datetime]]) -> int:
    """Fold ``(event, when)`` pairs into the open alerts; returns how many alerts were opened."""
    tallies: dict[tuple[str, str], _Tally] = {}
    for event, at in events:
        key = (event.device_id, event.kind.value)
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = _Tally(1, at, at, event.address, event.detail)
        else:
            tally.count += 1
            tally.first, tally.last = min(tally.first, at), max(tally.last, at)
            if at >= tally.last:
                tally.address, tally.detail = event.address, event.detail
    open_ids: dict[tuple[str, str], int] = {}
    devices = sorted({device for device, _ in tallies})
    for start in range(0, len(devices), _CHUNK):
        rows = await session.execute(
            select(SecurityAlert.id, SecurityAlert.device_id, SecurityAlert.kind).where(
                SecurityAlert.device_id.in_(devices[start : start + _CHUNK]),
                SecurityAlert.resolved_at.is_(None),
            )
        )
        open_ids.update({(device, kind): id_ for id_, device, kind in rows if (device, kind) in tallies})
    connection = await session.connection()
    updates = [
        {"_id": open_ids[key], "n": t.count, "last": t.last, "address": t.address, "detail": t.detail}
        for key, t in tallies.items()
        if key in open_ids
    ]
    if updates:
        statement = (
            update(SecurityAlert)
            .where(SecurityAlert.id == bindparam("_id"))
            .values(
                count=SecurityAlert.count + bindparam("n"),
                last_seen=bindparam("last"),
                address=bindparam("address"),
                detail=bindparam("detail"),
            )
            .execution_options(synchronize_session=False)
        )
        await connection.execute(statement, updates)
    new = [
        {
            "device_id": device,
            "kind": kind,
            "address": t.address,
            "detail": t.detail,
            "count": t.count,
            "first_seen": t.first,
            "last_seen": t.last,
            "resolved_by": "",
            "note": "",
        }
        for (device, kind), t in tallies.items()
        if (device, kind) not in open_ids
    ]
    if new:
        await connection.execute(insert(SecurityAlert), new)
    return len(new)


async def firmware_rules(session: AsyncSession) -> list[FirmwareRule]:
    rows = await session.scalars(select(VulnerableFirmware).order_by(VulnerableFirmware.id))
    return [FirmwareRule(r.id, r.manufacturer, r.model, r.firmware, r.advisory) for r in rows]


def _firmware_event(device_id: str, firmware: str, rule: FirmwareRule) -> SecurityEvent:
    detail = f"firmware {firmware} is on the vulnerable list (entry {rule.id}): {rule.advisory}"
    return SecurityEvent(AlertKind.VULNERABLE_FIRMWARE, device_id, "", detail)


async def check_firmware(
    session: AsyncSession, reports: Sequence[tuple[str, str, str, str, datetime]]
) -> int:
    """Devices reported their DeviceInfo ``(device_id, manufacturer, model, firmware, when)``:
    raise an alert for each one the list covers (its first matching entry); returns how many."""
    rules = await firmware_rules(session)
    events = []
    for device_id, manufacturer, model, firmware, at in reports:
        rule = next((r for r in rules if r.matches(manufacturer, model, firmware)), None)
        if rule is not None:
            events.append((_firmware_event(device_id, firmware, rule), at))
    if events:
        await record_events(session, events)
    return len(events)


async def scan_firmware(session: AsyncSession, rule: FirmwareRule, at: datetime) -> int:
    """Raise alerts for every device in the directory a (new or edited) entry covers."""
    lowered = [
        (func.lower(column), glob_to_like(pattern))
        for column, pattern in (
            (Device.manufacturer, rule.manufacturer),
            (Device.model, rule.model),
            (Device.firmware, rule.firmware),
        )
    ]
    rows = await session.execute(
        select(Device.gb_id, Device.firmware).where(
            Device.firmware != "", *(column.like(pattern, escape="\\") for column, pattern in lowered)
        )
    )
    events = [(_firmware_event(gb_id, firmware, rule), at) for gb_id, firmware in rows]
    for start in range(0, len(events), _CHUNK):
        await record_events(session, events[start : start + _CHUNK])
    return len(events)


async def resolve_alert(
    session: AsyncSession, alert_id: int, *, by: str, note: str, at: datetime
) -> SecurityAlert | None:
    """Close an open alert; None if there is no such alert. Already resolved: unchanged."""
    alert = await session.get(SecurityAlert, alert_id)
    if alert is not None and alert.resolved_at is None:
        alert.resolved_at, alert.resolved_by, alert.note = at, by, note
        await session.flush()
    return alert


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertFilter:
    kind: AlertKind | None = None
    device: str | None = None  # a GB ID, or a prefix of one (a civil code)
    open: bool | None = None


def _filtered(statement: Any, f: AlertFilter) -> Any:
    if f.kind is not None:
        statement = statement.where(SecurityAlert.kind == f.kind.value)
    if f.device:
        statement = statement.where(SecurityAlert.device_id.startswith(f.device, autoescape=True))
    if f.open is not None:
        resolved = SecurityAlert.resolved_at
        statement = statement.where(resolved.is_(None) if f.open else resolved.is_not(None))
    return statement


async def list_alerts(
    session: AsyncSession, f: AlertFilter, *, limit: int, offset: int
) -> tuple[list[SecurityAlert], int]:
    """Alerts newest-seen first, and how many match."""
    total = await session.scalar(_filtered(select(func.count(SecurityAlert.id)), f))
    rows = await session.scalars(
        _filtered(select(SecurityAlert), f)
        .order_by(SecurityAlert.last_seen.desc(), SecurityAlert.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def alert_summary(
    session: AsyncSession, start: datetime, end: datetime, *, region: str | None = None, top: int = 10
) -> dict[str, Any]:
    """Alerts seen within [start, end) (of devices whose ID starts with ``region``): counts by
    kind (``alerts``, ``events``, ``open``) and the ``top`` devices by events."""
    seen = select(SecurityAlert).where(SecurityAlert.last_seen >= start, SecurityAlert.first_seen < end)
    if region:
        seen = seen.where(SecurityAlert.device_id.startswith(region, autoescape=True))
    alerts = seen.subquery()
    by_kind = await session.execute(
        select(
            alerts.c.kind,
            func.count(),
            func.sum(alerts.c.count),
            func.count(alerts.c.id).filter(alerts.c.resolved_at.is_(None)),
        ).group_by(alerts.c.kind)
    )
    kinds = {
        kind: {"alerts": int(n), "events": int(events or 0), "open": int(still_open)}
        for kind, n, events, still_open in by_kind
    }
    events = func.sum(alerts.c.count).label("events")
    top_rows = (
        await session.execute(
            select(
                alerts.c.device_id,
                events,
                func.count().label("alerts"),
                func.max(alerts.c.last_seen),
                Device.name,
            )
            .outerjoin(Device, Device.gb_id == alerts.c.device_id)
            .group_by(alerts.c.device_id, Device.name)
            .order_by(events.desc(), alerts.c.device_id)
            .limit(top)
        )
    ).all()
    kinds_of = await session.execute(
        select(alerts.c.device_id, alerts.c.kind)
        .where(alerts.c.device_id.in_([row[0] for row in top_rows]))
        .distinct()
    )
    device_kinds: dict[str, list[str]] = {}
    for device, kind in kinds_of:
        device_kinds.setdefault(device, []).append(kind)
    devices = [
        {
            "device_id": device,
            "name": name or "",
            "events": int(n),
            "alerts": int(count),
            "kinds": sorted(device_kinds.get(device, [])),
            "last_seen": last,
        }
        for device, n, count, last, name in top_rows
    ]
    return {
        "by_kind": {k.value: kinds.get(k.value, {"alerts": 0, "events": 0, "open": 0}) for k in AlertKind},
        "devices": devices,
        "total": sum(k["alerts"] for k in kinds.values()),
    }
