"""Rectification work orders (整改工单): list, read, assign, comment, close."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.api.deps import CanManageCatalog, CanView, Principal, RowId, SessionDep
from xueliang.catalog import Channel
from xueliang.db import utcnow
from xueliang.insight.routes.common import REGION_PATTERN, scope_for
from xueliang.insight.workorders import (
    WorkOrder,
    WorkOrderConflict,
    WorkOrderFilter,
    WorkOrderNotFound,
    assign_work_order,
    close_work_order,
    comment_work_order,
    get_work_order,
    list_work_orders,
)
from xueliang.security import Action

router = APIRouter(prefix="/workorders", tags=["workorders"])
OrderId = RowId


class AssignBody(BaseModel):
    assignee: str = Field(min_length=1, max_length=100, description="Person or contractor")
    note: str = Field("", max_length=4000)


class CommentBody(BaseModel):
    note: str = Field(min_length=1, max_length=4000)


class CloseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=4000, description="Why the order is closed by hand")


@router.get("")
async def list_orders(
    principal: CanView,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(open|assigned|closed|active)$")] = None,
    overdue: bool | None = None,
    region: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
    org: str | None = None,
    cause: Annotated[str | None, Query(max_length=16)] = None,
    priority: Annotated[int | None, Query(ge=1, le=9)] = None,
    channel: Annotated[str | None, Query(description="Channel GB ID")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Orders, most urgent first; ``status=active`` means not closed."""
    scope = await scope_for(session, region, org)
    filters = WorkOrderFilter(
        access=principal.channels(Action.VIEW),
        status=status,
        overdue=overdue,
        region=region,
        org_path=scope.org_path,
        cause=cause,
        priority=priority,
        channel=channel,
    )
    items, total = await list_work_orders(
        session, filters, now=utcnow(), limit=page_size, offset=(page - 1) * page_size
    )
    return {"items": items, "total": total, "page": page, "page_size": page_size}


@router.get("/{order_id}")
async def get_order(principal: CanView, session: SessionDep, order_id: OrderId) -> dict[str, Any]:
    """One order with its full history (``events``, oldest first)."""
    await _visible(session, principal, order_id)
    try:
        return await get_work_order(session, order_id, now=utcnow())
    except WorkOrderNotFound as exc:
        raise HTTPException(404, str(exc)) from None


async def _visible(session: SessionDep, principal: Principal, order_id: int) -> None:
    """404 for an order of a channel outside the user's scope, as for a missing one."""
    access = principal.channels(Action.VIEW)
    if access is None:
        return
    visible = WorkOrder.channel_gb_id.in_(select(Channel.gb_id).where(access))
    if await session.scalar(select(WorkOrder.id).where(WorkOrder.id == order_id, visible)) is None:
        raise HTTPException(404, f"work order {order_id} not found")


async def _act(session: SessionDep, principal: Principal, order_id: int, action: Any) -> dict[str, Any]:
    await _visible(session, principal, order_id)
    await session.rollback()  # the action's own transaction follows
    now = utcnow()
    try:
        async with session.begin():
            await action(now)
    except WorkOrderNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except WorkOrderConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return await get_work_order(session, order_id, now=now)


@router.post("/{order_id}/assign")
async def assign_order(
    principal: CanManageCatalog, session: SessionDep, order_id: OrderId, body: AssignBody
) -> dict[str, Any]:
    return await _act(
        session,
        principal,
        order_id,
        lambda now: assign_work_order(
            session, order_id, body.assignee, actor=principal.username, now=now, note=body.note
        ),
    )


@router.post("/{order_id}/comments")
async def comment_order(
    principal: CanView, session: SessionDep, order_id: OrderId, body: CommentBody
) -> dict[str, Any]:
    return await _act(
        session,
        principal,
        order_id,
        lambda now: comment_work_order(session, order_id, body.note, actor=principal.username, now=now),
    )


@router.post("/{order_id}/close")
async def close_order(
    principal: CanManageCatalog, session: SessionDep, order_id: OrderId, body: CloseBody
) -> dict[str, Any]:
    """Close by hand with a reason (recovered faults close themselves once verified)."""
    return await _act(
        session,
        principal,
        order_id,
        lambda now: close_work_order(session, order_id, body.reason, actor=principal.username, now=now),
    )
