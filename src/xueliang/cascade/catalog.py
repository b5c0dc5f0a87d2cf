"""The catalog a lower platform presents to its upper platform (pure; GB/T 28181-2022 9.5,
A.2.1.9, Appendix M).

:func:`catalog_items` lays the shared channels out in a directory tree: administrative-
division nodes (2/4/6/8-digit civil codes, every level from the province down) by each
channel's ``CivilCode``; a business group (业务分组, type 215) holding one virtual
organisation (虚拟组织, type 216) per organisation, nested as the organisations are; each
channel's ``ParentID`` is its organisation's node, or its civil code when it has none.
Node IDs are derived from the platform's ID and are stable, so an upper platform that
stored them finds the same nodes next time.

:func:`catalog_parts` splits the answer into MESSAGE bodies; :func:`catalog_changes` turns
two successive catalogs into notification items (ADD, DEL, UPDATE, ON, OFF).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from xueliang.gb28181.manscdp import CatalogItem, CatalogNotify, CatalogResponse, split_catalog
from xueliang.gbcode import civil_code_ancestors, is_civil_code

__all__ = [
    "BUSINESS_GROUP_NAME",
    "CatalogNodes",
    "OrgNode",
    "SharedChannel",
    "business_group_id",
    "catalog_changes",
    "catalog_items",
    "catalog_nodes",
    "catalog_parts",
    "channel_item",
    "notify_parts",
    "part_size",
    "virtual_org_id",
]

BUSINESS_GROUP_NAME = "共享资源"  # "shared resources"
# Items per MESSAGE: over UDP a part stays a few kilobytes (a handful of IP fragments at
# most); over TCP parts are larger, far below the 10,000 of Appendix M.
UDP_PART_ITEMS = 8
TCP_PART_ITEMS = 500


@dataclass(frozen=True, slots=True)
class SharedChannel:
    """A shared channel as the catalog presents it: ``upper_id`` is what the upper platform
    calls it; ``organization`` the code of its organisation (None: none)."""

    upper_id: str
    name: str
    civil_code: str
    online: bool
    organization: str | None = None
    manufacturer: str = ""
    model: str = ""
    address: str = ""
    longitude: float | None = None
    latitude: float | None = None
    ptz_type: int | None = None


@dataclass(frozen=True, slots=True)
class OrgNode:
    """An organisation as a virtual-organisation node: ``serial`` numbers its node ID."""

    code: str
    name: str
    serial: int
    parent: str | None = None  # the parent organisation's code


def business_group_id(platform_id: str) -> str:
    """The business group's ID: the platform's centre and industry code, type 215, serial 1."""
    return f"{platform_id[:10]}215{1:07d}"


def virtual_org_id(platform_id: str, serial: int) -> str:
    """A virtual organisation's ID: the platform's centre and industry code, type 216."""
    if not 0 < serial < 10_000_000:
        raise ValueError(f"virtual organisation serial {serial} does not fit 7 digits")
    return f"{platform_id[:10]}216{serial:07d}"


def catalog_items(
    channels: Iterable[SharedChannel],
    *,
    platform_id: str,
    regions: Mapping[str, str] | None = None,
    organizations: Mapping[str, OrgNode] | None = None,
) -> list[CatalogItem]:
    """Nodes first (regions from the top, the business group, organisations parents first),
    then the channels by upper ID. ``regions`` names civil codes; ``organizations`` by code."""
    shared = sorted(channels, key=lambda c: c.upper_id)
    nodes = catalog_nodes(
        ((c.civil_code, c.organization) for c in shared),
        platform_id=platform_id,
        regions=regions,
        organizations=organizations,
    )
    return nodes.items + [
        channel_item(c, platform_id=platform_id, org_node=nodes.org_ids.get(c.organization or ""))
        for c in shared
    ]


@dataclass(frozen=True, slots=True)
class CatalogNodes:
    """The directory nodes above a set of channels, and each organisation's node ID."""

    items: list[CatalogItem]
    org_ids: dict[str, str]


