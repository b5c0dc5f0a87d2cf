"""Inspection API (巡检): run an inspection now, read a channel's findings and states, fetch
a finding's thumbnail, re-set a camera's reference view.

- ``POST /channels/{gb_id}/inspect`` -> the finding (and the channel's states after it)
- ``GET /channels/{gb_id}/findings`` -> ``{"items", "total", "page", "page_size", "states"}``,
  newest first
- ``GET /channels/{gb_id}/inspection`` -> the channel's ``online``/``integrity``/``output``
  states and its reference
- ``GET /findings?ok=false&region=`` -> every channel's findings, newest first (recent faults)
- ``GET /findings/{id}/thumbnail`` -> ``image/jpeg``
- ``POST /channels/{gb_id}/reference`` ``{"source": "next_healthy" | "latest_frame"}``
- ``GET /inspection/status`` -> the sweep: fleet, due, in flight, current and last sweep
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.api.deps import CanManageCatalog, CanSnapshot, CanView, ContextDep, Principal, SessionDep
from xueliang.catalog import Channel
from xueliang.db import utcnow
from xueliang.inspection.models import Finding
from xueliang.inspection.service import Inspector
from xueliang.inspection.startup import inspector_for
from xueliang.inspection.store import (
    channel_states,
    clear_reference,
    finding_public,
    list_findings,
    list_recent_findings,
    load_targets,
)
from xueliang.security import Action

__all__ = ["router"]

router = APIRouter(tags=["inspection"])


def get_inspector(context: ContextDep) -> Inspector:
    return inspector_for(context)


InspectorDep = Annotated[Inspector, Depends(get_inspector)]


async def _channel_id(
    session: SessionDep, principal: Principal, gb_id: str, action: Action = Action.VIEW
) -> int:
    """The channel's row id; 404 when it is missing or outside the user's scope for ``action``."""
    found = await session.scalar(principal.restrict(select(Channel.id).where(Channel.gb_id == gb_id), action))
    if found is None:
        raise HTTPException(404, f"channel {gb_id} not found")
    return int(found)


class ReferenceBody(BaseModel):
    source: Literal["next_healthy", "latest_frame"] = Field(
        "next_healthy",
        description="next_healthy: forget the reference, the next healthy inspection sets it; "
        "latest_frame: inspect now and take this picture as the reference",
    )


async def _inspect(
    session: SessionDep, principal: Principal, inspector: Inspector, gb_id: str, mode: str, by: str
) -> dict[str, Any]:
    await _channel_id(session, principal, gb_id, Action.MANAGE_CATALOG)
    entries = await load_targets(session, gb_id)
    if not entries:
        raise HTTPException(404, f"channel {gb_id} not found")
    await session.rollback()  # release the read before a long inspection
    finding = await inspector.inspect(entries[0].target, reference_mode=mode, by=by)
    states = await channel_states(session, entries[0].target.channel_id)
    return {**finding_public(finding, gb_id), "states": states}


@router.post("/channels/{gb_id}/inspect")
async def inspect_now(
    principal: CanManageCatalog, session: SessionDep, inspector: InspectorDep, gb_id: str
) -> dict[str, Any]:
    """Inspect the channel now (output check and diagnosis) and return the finding; a
    failed output check is a finding too (``output: fail`` with its ``failure`` class)."""
    return await _inspect(session, principal, inspector, gb_id, "healthy", "auto")


@router.get("/channels/{gb_id}/findings")
async def channel_findings(
    principal: CanView,
    session: SessionDep,
    gb_id: str,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """The channel's findings, newest first, with its current states."""
    channel_id = await _channel_id(session, principal, gb_id)
    items, total = await list_findings(session, channel_id, limit=page_size, offset=(page - 1) * page_size)
    return {
        "items": [finding_public(f, gb_id) for f in items],
        "total": total,
        "page": page,
        "page_size": page_size,
        "states": await channel_states(session, channel_id),
    }


@router.get("/channels/{gb_id}/inspection")
async def channel_inspection(principal: CanView, session: SessionDep, gb_id: str) -> dict[str, Any]:
    """The channel's ``online``, ``integrity`` and ``output`` states and its reference."""
    channel_id = await _channel_id(session, principal, gb_id)
    return {"channel_id": gb_id, **(await channel_states(session, channel_id))}


@router.get("/findings")
async def recent_findings(
    principal: CanView,
    session: SessionDep,
    ok: Annotated[bool | None, Query(description="false: only faults; true: only healthy")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{1,8}$", description="Civil-code prefix")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Findings of all channels, newest first, each with its channel's name."""
    rows, total = await list_recent_findings(
        session,
        ok=ok,
        region=region,
        limit=page_size,
        offset=(page - 1) * page_size,
        where=principal.channels(Action.VIEW),
    )
    items = [{**finding_public(f, gb_id), "channel_name": name} for f, gb_id, name in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


@router.get("/inspection/status")
async def inspection_status(principal: CanManageCatalog, context: ContextDep) -> dict[str, Any]:
    """The fleet sweep: channels in it, due now and in flight, and how long the current and
    the last finished sweep took (``enabled: false`` when ``inspection_interval`` is 0)."""
    scheduler = context.inspection_scheduler
    if scheduler is None:
        return {"enabled": False}
    return {"enabled": True, **scheduler.status(utcnow())}


@router.get("/findings/{finding_id}/thumbnail", response_class=Response)
async def finding_thumbnail(
    principal: CanSnapshot, session: SessionDep, finding_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    statement = select(Finding.thumbnail).join(Channel, Channel.id == Finding.channel_id)
    data = await session.scalar(
        principal.restrict(statement.where(Finding.id == finding_id), Action.SNAPSHOT)
    )
    if data is None:
        raise HTTPException(404, f"finding {finding_id} has no thumbnail")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.post("/channels/{gb_id}/reference")
async def reset_reference(
    principal: CanManageCatalog,
    session: SessionDep,
    inspector: InspectorDep,
    gb_id: str,
    body: ReferenceBody | None = None,
) -> dict[str, Any]:
    """Re-set the camera's reference view (after it was moved on purpose, or re-aimed)."""
    body = body or ReferenceBody()
    if body.source == "latest_frame":
        finding = await _inspect(session, principal, inspector, gb_id, "always", principal.username)
        if not finding["reference_set"]:
            raise HTTPException(
                502, f"no picture from channel {gb_id}: {finding['failure']}: {finding['message']}"
            )
        return {"channel_id": gb_id, "source": body.source, "finding": finding}
    channel_id = await _channel_id(session, principal, gb_id, Action.MANAGE_CATALOG)
    cleared = await clear_reference(session, channel_id)
    await session.commit()
    inspector.forget_reference(channel_id)
    return {"channel_id": gb_id, "source": body.source, "cleared": cleared}
