"""Cascade API (级联): upper platforms this platform registers to, lower platforms registered here.

- ``GET /cascade/uplinks`` → ``{"items", "total"}``; ``POST /cascade/uplinks`` (201);
  ``GET | PATCH | DELETE /cascade/uplinks/{sip_id}``: configuration, share rules, explicit
  channels, ID map, and the registration's state. Changes take effect at once.
- ``GET /cascade/uplinks/{sip_id}/catalog`` → the catalog items that upper platform gets now.
- ``GET /cascade/downlinks`` → lower platforms (type 200) known here, with their channels.
- ``GET /cascade/downlinks/{gb_id}/tree[?channels=true]`` → a lower platform's (or any
  device's) catalog tree, with what had to be repaired (repeated IDs, unknown parents, loops).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from xueliang.api.deps import CanManageCatalog, CanView, ContextDep, SessionDep
from xueliang.cascade.models import Uplink, UplinkChannel
from xueliang.cascade.rules import SharePolicy, ShareRule
from xueliang.cascade.share import share
from xueliang.cascade.store import load_directory, policy_of, replace_listed_channels
from xueliang.catalog import (
    NODE_KINDS,
    Channel,
    Device,
    DeviceKind,
    DirectoryNode,
    Organization,
    TreeEntry,
    build_tree,
)
from xueliang.gbcode import GbCodeError, parse_gb_id

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/cascade", tags=["cascade"])

GbId = Annotated[str, Field(pattern=r"^\d{20}$", description="A 20-digit GB ID")]
REPAIRS_SHOWN = 100
_SETTABLE = ("sip_id", "name", "domain", "host", "port", "transport", "local_id", "register_expires",
             "keepalive_interval", "enabled")  # fmt: skip


class ShareRuleModel(BaseModel):
    """Channels under a civil-code prefix, an organisation (code, its subtree) and/or a
    point class; every field given must match."""

    region: str | None = Field(None, pattern=r"^\d{1,8}$")
    organization: str | None = Field(None, min_length=1, max_length=64)
    point_class: int | None = Field(None, ge=1, le=9)


class _UplinkFields(BaseModel):
    @field_validator("sip_id", "local_id", check_fields=False)
    @classmethod
    def _gb_id(cls, value: str | None) -> str | None:
        if value:
            try:
                parse_gb_id(value)
            except GbCodeError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("transport", check_fields=False)
    @classmethod
    def _transport(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class UplinkCreate(_UplinkFields):
    sip_id: GbId = Field(description="The upper platform's SIP ID (type 200)")
    name: str = Field("", max_length=200)
    domain: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,64}$", description="The upper platform's SIP domain")
    host: str = Field(pattern=r"^[0-9A-Za-z.\-:]{1,255}$", description="Its SIP address (IP or host name)")
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["UDP", "TCP", "udp", "tcp"] = "UDP"
    password: str = Field("", max_length=128, description="Write-only")
    local_id: str = Field("", pattern=r"^(\d{20})?$", description="Our ID there; empty: the platform's own")
    register_expires: int = Field(3600, ge=60, le=86400)
    keepalive_interval: int = Field(60, ge=1, le=3600)
    enabled: bool = True
    rules: list[ShareRuleModel] = Field(default_factory=list, max_length=200)
    channels: list[GbId] = Field(default_factory=list, description="Channels shared explicitly")
    id_map: dict[str, str] = Field(
        default_factory=dict, description="Channel GB ID → the ID the upper platform knows it by"
    )


class UplinkUpdate(_UplinkFields):
    sip_id: GbId | None = None
    name: str | None = Field(None, max_length=200)
    domain: str | None = Field(None, pattern=r"^[0-9A-Za-z.\-]{1,64}$")
    host: str | None = Field(None, pattern=r"^[0-9A-Za-z.\-:]{1,255}$")
    port: int | None = Field(None, ge=1, le=65535)
    transport: Literal["UDP", "TCP", "udp", "tcp"] | None = None
    password: str | None = Field(None, max_length=128)
    local_id: str | None = Field(None, pattern=r"^(\d{20})?$")
    register_expires: int | None = Field(None, ge=60, le=86400)
    keepalive_interval: int | None = Field(None, ge=1, le=3600)
    enabled: bool | None = None
    rules: list[ShareRuleModel] | None = Field(None, max_length=200)
    channels: list[GbId] | None = None
    id_map: dict[str, str] | None = None


class LinkStatePublic(BaseModel):
    state: str = Field(description="registered, registering, failing, disabled or stopped")
    last_error: str | None
    failures: int = Field(description="Failed attempts in a row")
    registered_at: datetime | None
    expires: int | None
    last_keepalive_at: datetime | None
    next_attempt_at: datetime | None


class UplinkPublic(BaseModel):
    sip_id: str
    name: str
    domain: str
    host: str
    port: int
    transport: str
    has_password: bool
    local_id: str
    register_expires: int
    keepalive_interval: int
    enabled: bool
    rules: list[ShareRuleModel]
    channels: list[str]
    id_map: dict[str, str]
    status: LinkStatePublic
    shared: int = Field(description="Channels this upper platform sees (at the last look)")
    relays: int = Field(description="Live views relayed to it now")
    updated_at: datetime


def _policy(rules: list[ShareRuleModel], channels: list[str], id_map: dict[str, str]) -> SharePolicy:
    try:
        return SharePolicy(
            rules=tuple(ShareRule(**r.model_dump()) for r in rules),
            channels=frozenset(channels),
            id_map=dict(id_map),
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


async def _check_organizations(session: SessionDep, rules: list[ShareRuleModel]) -> None:
    codes = {r.organization for r in rules if r.organization}
    if not codes:
        return
    known = set((await session.scalars(select(Organization.code).where(Organization.code.in_(codes)))).all())
    if codes - known:
        raise HTTPException(
            422, f"unknown organisation(s) in share rules: {', '.join(sorted(codes - known))}"
        )


async def _uplink(session: SessionDep, sip_id: str) -> Uplink:
    uplink = await session.scalar(select(Uplink).where(Uplink.sip_id == sip_id))
    if uplink is None:
        raise HTTPException(404, f"no upper platform {sip_id}")
    return uplink


async def _public(session: SessionDep, context: ContextDep, uplink: Uplink) -> UplinkPublic:
    listed = (await session.scalars(select(UplinkChannel).where(UplinkChannel.uplink_id == uplink.id))).all()
    cascade = context.cascade
    status = cascade.status(uplink.sip_id) if cascade is not None else None
    return UplinkPublic(
        sip_id=uplink.sip_id,
        name=uplink.name,
        domain=uplink.domain,
        host=uplink.host,
        port=uplink.port,
        transport=uplink.transport,
        has_password=bool(uplink.password),
        local_id=uplink.local_id or context.settings.sip_id,
        register_expires=uplink.register_expires,
        keepalive_interval=uplink.keepalive_interval,
        enabled=uplink.enabled,
        rules=[ShareRuleModel(**rule) for rule in uplink.share_rules or ()],
        channels=sorted(row.channel_gb_id for row in listed if row.listed),
        id_map={row.channel_gb_id: row.upper_id for row in listed if row.upper_id},
        status=LinkStatePublic(
            state=status.state.value if status else ("disabled" if not uplink.enabled else "stopped"),
            last_error=status.last_error if status else None,
            failures=status.failures if status else 0,
            registered_at=status.registered_at if status else None,
            expires=status.expires if status else None,
            last_keepalive_at=status.last_keepalive_at if status else None,
            next_attempt_at=status.next_attempt_at if status else None,
        ),
        shared=len(cascade.view(uplink.sip_id).channels) if cascade is not None else 0,
        relays=cascade.relays(uplink.sip_id) if cascade is not None else 0,
        updated_at=uplink.updated_at,
    )


async def _apply(context: ContextDep) -> None:
    if context.cascade is not None:
        await context.cascade.reload()


@router.get("/uplinks")
async def list_uplinks(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep
) -> dict[str, Any]:
    uplinks = (await session.scalars(select(Uplink).order_by(Uplink.sip_id))).all()
    items = [await _public(session, context, u) for u in uplinks]
    return {"items": items, "total": len(items)}


@router.post("/uplinks", status_code=201, response_model=UplinkPublic)
async def create_uplink(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, body: UplinkCreate
) -> UplinkPublic:
    _policy(body.rules, body.channels, body.id_map)
    await _check_organizations(session, body.rules)
    uplink = Uplink(
        sip_id=body.sip_id,
        name=body.name,
        domain=body.domain,
        host=body.host,
        port=body.port,
        transport=body.transport,
        password=body.password or None,
        local_id=body.local_id,
        register_expires=body.register_expires,
        keepalive_interval=body.keepalive_interval,
        enabled=body.enabled,
        share_rules=[r.model_dump(exclude_none=True) for r in body.rules],
    )
    session.add(uplink)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, f"upper platform {body.sip_id} is already configured") from None
    await replace_listed_channels(session, uplink.id, body.channels, body.id_map)
    await session.commit()
    log.info(
        "cascade: upper platform %s (%s:%d/%s) configured", body.sip_id, body.host, body.port, body.transport
    )
    await _apply(context)
    return await _public(session, context, uplink)


@router.get("/uplinks/{sip_id}", response_model=UplinkPublic)
async def get_uplink(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, sip_id: str
) -> UplinkPublic:
    return await _public(session, context, await _uplink(session, sip_id))


@router.patch("/uplinks/{sip_id}", response_model=UplinkPublic)
async def update_uplink(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, sip_id: str, body: UplinkUpdate
) -> UplinkPublic:
    uplink = await _uplink(session, sip_id)
    changes = body.model_dump(exclude_unset=True)
    for name in _SETTABLE:
        if name in changes and changes[name] is None and name not in ("name", "local_id"):
            raise HTTPException(422, f"{name} cannot be null")
    listed = (await session.scalars(select(UplinkChannel).where(UplinkChannel.uplink_id == uplink.id))).all()
    current = policy_of(uplink, listed)
    rules = body.rules if body.rules is not None else [ShareRuleModel(**r) for r in uplink.share_rules or ()]
    channels = body.channels if body.channels is not None else sorted(current.channels)
    id_map = body.id_map if body.id_map is not None else dict(current.id_map)
    _policy(rules, channels, id_map)
    await _check_organizations(session, rules)
    for name in _SETTABLE:
        if name in changes:
            setattr(uplink, name, changes[name])
    if "password" in changes:
        uplink.password = changes["password"] or None
    if body.rules is not None:
        uplink.share_rules = [r.model_dump(exclude_none=True) for r in body.rules]
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(409, f"upper platform {changes.get('sip_id')} is already configured") from None
    if body.channels is not None or body.id_map is not None:
        await replace_listed_channels(session, uplink.id, channels, id_map)
    await session.commit()
    await _apply(context)
    return await _public(session, context, uplink)


@router.delete("/uplinks/{sip_id}", status_code=204)
async def delete_uplink(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, sip_id: str
) -> Response:
    uplink = await _uplink(session, sip_id)
    await session.delete(uplink)
    await session.commit()
    log.info("cascade: upper platform %s removed", sip_id)
    await _apply(context)
    return Response(status_code=204)


@router.get("/uplinks/{sip_id}/catalog")
async def uplink_catalog(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, sip_id: str
) -> dict[str, Any]:
    """The catalog this upper platform gets now: directory nodes, then channels."""
    uplink = await _uplink(session, sip_id)
    listed = (await session.scalars(select(UplinkChannel).where(UplinkChannel.uplink_id == uplink.id))).all()
    view = await asyncio.to_thread(
        share,
        await load_directory(session),
        policy_of(uplink, listed),
        platform_id=uplink.local_id or context.settings.sip_id,
    )
    items = []
    for item in view.items:
        row = view.channels.get(item.device_id)
        items.append(
            {
                "id": item.device_id,
                "name": item.name,
                "parent_id": item.parent_id,
                "civil_code": item.civil_code,
                "business_group_id": item.business_group_id,
                "status": item.status,
                "gb_id": row.gb_id if row is not None else None,  # the channel's own ID; None for nodes
            }
        )
    return {"items": items, "total": len(items), "channels": len(view.channels), "hidden": view.hidden}


@router.get("/downlinks")
async def list_downlinks(principal: CanView, session: SessionDep) -> dict[str, Any]:
    """Lower platforms (type 200) known here, with how many channels and tree nodes each has."""
    channels = select(func.count(Channel.id)).where(Channel.device_id == Device.id).scalar_subquery()
    nodes = select(func.count(DirectoryNode.id)).where(DirectoryNode.device_id == Device.id).scalar_subquery()
    rows = await session.execute(
        select(Device, channels, nodes).where(Device.kind == DeviceKind.PLATFORM).order_by(Device.gb_id)
    )
    items = [
        {
            "id": device.gb_id,
            "name": device.name,
            "status": device.status,
            "address": device.address,
            "transport": device.transport,
            "registered_at": device.registered_at,
            "channels": n_channels,
            "nodes": n_nodes,
        }
        for device, n_channels, n_nodes in rows
    ]
    return {"items": items, "total": len(items)}


@router.get("/downlinks/{gb_id}/tree")
async def downlink_tree(
    principal: CanView,
    session: SessionDep,
    gb_id: str,
    channels: Annotated[bool, Query(description="List the channels too, not only their counts")] = False,
) -> dict[str, Any]:
    """The catalog tree the lower platform (or device) reported, rebuilt: repeated IDs keep
    their first entry, unknown parents fall back to the civil-code node, loops are cut."""
    device_id = await session.scalar(select(Device.id).where(Device.gb_id == gb_id))
    if device_id is None:
        raise HTTPException(404, f"device {gb_id} not found")
    entries = [
        TreeEntry(gb, name, kind if kind in NODE_KINDS else "virtual_org", parent, group)
        for gb, name, kind, parent, group in await session.execute(
            select(
                DirectoryNode.gb_id,
                DirectoryNode.name,
                DirectoryNode.kind,
                DirectoryNode.parent_id,
                DirectoryNode.business_group_id,
            ).where(DirectoryNode.device_id == device_id)
        )
    ]
    entries += [
        TreeEntry(gb, name, "channel", parent, group, civil, status)
        for gb, name, parent, group, civil, status in await session.execute(
            select(
                Channel.gb_id,
                Channel.name,
                Channel.parent_id,
                Channel.business_group_id,
                Channel.civil_code,
                Channel.status,
            ).where(Channel.device_id == device_id)
        )
    ]
    tree = build_tree(entries)
    if tree.repaired:
        log.warning(
            "catalog tree of %s repaired: %d repeated IDs, %d unknown parents, %d loops cut (at %s)",
            gb_id,
            len(tree.duplicates),
            len(tree.orphans),
            len(tree.cycles),
            ", ".join(tree.cycles[:5]) or "-",
        )
    return {
        "id": gb_id,
        "channels": sum(1 for e in entries if e.kind == "channel"),
        "nodes": sum(1 for e in entries if e.kind != "channel"),
        "roots": [
            root.as_dict(with_channels=channels)
            for root in tree.roots
            if channels or root.entry.kind != "channel"
        ],
        "repairs": {
            "duplicates": tree.duplicates[:REPAIRS_SHOWN],
            "orphans": tree.orphans[:REPAIRS_SHOWN],
            "cycles": tree.cycles[:REPAIRS_SHOWN],
            "counts": {
                "duplicates": len(tree.duplicates),
                "orphans": len(tree.orphans),
                "cycles": len(tree.cycles),
            },
        },
    }
