"""The web map's data: every channel as a compact point, and region outlines for the offline base.

- ``GET /map/points`` -> ``{"fields", "states", "points": [[id, lon, lat, state], ...], "total",
  "excluded": {"missing", "invalid"}}``: one row per channel with a usable position (the
  annotation rule of the indicators), ``state`` an index into ``states``; channels with no or an
  unusable position are only counted. Filters as ``GET /channels`` plus ``state``.
- ``GET /map/outlines`` -> a GeoJSON FeatureCollection, one convex hull per district.

Both answer with pre-serialised JSON: 100,000 points are a few megabytes, built in one pass.
"""

from __future__ import annotations

import json
from collections import defaultdict
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Select, and_, or_, select

from xueliang.api.deps import CanView, SessionDep, SettingsDep
from xueliang.api.routers.channels import org_paths
from xueliang.catalog import Availability, Channel, ChannelFilter, ChannelSource, Region, channel_query
from xueliang.catalog.outlines import Point, outline_features
from xueliang.insight import GOOD_STATE, valid_annotation
from xueliang.security import Action

router = APIRouter(prefix="/map", tags=["map"])


class MapState(StrEnum):
    """What a point's colour says: offline, online and healthy, or online with a defect (its
    image is not intact or it gives no output)."""

    OFFLINE = "offline"
    ONLINE = "online"
    DEFECT = "defect"


STATES = list(MapState)
STATE_INDEX = {state: index for index, state in enumerate(STATES)}


def faulty_channels() -> Any:
    """Channel ids whose open integrity or output interval is not the good state."""
    bad = [
        and_(Availability.kind == kind, Availability.state != GOOD_STATE[kind])
        for kind in ("integrity", "output")
    ]
    return (
        select(Availability.channel_id.label("channel_id"))
        .where(Availability.until.is_(None), or_(*bad))
        .distinct()
        .subquery()
    )


def point_query(filters: ChannelFilter, paths: dict[str, str], state: MapState | None) -> Select[Any]:
    faulty = faulty_channels()
    statement = (
        channel_query(filters, paths)
        .with_only_columns(
            Channel.gb_id,
            Channel.longitude,
            Channel.latitude,
            Channel.status,
            faulty.c.channel_id.is_not(None).label("faulty"),
        )
        .outerjoin(faulty, faulty.c.channel_id == Channel.id)
    )
    if state is MapState.OFFLINE:
        statement = statement.where(Channel.status != "online")
    elif state is MapState.ONLINE:
        statement = statement.where(Channel.status == "online", faulty.c.channel_id.is_(None))
    elif state is MapState.DEFECT:
        statement = statement.where(Channel.status == "online", faulty.c.channel_id.is_not(None))
    return statement.order_by(Channel.gb_id)


def map_state(status: str, faulty: bool) -> MapState:
    if status != "online":
        return MapState.OFFLINE
    return MapState.DEFECT if faulty else MapState.ONLINE


def json_response(body: dict[str, Any]) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/points", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def map_points(
    principal: CanView,
    session: SessionDep,
    settings: SettingsDep,
    state: MapState | None = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,8}$", description="Civil-code prefix")] = None,
    org: Annotated[str | None, Query(description="Organisation code (its subtree)")] = None,
    point_class: Annotated[int | None, Query(alias="class", ge=1, le=9)] = None,
    source: ChannelSource | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains or GB ID starts with")] = None,
) -> Response:
    """Every matching channel with a usable position, as ``[id, lon, lat, state]``."""
    filters = ChannelFilter(
        region=region, org=org, point_class=point_class, source=source.value if source else None, q=q
    )
    statement = point_query(filters, await org_paths(session, org), state)
    rows = await session.execute(principal.restrict(statement, Action.VIEW))
    points: list[list[Any]] = []
    missing = invalid = 0
    for gb_id, lon, lat, status, faulty in rows:
        if lon is None or lat is None:
            missing += 1
        elif not valid_annotation(lon, lat, settings.area):
            invalid += 1
        else:
            points.append([gb_id, lon, lat, STATE_INDEX[map_state(status, bool(faulty))]])
    return json_response(
        {
            "fields": ["id", "longitude", "latitude", "state"],
            "states": [s.value for s in STATES],
            "points": points,
            "total": len(points) + missing + invalid,
            "excluded": {"missing": missing, "invalid": invalid},
        }
    )


@router.get("/outlines", response_class=Response, responses={200: {"content": {"application/json": {}}}})
async def map_outlines(principal: CanView, session: SessionDep, settings: SettingsDep) -> Response:
    """District outlines (the hull of each 6-digit civil code's channel positions that the user
    may view) with names."""
    statement = select(Channel.civil_code, Channel.longitude, Channel.latitude).where(
        Channel.longitude.is_not(None), Channel.latitude.is_not(None)
    )
    rows = await session.execute(principal.restrict(statement, Action.VIEW))
    by_district: dict[str, list[Point]] = defaultdict(list)
    for code, lon, lat in rows:
        if code and valid_annotation(lon, lat, settings.area):
            by_district[code[:6]].append((lon, lat))
    names = dict((await session.execute(select(Region.civil_code, Region.name))).all())
    return json_response({"type": "FeatureCollection", "features": outline_features(by_district, names)})
