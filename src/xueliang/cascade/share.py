"""What one upper platform gets from the directory (pure): the shared channels by the IDs it
knows them by, and the catalog items presenting them."""

from __future__ import annotations

from dataclasses import dataclass, field

from xueliang.cascade.catalog import OrgNode, SharedChannel, catalog_items
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


@dataclass(frozen=True, slots=True)
class SharedView:
    """``channels`` by upper ID; ``items`` the catalog; ``hidden`` channels shared by the
    rules but left out because their upper ID is taken by a mapped channel."""

    channels: dict[str, DirectoryRow]
    items: list[CatalogItem]
    hidden: int = 0


def share(snapshot: DirectorySnapshot, policy: SharePolicy, *, platform_id: str) -> SharedView:
    rows = snapshot.channels
    chosen = policy.select(row.facts for row in rows.values())
    wanted = sum(1 for row in rows.values() if policy.shares(row.facts))
    channels = {upper: rows[gb_id] for upper, gb_id in chosen.items()}
    presented = [
        SharedChannel(
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
        for upper, row in channels.items()
    ]
    items = catalog_items(
        presented, platform_id=platform_id, regions=snapshot.regions, organizations=snapshot.organizations
    )
    return SharedView(channels, items, wanted - len(channels))
