"""The resource directory's storage operations: upserts from imports, queries for the API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from xueliang.catalog.models import (
    Channel,
    Device,
    DeviceKind,
    Organization,
    OrgKind,
    Region,
    RegionPlan,
)
from xueliang.catalog.records import ChannelRecord
from xueliang.db import utcnow
from xueliang.gbcode import DeviceCategory, civil_code_level, parse_gb_id

__all__ = [
    "ChannelFilter",
    "ImportResult",
    "RegionRow",
    "apply_channel_records",
    "channel_query",
    "civil_code_range",
    "count_rows",
    "device_kind_for",
    "export_channel_rows",
    "known_civil_codes",
    "upsert_regions",
]

_BATCH = 2000

# Columns a channel record sets; None in a record means "keep what is stored".
_RECORD_FIELDS = (
    "name",
    "civil_code",
    "point_class",
    "source",
    "longitude",
    "latitude",
    "address",
    "resolution",
    "hd",
    "ptz_type",
    "stream_url",
    "stream_username",
    "stream_password",
)


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organizations_created: list[str] = field(default_factory=list)
    devices_created: int = 0


@dataclass(frozen=True, slots=True)
class ChannelFilter:
    """Channel list filters as the API and the exporter accept them."""

    status: str | None = None
    region: str | None = None
    org: str | None = None
    point_class: int | None = None
    source: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    q: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class RegionRow:
    civil_code: str
    name: str
    planned: dict[int, int] = field(default_factory=dict)


def civil_code_range(prefix: str) -> tuple[str, str]:
    """Civil codes are digit strings, so a prefix is the half-open range [prefix, prefix + ':')."""
    return prefix, prefix + ":"


def device_kind_for(gb_id: str) -> DeviceKind:
    parsed = parse_gb_id(gb_id)
    if parsed.category is DeviceCategory.PLATFORM:
        return DeviceKind.PLATFORM
    return {"111": DeviceKind.DVR, "118": DeviceKind.NVR, "132": DeviceKind.IPC, "131": DeviceKind.IPC}.get(
        parsed.type_code, DeviceKind.OTHER
    )


async def known_civil_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Region.civil_code))).all())


async def upsert_regions(session: AsyncSession, rows: Sequence[RegionRow]) -> tuple[int, int]:
    """Create or rename regions (parents first) and set their plans; returns (created, updated).

    Every region's parent (its civil code minus the last two digits) must exist or be in
    ``rows``; a missing parent raises ValueError naming it, and nothing is written.
    """
    existing = {r.civil_code: r for r in (await session.scalars(select(Region))).all()}
    given = {row.civil_code for row in rows}
    for row in rows:
        level = civil_code_level(row.civil_code)
        parent = row.civil_code[:-2] if level > 1 else None
        if parent is not None and parent not in existing and parent not in given:
            raise ValueError(f"region {row.civil_code}: parent region {parent} is unknown")
    created = updated = 0
    for row in sorted(rows, key=lambda r: len(r.civil_code)):
        level = civil_code_level(row.civil_code)
        region = existing.get(row.civil_code)
        if region is None:
            region = Region(
                civil_code=row.civil_code,
                name=row.name,
                level=level,
                parent_code=row.civil_code[:-2] if level > 1 else None,
            )
            session.add(region)
            existing[row.civil_code] = region
            created += 1
        elif region.name != row.name:
            region.name = row.name
            updated += 1
        plans = {p.point_class: p for p in region.plans}
        for point_class, planned in row.planned.items():
            if point_class in plans:
                plans[point_class].planned = planned
            else:
                region.plans.append(RegionPlan(point_class=point_class, planned=planned))
    await session.flush()
    return created, updated


async def _resolve_organizations(
    session: AsyncSession, names: set[str], result: ImportResult, dry_run: bool
) -> dict[str, int]:
    """Map organisation codes or names to IDs, creating unknown ones as top-level orgs."""
    if not names:
        return {}
    orgs = (await session.execute(select(Organization.id, Organization.code, Organization.name))).all()
    by_key: dict[str, int] = {}
    for org_id, code, name in orgs:
        by_key.setdefault(name, org_id)
        by_key[code] = org_id
    for name in sorted(names - by_key.keys()):
        result.organizations_created.append(name)
        if dry_run:
            by_key[name] = -1
            continue
        org = Organization(code=name, name=name, kind=OrgKind.OTHER)
        session.add(org)
        await session.flush()
        org.path = f"/{org.id}/"
        by_key[name] = org.id
    return by_key


async def _resolve_devices(
    session: AsyncSession, records: Sequence[ChannelRecord], result: ImportResult, dry_run: bool
) -> dict[str, int]:
    wanted = {r.device_gb_id: r for r in records if r.device_gb_id}
    found: dict[str, int] = {}
    for chunk in _chunks(list(wanted), _BATCH):
        rows = await session.execute(select(Device.gb_id, Device.id).where(Device.gb_id.in_(chunk)))
        found.update(dict(rows.all()))
    missing = [gb for gb in wanted if gb not in found]
    result.devices_created = len(missing)
    if missing and not dry_run:
        now = utcnow()
        values = [
            {
                "gb_id": gb,
                "name": gb,
                "kind": device_kind_for(gb).value,
                "type_code": gb[10:13],
                "civil_code": wanted[gb].civil_code,
                "created_at": now,
                "updated_at": now,
            }
            for gb in missing
        ]
        for chunk in _chunks(values, _BATCH):
            await session.execute(insert(Device), chunk)
        for chunk in _chunks(missing, _BATCH):
            rows = await session.execute(select(Device.gb_id, Device.id).where(Device.gb_id.in_(chunk)))
            found.update(dict(rows.all()))
    return found


async def apply_channel_records(
    session: AsyncSession, records: Sequence[ChannelRecord], *, dry_run: bool = False
) -> ImportResult:
    """Upsert channels by GB ID; a record equal to what is stored changes nothing."""
    result = ImportResult()
    orgs = await _resolve_organizations(
        session, {r.organization for r in records if r.organization}, result, dry_run
    )
    devices = await _resolve_devices(session, records, result, dry_run)
    existing: dict[str, dict[str, Any]] = {}
    columns = [Channel.id, Channel.gb_id, Channel.device_id, Channel.organization_id] + [
        getattr(Channel, name) for name in _RECORD_FIELDS
    ]
    for chunk in _chunks([r.gb_id for r in records], _BATCH):
        rows = await session.execute(select(*columns).where(Channel.gb_id.in_(chunk)))
        for row in rows.mappings():
            existing[row["gb_id"]] = dict(row)
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for record in records:
        wanted = _wanted_values(record, orgs, devices)
        stored = existing.get(record.gb_id)
        if stored is None:
            defaults = {
                "point_class": 3,
                "source": "other",
                "address": "",
                "resolution": "",
                "stream_url": "",
            }
            inserts.append(
                {
                    **defaults,
                    **wanted,
                    "gb_id": record.gb_id,
                    "status": "offline",
                    "parent_id": "",
                    "business_group_id": "",
                    "manufacturer": "",
                    "model": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        changed = {k: v for k, v in wanted.items() if stored.get(k) != v}
        if changed:
            updates.append({"_id": stored["id"], **changed, "updated_at": now})
        else:
            result.unchanged += 1
    result.created = len(inserts)
    result.updated = len(updates)
    if dry_run:
        return result
    for chunk in _chunks(inserts, _BATCH):
        await session.execute(insert(Channel), chunk)
    # Group updates by the set of columns they change so each group is one executemany.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for keys, group in groups.items():
        statement = (
            update(Channel)
            .where(Channel.id == bindparam("_id"))
            .values({k: bindparam(k) for k in keys if k != "_id"})
            .execution_options(synchronize_session=False)
        )
        connection = await session.connection()
        for chunk in _chunks(group, _BATCH):
            await connection.execute(statement, chunk)
    return result


def _wanted_values(record: ChannelRecord, orgs: dict[str, int], devices: dict[str, int]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if value is not None:
            values[name] = value
    if record.organization:
        values["organization_id"] = orgs[record.organization]
    if record.device_gb_id:
        values["device_id"] = devices.get(record.device_gb_id)
    return values


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def channel_query(filters: ChannelFilter, org_paths: dict[str, str] | None = None) -> Select[Any]:
    """The SELECT for channels matching ``filters``, with device and organisation codes joined.

    ``org_paths`` maps an organisation code to its tree path, for subtree filtering.
    """
    device = aliased(Device)
    org = aliased(Organization)
    statement = (
        select(
            Channel,
            device.gb_id.label("device_gb_id"),
            org.code.label("org_code"),
            org.name.label("org_name"),
        )
        .outerjoin(device, Channel.device_id == device.id)
        .outerjoin(org, Channel.organization_id == org.id)
    )
    conditions = []
    if filters.status:
        conditions.append(Channel.status == filters.status)
    if filters.region:
        low, high = civil_code_range(filters.region)
        conditions.append(and_(Channel.civil_code >= low, Channel.civil_code < high))
    if filters.org:
        path = (org_paths or {}).get(filters.org)
        conditions.append(org.path.startswith(path, autoescape=True) if path else org.id == -1)
    if filters.point_class is not None:
        conditions.append(Channel.point_class == filters.point_class)
    if filters.source:
        conditions.append(Channel.source == filters.source)
    if filters.bbox:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        conditions.append(Channel.longitude.between(min_lon, max_lon))
        conditions.append(Channel.latitude.between(min_lat, max_lat))
    if filters.q:
        needle = filters.q.strip()
        conditions.append(
            or_(
                Channel.gb_id.startswith(needle, autoescape=True),
                Channel.name.contains(needle, autoescape=True),
            )
        )
    if filters.device:
        conditions.append(device.gb_id == filters.device)
    if conditions:
        statement = statement.where(*conditions)
    return statement


async def export_channel_rows(
    session: AsyncSession,
    filters: ChannelFilter | None = None,
    org_paths: dict[str, str] | None = None,
    where: Any | None = None,
) -> list[list[Any]]:
    """Rows in :data:`records.COLUMNS` order for every matching channel (no credentials);
    ``where`` is a further clause on :class:`Channel` (a user's scope)."""
    statement = channel_query(filters or ChannelFilter(), org_paths).order_by(Channel.gb_id)
    if where is not None:
        statement = statement.where(where)
    rows = []
    for channel, device_gb_id, org_code, _org_name in await session.execute(statement):
        rows.append(
            [
                channel.gb_id,
                channel.name,
                channel.civil_code,
                org_code or "",
                channel.point_class,
                channel.source,
                channel.longitude,
                channel.latitude,
                channel.address,
                channel.resolution,
                channel.ptz_type,
                device_gb_id or "",
                channel.stream_url,
            ]
        )
    return rows


async def count_rows(session: AsyncSession, statement: Select[Any]) -> int:
    return int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
