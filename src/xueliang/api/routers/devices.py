"""Devices: GB/T 28181 devices and NVRs, lower platforms, RTSP cameras."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import exists, func, select

from xueliang.api.deps import CanManageCatalog, CanView, ContextDep, Principal, SessionDep
from xueliang.api.schemas import DevicePublic, DeviceStatusPublic, Page
from xueliang.catalog import Channel, ChannelStatus, Device, civil_code_range, count_rows
from xueliang.gbcode import TYPE_CODES
from xueliang.security import Action

router = APIRouter(prefix="/devices", tags=["devices"])


def _query(status: str | None, region: str | None, q: str | None, visible: Any = None) -> Any:
    """Devices with their channel counts; with ``visible`` (a channel clause) only devices with a
    visible channel, counting only those."""
    own = [Channel.device_id == Device.id, *([] if visible is None else [visible])]
    channels = select(func.count(Channel.id)).where(*own).scalar_subquery()
    statement = select(Device, channels.label("channels"))
    if visible is not None:
        statement = statement.where(exists().where(*own))
    if status:
        statement = statement.where(Device.status == status)
    if region:
        low, high = civil_code_range(region)
        statement = statement.where(Device.civil_code >= low, Device.civil_code < high)
    if q:
        statement = statement.where(
            Device.gb_id.startswith(q, autoescape=True) | Device.name.contains(q, autoescape=True)
        )
    return statement


def to_public(device: Device, channels: int) -> DevicePublic:
    return DevicePublic(
        id=device.gb_id,
        name=device.name,
        kind=device.kind,
        type_code=device.type_code,
        type_name=TYPE_CODES.get(device.type_code, ("unknown", None))[0],
        civil_code=device.civil_code,
        manufacturer=device.manufacturer,
        model=device.model,
        firmware=device.firmware,
        transport=device.transport,
        address=device.address,
        gb_version=device.gb_version,
        status=device.status,
        registered_at=device.registered_at,
        last_seen_at=device.last_seen_at,
        channels=channels,
    )


@router.get("", response_model=Page[DevicePublic])
async def list_devices(
    principal: CanView,
    session: SessionDep,
    status: ChannelStatus | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,8}$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    statement = _query(status.value if status else None, region, q, principal.channels(Action.VIEW))
    total = await count_rows(session, statement)
    rows = await session.execute(
        statement.order_by(Device.gb_id).limit(page_size).offset((page - 1) * page_size)
    )
    items = [to_public(device, channels) for device, channels in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


@router.get("/{gb_id}", response_model=DevicePublic)
async def get_device(principal: CanView, session: SessionDep, gb_id: str) -> DevicePublic:
    row = await _visible_device(session, principal, gb_id)
    return to_public(*row)


async def _visible_device(session: SessionDep, principal: Principal, gb_id: str) -> Any:
    statement = _query(None, None, None, principal.channels(Action.VIEW)).where(Device.gb_id == gb_id)
    row = (await session.execute(statement)).first()
    if row is None:
        raise HTTPException(404, f"device {gb_id} not found")
    return row


def _signalling(context: ContextDep) -> Any:
    if context.signalling is None:
        raise HTTPException(503, "signalling is not running")
    return context.signalling


@router.post("/{gb_id}/status", response_model=DeviceStatusPublic)
async def query_device_status(
    principal: CanView, session: SessionDep, context: ContextDep, gb_id: str
) -> DeviceStatusPublic:
    """Ask the device for its status now (GB/T 28181 DeviceStatus, A.2.4.3)."""
    await _visible_device(session, principal, gb_id)
    try:
        status = await _signalling(context).device_status(gb_id)
    except LookupError:
        raise HTTPException(404, f"device {gb_id} is not online") from None
    except TimeoutError:
        raise HTTPException(504, f"device {gb_id} did not answer") from None
    return DeviceStatusPublic(
        id=gb_id,
        result=status.result or "",
        online=status.online or "",
        status=status.status or "",
        encode=status.encode or "",
        record=status.record or "",
        device_time=status.device_time or "",
    )


@router.post("/{gb_id}/catalog")
async def refresh_device_catalog(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, gb_id: str
) -> dict[str, Any]:
    """Query the device's catalog again and wait for it (GB/T 28181 Catalog, 9.5)."""
    await _visible_device(session, principal, gb_id)
    try:
        catalog = await _signalling(context).refresh_catalog(gb_id)
    except LookupError:
        raise HTTPException(404, f"device {gb_id} is not online") from None
    except TimeoutError:
        raise HTTPException(504, f"device {gb_id} did not answer") from None
    return {"id": gb_id, "items": len(catalog.items), "total": catalog.total, "complete": catalog.complete}
