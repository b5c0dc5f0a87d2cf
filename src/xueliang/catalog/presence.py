"""What signalling tells the directory: devices registering, reporting catalogs, coming and
going. Hot state lives in the signalling plane; these functions write only the changes."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog.availability import record_states
from xueliang.catalog.directory import device_kind_for
from xueliang.catalog.models import Channel, ChannelStatus, Device, DirectoryNode, Region
from xueliang.catalog.tree import TreeEntry, build_tree
from xueliang.gbcode import DeviceCategory, GbCodeError, civil_code_ancestors, is_civil_code, parse_gb_id

__all__ = [
    "CatalogEntry",
    "CatalogOutcome",
    "Registration",
    "device_passwords",
    "register_devices",
    "reset_presence",
    "apply_catalog",
    "apply_catalogs",
    "delete_catalog_entries",
    "device_password",
    "register_device",
    "set_devices_online",
    "set_reported_status",
    "update_device_info",
]

log = logging.getLogger(__name__)

_CHUNK = 2000
# Channel facts an operator curates in the directory (import, API); a device's catalog only
# fills them while they are empty.
CURATED = ("name", "civil_code", "longitude", "latitude", "address", "ptz_type")


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One catalog item as a device reports it (GB/T 28181 A.2.1.9), transport-neutral."""

    gb_id: str
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    civil_code: str = ""
    parent_id: str = ""
    business_group_id: str = ""
    address: str = ""
    status_on: bool | None = None
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None
    event: str = ""  # catalog notifications (A.2.5): ON, OFF, VLOST, DEFECT, ADD, DEL, UPDATE

    @property
    def node_kind(self) -> str | None:
        """'region', 'business_group' or 'virtual_org' for tree nodes; None for channels."""
        if is_civil_code(self.gb_id):
            return "region"
        try:
            category = parse_gb_id(self.gb_id)
        except GbCodeError:
            return None
        if category.type_code == "215":
            return "business_group"
        if category.type_code == "216":
            return "virtual_org"
        return None


@dataclass(slots=True)
class CatalogOutcome:
    created: int = 0
    updated: int = 0
    nodes: int = 0
    rejected: int = 0
    missing_devices: int = 0


async def device_password(session: AsyncSession, gb_id: str) -> str | None:
    """The device's own password, if one is set (the caller falls back to the platform default)."""
    return await session.scalar(select(Device.password).where(Device.gb_id == gb_id))


@dataclass(frozen=True, slots=True)
class Registration:
    """A device's successful REGISTER, as the directory records it."""

    gb_id: str
    address: str
    transport: str
    gb_version: str


async def register_device(
    session: AsyncSession, gb_id: str, *, address: str, transport: str, gb_version: str, at: datetime
) -> Device:
    """Create the device on first registration (kind and civil code from its GB ID), mark it online."""
    await register_devices(session, [Registration(gb_id, address, transport, gb_version)], at)
    device = await session.scalar(
        select(Device).where(Device.gb_id == gb_id).execution_options(populate_existing=True)
    )
    assert device is not None
    return device


