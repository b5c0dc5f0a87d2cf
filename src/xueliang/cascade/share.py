"""What one upper platform gets from the directory (pure): the shared channels by the IDs it
knows them by, and the catalog items presenting them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xueliang.cascade.catalog import OrgNode, SharedChannel, catalog_nodes, channel_item
from xueliang.cascade.rules import ChannelFacts, SharePolicy
from xueliang.gb28181.manscdp import CatalogItem

__all__ = ["DirectoryRow", "DirectorySnapshot", "SharedView", "share"]


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    """One channel of the directory as the cascade sees it."""

    facts: ChannelFacts
    name: str
    online: bool
    device_id: str | None = None  # the GB ID of the device (or lower platform) serving it
    organization: str | None = None
    manufacturer: str = ""
    model: str = ""
    address: str = ""
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None

    @property
    def gb_id(self) -> str:
        return self.facts.gb_id


@dataclass(slots=True)
class DirectorySnapshot:
    """The directory at one moment: channels by GB ID, region names, organisations by code."""

    channels: dict[str, DirectoryRow] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)
    organizations: dict[str, OrgNode] = field(default_factory=dict)
    raw: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # the rows read, for reuse
    org_rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SharedView:
    """``channels`` by upper ID; ``items`` the catalog; ``hidden`` channels shared by the
    rules but left out because their upper ID is taken by a mapped channel. ``made`` keeps
    each channel's item with the row and node it was made from, for reuse next time."""

    channels: dict[str, DirectoryRow]
    items: list[CatalogItem]
    hidden: int = 0
    made: dict[str, tuple[DirectoryRow, str | None, CatalogItem]] = field(default_factory=dict)


def share(
    snapshot: DirectorySnapshot, policy: SharePolicy, *, platform_id: str, previous: SharedView | None = None
) -> SharedView:
    """What the upper platform sees. Items of channels whose row and node are the same
    objects as in ``previous`` are reused, not rebuilt (a city's worth is rebuilt in
    hundreds of milliseconds; this keeps a look at an unchanged directory cheap)."""
    rows = snapshot.channels
    chosen, hidden = policy.select(row.facts for row in rows.values())
    channels = {upper: rows[gb_id] for upper, gb_id in sorted(chosen.items())}
    nodes = catalog_nodes(
        ((row.facts.civil_code, row.organization) for row in channels.values()),
        platform_id=platform_id,
        regions=snapshot.regions,
        organizations=snapshot.organizations,
    )
    before = previous.made if previous is not None else {}
    made: dict[str, tuple[DirectoryRow, str | None, CatalogItem]] = {}
    items = list(nodes.items)
    for upper, row in channels.items():
        node = nodes.org_ids.get(row.organization or "")
        old = before.get(upper)
        if old is not None and old[0] is row and old[1] == node:
            item = old[2]
        else:
            item = channel_item(_presented(upper, row), platform_id=platform_id, org_node=node)
        made[upper] = (row, node, item)
        items.append(item)
    return SharedView(channels, items, hidden, made)


def _presented(upper: str, row: DirectoryRow) -> SharedChannel:
    return SharedChannel(
        upper_id=upper,
        name=row.name,
        civil_code=row.facts.civil_code,
        online=row.online,
        organization=row.organization,
        manufacturer=row.manufacturer,
        model=row.model,
        address=row.address,
        longitude=row.longitude,
        latitude=row.latitude,
        ptz_type=row.ptz_type,
    )