def catalog_nodes(
    places: Iterable[tuple[str, str | None]],
    *,
    platform_id: str,
    regions: Mapping[str, str] | None = None,
    organizations: Mapping[str, OrgNode] | None = None,
) -> CatalogNodes:
    """The nodes for channels at ``places`` (civil code, organisation code or None)."""
    regions = regions or {}
    organizations = organizations or {}
    codes: set[str] = set()
    used_orgs: dict[str, OrgNode] = {}
    for civil_code, organization in set(places):
        if is_civil_code(civil_code):
            codes.update(civil_code_ancestors(civil_code))
            codes.add(civil_code)
        code = organization
        seen: set[str] = set()
        while code is not None and code in organizations and code not in seen:  # a loop ends here
            seen.add(code)
            used_orgs[code] = organizations[code]
            code = organizations[code].parent
    items = [
        CatalogItem(device_id=code, name=regions.get(code) or code, parental=1)
        for code in sorted(codes, key=_by_level)
    ]
    group = business_group_id(platform_id)
    org_ids = {code: virtual_org_id(platform_id, org.serial) for code, org in used_orgs.items()}
    if used_orgs:
        items.append(CatalogItem(device_id=group, name=BUSINESS_GROUP_NAME, parental=1))
        for code in _parents_first(used_orgs):
            org = used_orgs[code]
            items.append(
                CatalogItem(
                    device_id=org_ids[code],
                    name=org.name,
                    parent_id=org_ids.get(org.parent or "", group),
                    business_group_id=group,
                    parental=1,
                )
            )
    return CatalogNodes(items, org_ids)


def channel_item(channel: SharedChannel, *, platform_id: str, org_node: str | None) -> CatalogItem:
    """A channel's catalog item: under its organisation's node (``org_node``), else its civil code."""
    civil = channel.civil_code if is_civil_code(channel.civil_code) else None
    return CatalogItem(
        device_id=channel.upper_id,
        name=channel.name or channel.upper_id,
        manufacturer=channel.manufacturer or None,
        model=channel.model or None,
        owner="Owner",
        civil_code=civil,
        address=channel.address or None,
        parental=0,
        parent_id=org_node or civil or platform_id,
        safety_way=0,
        register_way=1,
        secrecy=0,
        status="ON" if channel.online else "OFF",
        longitude=channel.longitude,
        latitude=channel.latitude,
        business_group_id=business_group_id(platform_id) if org_node else None,
        ptz_type=channel.ptz_type,
    )


def _by_level(code: str) -> tuple[int, str]:
    return len(code), code


def _parents_first(orgs: Mapping[str, OrgNode]) -> list[str]:
    order: list[str] = []
    placed: set[str] = set()

    def place(code: str, trail: frozenset[str]) -> None:
        if code in placed or code in trail:
            return
        parent = orgs[code].parent
        if parent in orgs:
            place(parent, trail | {code})
        placed.add(code)
        order.append(code)

    for code in sorted(orgs):
        place(code, frozenset())
    return order


def part_size(transport: str) -> int:
    """Items per catalog MESSAGE over ``transport`` (``UDP`` or ``TCP``)."""
    return TCP_PART_ITEMS if transport.upper() == "TCP" else UDP_PART_ITEMS


def catalog_parts(
    sn: int, device_id: str, items: Sequence[CatalogItem], transport: str
) -> list[CatalogResponse]:
    """The answer to a Catalog query: parts with the query's SN, ``SumNum`` the total."""
    return split_catalog(sn, device_id, items, max_items=part_size(transport))


def notify_parts(
    sn: int, device_id: str, items: Sequence[CatalogItem], transport: str
) -> list[CatalogNotify]:
    """Catalog notifications (A.2.5) in parts, each with ``SumNum`` the number of changes."""
    return [
        CatalogNotify(part.sn, part.device_id, part.sum_num, part.items, part.num)
        for part in catalog_parts(sn, device_id, items, transport)
        if part.items
    ]


def catalog_changes(before: Sequence[CatalogItem], after: Sequence[CatalogItem]) -> list[CatalogItem]:
    """What an upper platform holding ``before`` must be told to hold ``after``: ADD for new
    items, UPDATE for changed ones, ON/OFF when only the status changed, DEL for items gone
    (channels before the nodes that held them)."""
    old = {item.device_id: item for item in before}
    new = {item.device_id: item for item in after}
    changes: list[CatalogItem] = []
    for gb_id, item in new.items():
        previous = old.get(gb_id)
        if previous is item:  # unchanged (items are reused from one look to the next)
            continue
        if previous is None:
            changes.append(dataclasses.replace(item, event="ADD"))
        elif previous != item:
            if dataclasses.replace(previous, status=item.status) == item:
                changes.append(CatalogItem(device_id=gb_id, status=item.status, event=_status_event(item)))
            else:
                changes.append(dataclasses.replace(item, event="UPDATE"))
    gone = [item for gb_id, item in old.items() if gb_id not in new]
    gone.sort(key=lambda item: item.parental or 0)  # channels (0) before nodes (1 / None)
    changes += [CatalogItem(device_id=item.device_id, event="DEL") for item in gone]
    return changes


def _status_event(item: CatalogItem) -> str:
    return "ON" if item.status == "ON" else "OFF"
