"""Channels (通道/点位), addressed by GB ID."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import select

from xueliang.api.deps import CanExport, CanView, SessionDep, SettingsDep
from xueliang.api.schemas import ChannelPublic, IntervalPublic, Page
from xueliang.catalog import (
    Availability,
    Channel,
    ChannelFilter,
    ChannelSource,
    ChannelStatus,
    Organization,
    channel_query,
    count_rows,
    export_channel_rows,
    write_table,
)
from xueliang.catalog.records import COLUMNS
from xueliang.security import Action

router = APIRouter(prefix="/channels", tags=["channels"])

MAX_PAGE_SIZE = 1000
SORT_COLUMNS = {
    "id": Channel.gb_id,
    "name": Channel.name,
    "status": Channel.status,
    "civil_code": Channel.civil_code,
    "point_class": Channel.point_class,
    "source": Channel.source,
    "updated_at": Channel.updated_at,
}
SORT_PATTERN = rf"^-?({'|'.join(SORT_COLUMNS)})$"
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not (values[0] <= values[2] and values[1] <= values[3]):
        raise HTTPException(422, "bbox must be min_lon,min_lat,max_lon,max_lat")
    return values  # type: ignore[return-value]


async def org_paths(session: SessionDep, code: str | None) -> dict[str, str]:
    if not code:
        return {}
    row = (
        await session.execute(select(Organization.code, Organization.path).where(Organization.code == code))
    ).first()
    return {row[0]: row[1]} if row else {}


def to_public(
    channel: Channel, device_gb_id: str | None, org_code: str | None, org_name: str | None
) -> ChannelPublic:
    return ChannelPublic(
        id=channel.gb_id,
        name=channel.name,
        device_id=device_gb_id,
        civil_code=channel.civil_code,
        organization=org_code,
        organization_name=org_name,
        point_class=channel.point_class,
        source=channel.source,
        status=channel.status,
        longitude=channel.longitude,
        latitude=channel.latitude,
        address=channel.address,
        resolution=channel.resolution,
        hd=channel.hd,
        ptz_type=channel.ptz_type,
        manufacturer=channel.manufacturer,
        model=channel.model,
        parent_id=channel.parent_id,
        business_group_id=channel.business_group_id,
        stream_url=channel.stream_url,
        has_stream_credentials=bool(channel.stream_username or channel.stream_password),
        updated_at=channel.updated_at,
    )


@router.get("", response_model=Page[ChannelPublic])
async def list_channels(
    principal: CanView,
    session: SessionDep,
    settings: SettingsDep,
    status: ChannelStatus | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,8}$", description="Civil-code prefix")] = None,
    org: Annotated[str | None, Query(description="Organisation code (its subtree)")] = None,
    point_class: Annotated[int | None, Query(alias="class", ge=1, le=9)] = None,
    source: ChannelSource | None = None,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains or GB ID starts with")] = None,
    device: Annotated[str | None, Query(description="Device GB ID")] = None,
    sort: Annotated[
        str, Query(pattern=SORT_PATTERN, description="Column to sort by; a leading '-' sorts descending")
    ] = "id",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
) -> dict[str, Any]:
    filters = ChannelFilter(
        status=status.value if status else None,
        region=region,
        org=org,
        point_class=point_class,
        source=source.value if source else None,
        bbox=parse_bbox(bbox),
        q=q,
        device=device,
    )
    statement = principal.restrict(channel_query(filters, await org_paths(session, org)), Action.VIEW)
    total = await count_rows(session, statement)
    column = SORT_COLUMNS[sort.lstrip("-")]
    order = [column.desc() if sort.startswith("-") else column.asc(), Channel.gb_id]
    rows = await session.execute(statement.order_by(*order).limit(page_size).offset((page - 1) * page_size))
    items = [to_public(*row) for row in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {media: {} for media in EXPORT_TYPES.values()}}},
)
async def export_channels(
    principal: CanExport,
    session: SessionDep,
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|xlsx)$")] = "csv",
    status: ChannelStatus | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,8}$")] = None,
    org: str | None = None,
    point_class: Annotated[int | None, Query(alias="class", ge=1, le=9)] = None,
    source: ChannelSource | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Matching channels as a file in the import format (no stream credentials)."""
    filters = ChannelFilter(
        status=status.value if status else None,
        region=region,
        org=org,
        point_class=point_class,
        source=source.value if source else None,
        q=q,
    )
    paths = await org_paths(session, org)
    rows = await export_channel_rows(session, filters, paths, principal.channels(Action.EXPORT))
    body = await asyncio.to_thread(_table_bytes, fmt, rows)
    name = f"xueliang-channels{'-' + region if region else ''}.{fmt}"
    return Response(
        body,
        media_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _table_bytes(fmt: str, rows: list[list[Any]]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"channels.{fmt}"
        write_table(path, COLUMNS, rows)
        return path.read_bytes()


@router.get("/{gb_id}", response_model=ChannelPublic)
async def get_channel(principal: CanView, session: SessionDep, gb_id: str) -> ChannelPublic:
    statement = principal.restrict(channel_query(ChannelFilter()).where(Channel.gb_id == gb_id), Action.VIEW)
    row = (await session.execute(statement)).first()
    if row is None:
        raise HTTPException(404, f"channel {gb_id} not found")
    return to_public(*row)


@router.get("/{gb_id}/availability")
async def channel_availability(
    principal: CanView,
    session: SessionDep,
    gb_id: str,
    kind: Annotated[str, Query(pattern=r"^[a-z_]{1,16}$")] = "online",
    since: Annotated[datetime | None, Query(alias="from", description="UTC; default: all history")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """The channel's state intervals of ``kind`` overlapping [from, to), oldest first."""
    channel_id = await session.scalar(
        principal.restrict(select(Channel.id).where(Channel.gb_id == gb_id), Action.VIEW)
    )
    if channel_id is None:
        raise HTTPException(404, f"channel {gb_id} not found")
    if since and until and until <= since:
        raise HTTPException(422, "the period ends before it starts")
    statement = select(Availability).where(Availability.channel_id == channel_id, Availability.kind == kind)
    if until is not None:
        statement = statement.where(Availability.since < _utc(until))
    if since is not None:
        statement = statement.where((Availability.until.is_(None)) | (Availability.until > _utc(since)))
    rows = (await session.scalars(statement.order_by(Availability.since, Availability.id))).all()
    items = [IntervalPublic(state=r.state, since=r.since, until=r.until) for r in rows]
    return {"items": items, "total": len(items)}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