async def register_devices(session: AsyncSession, registrations: Sequence[Registration], at: datetime) -> int:
    """Many registrations in a few statements; returns how many devices were new."""
    latest = {r.gb_id: r for r in registrations}
    known: set[str] = set()
    for chunk in _chunks(list(latest)):
        known.update((await session.scalars(select(Device.gb_id).where(Device.gb_id.in_(chunk)))).all())
    new = []
    for gb_id in latest.keys() - known:
        parsed = parse_gb_id(gb_id)
        new.append(
            {
                "gb_id": gb_id,
                "name": gb_id,
                "kind": device_kind_for(gb_id).value,
                "type_code": parsed.type_code,
                "civil_code": parsed.civil_code,
                "created_at": at,
                "updated_at": at,
            }
        )
    connection = await session.connection()
    for chunk in _chunks(new):
        await connection.execute(insert(Device), chunk)
    statement = (
        update(Device)
        .where(Device.gb_id == bindparam("_gb"))
        .values(
            address=bindparam("address"),
            transport=bindparam("transport"),
            gb_version=bindparam("gb_version"),
            registered_at=at,
            last_seen_at=at,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    values = [
        {"_gb": r.gb_id, "address": r.address, "transport": r.transport, "gb_version": r.gb_version}
        for r in latest.values()
    ]
    for chunk in _chunks(values):
        await connection.execute(statement, chunk)
    await set_devices_online(session, list(latest), True, at)
    return len(new)


async def device_passwords(session: AsyncSession) -> dict[str, str]:
    """Devices that have a password of their own (the rest use the platform default)."""
    rows = await session.execute(select(Device.gb_id, Device.password).where(Device.password.is_not(None)))
    return {gb: password for gb, password in rows if password}


async def reset_presence(session: AsyncSession, at: datetime) -> int:
    """At start-up nobody is registered yet: whatever was online is offline from ``at``."""
    online = (await session.scalars(select(Device.gb_id).where(Device.status == ChannelStatus.ONLINE))).all()
    return await set_devices_online(session, list(online), False, at) if online else 0


async def update_device_info(
    session: AsyncSession, gb_id: str, *, name: str, manufacturer: str, model: str, firmware: str
) -> None:
    values = {
        k: v
        for k, v in (("manufacturer", manufacturer), ("model", model), ("firmware", firmware), ("name", name))
        if v
    }
    if values:
        await session.execute(update(Device).where(Device.gb_id == gb_id).values(**values))


async def set_devices_online(session: AsyncSession, gb_ids: Sequence[str], online: bool, at: datetime) -> int:
    """Devices come online or go offline; their channels follow (online only if reported ON).

    Returns the number of channels whose availability changed.
    """
    status = ChannelStatus.ONLINE if online else ChannelStatus.OFFLINE
    states: dict[int, str] = {}
    for chunk in _chunks(list(gb_ids)):
        await session.execute(
            update(Device).where(Device.gb_id.in_(chunk)).values(status=status, last_seen_at=at)
        )
        rows = await session.execute(
            select(Channel.id, Channel.reported_status)
            .join(Device, Channel.device_id == Device.id)
            .where(Device.gb_id.in_(chunk))
        )
        for channel_id, reported in rows:
            states[channel_id] = _channel_state(online, reported)
    return await record_states(session, "online", states, at)


def _channel_state(device_online: bool, reported: str) -> str:
    return ChannelStatus.ONLINE if device_online and reported != "OFF" else ChannelStatus.OFFLINE


async def apply_catalog(
    session: AsyncSession, device_gb_id: str, entries: Iterable[CatalogEntry], at: datetime
) -> CatalogOutcome:
    """Upsert a device's catalog: channels by GB ID, tree nodes beside them, states as intervals."""
    outcome = await apply_catalogs(session, [(device_gb_id, entries)], at)
    if outcome.missing_devices:
        raise LookupError(f"device {device_gb_id} is not registered")
    return outcome


async def apply_catalogs(
    session: AsyncSession, catalogs: Sequence[tuple[str, Iterable[CatalogEntry]]], at: datetime
) -> CatalogOutcome:
    """Several devices' catalogs (or parts) in one pass: a few statements however many devices.

    Devices that are not in the directory are counted in ``missing_devices`` and skipped.
    """
    outcome = CatalogOutcome()
    wanted = list(dict.fromkeys(gb for gb, _ in catalogs))
    devices: dict[str, Device] = {}
    for chunk in _chunks(wanted):
        devices.update(
            {d.gb_id: d for d in (await session.scalars(select(Device).where(Device.gb_id.in_(chunk))))}
        )
    channels: dict[str, tuple[Device, CatalogEntry]] = {}
    regions: dict[str, str] = {}
    for device_gb_id, entries in catalogs:
        device = devices.get(device_gb_id)
        if device is None:
            outcome.missing_devices += 1
            continue
        nodes: dict[str, CatalogEntry] = {}
        for entry in entries:
            if entry.node_kind is not None:
                nodes[entry.gb_id] = entry
                continue
            try:
                parsed = parse_gb_id(entry.gb_id)
            except GbCodeError:
                outcome.rejected += 1
                continue
            if parsed.category is DeviceCategory.PLATFORM:
                outcome.rejected += 1
                continue
            channels[entry.gb_id] = (device, entry)
        outcome.nodes += await _upsert_nodes(session, device.id, nodes)
        if nodes:
            await _report_loops(session, device)
        regions.update({gb: e.name for gb, e in nodes.items() if e.node_kind == "region"})
    await _ensure_regions(session, regions)
    existing: dict[str, tuple[int, dict[str, Any]]] = {}
    curated_columns = [getattr(Channel, name) for name in CURATED]
    for chunk in _chunks(list(channels)):
        rows = await session.execute(
            select(Channel.gb_id, Channel.id, *curated_columns).where(Channel.gb_id.in_(chunk))
        )
        for gb, cid, *curated in rows:
            existing[gb] = (cid, dict(zip(CURATED, curated, strict=True)))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for gb_id, (device, entry) in channels.items():
        values = _channel_values(entry, device)
        if gb_id in existing:
            cid, curated = existing[gb_id]
            # The directory's curated facts win over what a device reports; gaps are filled.
            kept = {k for k, v in curated.items() if v not in (None, "")} | {"organization_id"}
            changes = {k: v for k, v in values.items() if k not in kept}
            updates.append({"_id": cid, **changes, "updated_at": at})
        else:
            inserts.append(
                {
                    "gb_id": gb_id,
                    **values,
                    "status": _channel_state(
                        device.status == ChannelStatus.ONLINE, values["reported_status"]
                    ),
                    "point_class": 3,
                    "source": "other",
                    "resolution": "",
                    "stream_url": "",
                    "created_at": at,
                    "updated_at": at,
                }
            )
    connection = await session.connection()
    for chunk in _chunks(inserts):
        await connection.execute(insert(Channel), chunk)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:  # one executemany per set of changed columns
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for keys, group in groups.items():
        statement = (
            update(Channel)
            .where(Channel.id == bindparam("_id"))
            .values({k: bindparam(k) for k in keys if k != "_id"})
            .execution_options(synchronize_session=False)
        )
        for chunk in _chunks(group):
            await connection.execute(statement, chunk)
    outcome.created, outcome.updated = len(inserts), len(updates)
    ids: dict[str, int] = {gb: cid for gb, (cid, _) in existing.items()}
    new_ids = [gb for gb in channels if gb not in ids]
    for chunk in _chunks(new_ids):
        rows = await session.execute(select(Channel.gb_id, Channel.id).where(Channel.gb_id.in_(chunk)))
        ids.update(dict(rows.all()))
    states = {
        ids[gb]: _channel_state(device.status == ChannelStatus.ONLINE, _reported(entry.status_on))
        for gb, (device, entry) in channels.items()
    }
    inserted = {ids[gb]: states[ids[gb]] for gb in new_ids}
    await record_states(session, "online", states, at, status_written=inserted)
    return outcome


def _reported(status_on: bool | None) -> str:
    return "" if status_on is None else ("ON" if status_on else "OFF")


def _channel_values(entry: CatalogEntry, device: Device) -> dict[str, Any]:
    civil_code = entry.civil_code if is_civil_code(entry.civil_code) else parse_gb_id(entry.gb_id).civil_code
    return {
        "name": entry.name[:200] or entry.gb_id,
        "device_id": device.id,
        "organization_id": device.organization_id,
        "civil_code": civil_code,
        "manufacturer": entry.manufacturer[:100],
        "model": entry.model[:100],
        "parent_id": entry.parent_id[:200],
        "business_group_id": entry.business_group_id[:20],
        "address": entry.address[:300],
        "longitude": entry.longitude,
        "latitude": entry.latitude,
        "ptz_type": entry.ptz_type,
        "reported_status": _reported(entry.status_on),
    }


async def _upsert_nodes(session: AsyncSession, device_id: int, nodes: dict[str, CatalogEntry]) -> int:
    if not nodes:
        return 0
    await session.execute(
        delete(DirectoryNode).where(
            DirectoryNode.device_id == device_id, DirectoryNode.gb_id.in_(list(nodes))
        )
    )
    await session.execute(
        insert(DirectoryNode),
        [
            {
                "device_id": device_id,
                "gb_id": gb,
                "name": e.name[:200],
                "kind": e.node_kind,
                "parent_id": e.parent_id[:200],
                "business_group_id": e.business_group_id[:20],
            }
            for gb, e in nodes.items()
        ],
    )
    return len(nodes)


async def _report_loops(session: AsyncSession, device: Device) -> None:
    """Log parent loops among a device's tree nodes (stored as reported: nothing is dropped;
    the tree is cut where it loops when it is rebuilt, see :mod:`xueliang.catalog.tree`)."""
    rows = await session.execute(
        select(
            DirectoryNode.gb_id, DirectoryNode.kind, DirectoryNode.parent_id, DirectoryNode.business_group_id
        ).where(DirectoryNode.device_id == device.id)
    )
    tree = build_tree(TreeEntry(gb, kind=kind or "virtual_org", parent_id=parent, business_group_id=group)
                      for gb, kind, parent, group in rows)  # fmt: skip
    if tree.cycles:
        log.warning(
            "catalog of %s: the parents of its tree nodes form %d loop(s); cut at %s when the tree is shown",
            device.gb_id,
            len(tree.cycles),
            ", ".join(tree.cycles[:5]),
        )


async def _ensure_regions(session: AsyncSession, names: dict[str, str]) -> None:
    """Administrative divisions a device or lower platform reports become regions of the
    directory when they are not yet (with their ancestors), so their channels can be counted
    and reported by region. Existing regions are never renamed: the directory's names win."""
    wanted = {a for code in names for a in (*civil_code_ancestors(code), code)}
    if not wanted:
        return
    known = set((await session.scalars(select(Region.civil_code).where(Region.civil_code.in_(wanted)))).all())
    missing = sorted(wanted - known, key=lambda code: (len(code), code))
    if missing:
        await session.execute(
            insert(Region),
            [
                {
                    "civil_code": code,
                    "name": (names.get(code) or code)[:100],
                    "parent_code": code[:-2] if len(code) > 2 else None,
                    "level": len(code) // 2,
                }
                for code in missing
            ],
        )


async def set_reported_status(
    session: AsyncSession, device_gb_id: str, reported: dict[str, bool], at: datetime
) -> int:
    """Status-only catalog events (ON/OFF/VLOST/DEFECT) for channels of one device."""
    device = await session.scalar(select(Device).where(Device.gb_id == device_gb_id))
    if device is None or not reported:
        return 0
    rows = (
        await session.execute(
            select(Channel.gb_id, Channel.id).where(
                Channel.device_id == device.id, Channel.gb_id.in_(list(reported))
            )
        )
    ).all()
    connection = await session.connection()
    statement = (
        update(Channel)
        .where(Channel.id == bindparam("_id"))
        .values(reported_status=bindparam("reported"))
        .execution_options(synchronize_session=False)
    )
    values = [{"_id": cid, "reported": _reported(reported[gb])} for gb, cid in rows]
    if values:
        await connection.execute(statement, values)
    online = device.status == ChannelStatus.ONLINE
    states = {cid: _channel_state(online, _reported(reported[gb])) for gb, cid in rows}
    return await record_states(session, "online", states, at)


async def delete_catalog_entries(
    session: AsyncSession, device_gb_id: str, gb_ids: Sequence[str], at: datetime
) -> int:
    """A DEL catalog notification: the channels leave the directory (their history goes with them)."""
    device_id = await session.scalar(select(Device.id).where(Device.gb_id == device_gb_id))
    if device_id is None:
        return 0
    removed = 0
    for chunk in _chunks(list(gb_ids)):
        result = await session.execute(
            delete(Channel).where(Channel.device_id == device_id, Channel.gb_id.in_(chunk))
        )
        removed += result.rowcount or 0
        await session.execute(
            delete(DirectoryNode).where(DirectoryNode.device_id == device_id, DirectoryNode.gb_id.in_(chunk))
        )
    return removed


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
