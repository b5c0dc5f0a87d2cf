"""The cascade's reads and writes: upper-platform configurations and the directory as the
cascade shares it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from xueliang.cascade.catalog import OrgNode
from xueliang.cascade.models import Uplink, UplinkChannel
from xueliang.cascade.rules import ChannelFacts, SharePolicy, ShareRule
from xueliang.cascade.share import DirectoryRow, DirectorySnapshot
from xueliang.catalog import Channel, ChannelStatus, Device, Organization, Region

__all__ = [
    "UplinkConfig",
    "directory_mark",
    "load_directory",
    "load_uplinks",
    "policy_of",
    "replace_listed_channels",
    "snapshot_of",
]


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    """One upper platform as the running cascade uses it."""

    sip_id: str
    domain: str
    host: str
    port: int
    transport: str  # "UDP" or "TCP"
    password: str
    local_id: str  # never empty: the platform's own ID when none is configured
    register_expires: int = 3600
    keepalive_interval: int = 60
    enabled: bool = True
    name: str = ""
    policy: SharePolicy = field(default_factory=SharePolicy)

    @property
    def link_key(self) -> tuple[Any, ...]:
        """What the registration depends on: a change means registering afresh."""
        return (self.sip_id, self.domain, self.host, self.port, self.transport, self.password,
                self.local_id, self.register_expires, self.keepalive_interval, self.enabled)  # fmt: skip


def policy_of(uplink: Uplink, listed: Sequence[UplinkChannel]) -> SharePolicy:
    return SharePolicy(
        rules=tuple(ShareRule(**rule) for rule in uplink.share_rules or ()),
        channels=frozenset(row.channel_gb_id for row in listed if row.listed),
        id_map={row.channel_gb_id: row.upper_id for row in listed if row.upper_id},
    )


async def load_uplinks(session: AsyncSession, default_local_id: str) -> list[UplinkConfig]:
    uplinks = (await session.scalars(select(Uplink).order_by(Uplink.id))).all()
    listed: dict[int, list[UplinkChannel]] = {}
    for row in (await session.scalars(select(UplinkChannel))).all():
        listed.setdefault(row.uplink_id, []).append(row)
    return [
        UplinkConfig(
            sip_id=u.sip_id,
            domain=u.domain,
            host=u.host,
            port=u.port,
            transport=u.transport,
            password=u.password or "",
            local_id=u.local_id or default_local_id,
            register_expires=u.register_expires,
            keepalive_interval=u.keepalive_interval,
            enabled=u.enabled,
            name=u.name,
            policy=policy_of(u, listed.get(u.id, [])),
        )
        for u in uplinks
    ]


async def replace_listed_channels(
    session: AsyncSession, uplink_id: int, channels: Sequence[str], id_map: dict[str, str]
) -> None:
    """Set an uplink's explicit channel list and ID map (replacing the old ones)."""
    await session.execute(delete(UplinkChannel).where(UplinkChannel.uplink_id == uplink_id))
    listed = set(channels)
    for gb_id in sorted(listed | id_map.keys()):
        session.add(
            UplinkChannel(
                uplink_id=uplink_id,
                channel_gb_id=gb_id,
                upper_id=id_map.get(gb_id, ""),
                listed=gb_id in listed,
            )
        )
    await session.flush()


async def directory_mark(session: AsyncSession) -> tuple[Any, ...]:
    """A cheap mark that changes when channels are added, removed or changed (their
    ``updated_at``, which status changes bump too), or organisations or regions come or go."""
    channels = (await session.execute(select(func.count(Channel.id), func.max(Channel.updated_at)))).one()
    orgs = await session.scalar(select(func.count(Organization.id)))
    regions = await session.scalar(select(func.count(Region.civil_code)))
    return (*channels, orgs, regions)


async def load_directory(
    session: AsyncSession, previous: DirectorySnapshot | None = None
) -> DirectorySnapshot:
    """Every channel with what sharing and the catalog need, region names, organisations.

    The rows are read here; turning tens of thousands of them into the snapshot is done on
    a worker thread, so the event loop (SIP answers) is not held up meanwhile. Rows equal to
    those of ``previous`` keep their objects (so views built on them can be reused)."""
    orgs = (
        await session.execute(
            select(
                Organization.id,
                Organization.code,
                Organization.name,
                Organization.parent_id,
                Organization.path,
            )
        )
    ).all()
    regions = (await session.execute(select(Region.civil_code, Region.name))).all()
    device = aliased(Device)
    rows = (
        await session.execute(
            select(
                Channel.gb_id,
                Channel.name,
                Channel.civil_code,
                Channel.organization_id,
                Channel.point_class,
                Channel.status,
                device.gb_id,
                Channel.manufacturer,
                Channel.model,
                Channel.address,
                Channel.longitude,
                Channel.latitude,
                Channel.ptz_type,
            ).outerjoin(device, Channel.device_id == device.id)
        )
    ).all()
    return await asyncio.to_thread(snapshot_of, orgs, regions, rows, previous)


def snapshot_of(
    orgs: Sequence[Any],
    regions: Sequence[Any],
    rows: Sequence[Any],
    previous: DirectorySnapshot | None = None,
) -> DirectorySnapshot:
    """The snapshot from the rows :func:`load_directory` reads (pure)."""
    orgs = [tuple(org) for org in orgs]
    snapshot = DirectorySnapshot(regions={code: name for code, name in regions}, org_rows=orgs)
    reuse = previous is not None and previous.org_rows == orgs
    code_of = {org_id: code for org_id, code, *_ in orgs}
    ancestry: dict[int, tuple[str, ...]] = {}
    for org_id, code, name, parent_id, path in orgs:
        ids = [int(part) for part in (path or "").split("/") if part.isdigit()]
        ancestry[org_id] = tuple(code_of[i] for i in ids if i in code_of) or (code,)
        snapshot.organizations[code] = OrgNode(
            code, name, org_id, code_of.get(parent_id) if parent_id else None
        )
    for row in rows:
        raw = tuple(row)
        gb_id, name, civil, org_id, point_class, status, device_gb, maker, model, address, lon, lat, ptz = raw
        snapshot.raw[gb_id] = raw
        if reuse and previous is not None and previous.raw.get(gb_id) == raw:
            snapshot.channels[gb_id] = previous.channels[gb_id]
            continue
        snapshot.channels[gb_id] = DirectoryRow(
            facts=ChannelFacts(gb_id, civil or "", ancestry.get(org_id, ()) if org_id else (), point_class),
            name=name,
            online=status == ChannelStatus.ONLINE,
            device_id=device_gb,
            organization=code_of.get(org_id) if org_id else None,
            manufacturer=maker or "",
            model=model or "",
            address=address or "",
            longitude=lon,
            latitude=lat,
            ptz_type=ptz,
        )
    return snapshot
