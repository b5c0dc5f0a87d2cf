"""The audit log for auditors (``view_audit``): search, CSV export, chain verification."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from xueliang.security.audit import AuditEntry, append_audit, verify_chain
from xueliang.security.dependencies import authority_of, require
from xueliang.security.models import AuditRecord
from xueliang.security.permissions import Action
from xueliang.security.principal import Principal

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Action.VIEW_AUDIT))]
COLUMNS = ("id", "at", "actor", "action", "outcome", "channel", "target", "client_address", "reason", "hash")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def record_public(r: AuditRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": r.at,
        "actor": r.actor,
        "action": r.action,
        "outcome": r.outcome,
        "channel": r.channel,
        "target": r.target,
        "client_address": r.client_address,
        "reason": r.reason,
        "detail": r.detail,
        "hash": r.hash,
    }


@router.get("", responses={200: {"content": {"text/csv": {}}}})
async def search_audit(
    principal: Auditor,
    request: Request,
    user: Annotated[str | None, Query(max_length=64, description="Who (actor)")] = None,
    action: Annotated[str | None, Query(max_length=32)] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|denied|failed)$")] = None,
    since: Annotated[datetime | None, Query(alias="from", description="UTC, inclusive")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="UTC, exclusive")] = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|csv)$")] = "json",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """Records newest first; ``format=csv`` exports every match (the export is audited too)."""
    conditions = []
    if user:
        conditions.append(AuditRecord.actor == user)
    if action:
        conditions.append(AuditRecord.action == action)
    if channel:
        conditions.append(AuditRecord.channel == channel)
    if outcome:
        conditions.append(AuditRecord.outcome == outcome)
    if since is not None:
        conditions.append(AuditRecord.at >= _utc(since))
    if until is not None:
        conditions.append(AuditRecord.at < _utc(until))
    statement = select(AuditRecord).where(*conditions).order_by(AuditRecord.id.desc())
    sessions = authority_of(request).sessions
    if fmt == "csv":
        async with sessions() as session:
            rows = (await session.scalars(statement)).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([r.id, r.at.isoformat(), *(getattr(r, c) or "" for c in COLUMNS[2:])])
        filters = {k: v for k, v in request.query_params.items() if k != "format"}
        entry = AuditEntry(
            principal.username,
            "export",
            target="audit log",
            client_address=request.client.host if request.client else "",
            detail={"filters": filters, "records": len(rows)},
        )
        async with sessions() as session, session.begin():
            await append_audit(session, entry)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="xueliang-audit.csv"'},
        )
    async with sessions() as session:
        total = int(await session.scalar(select(func.count(AuditRecord.id)).where(*conditions)) or 0)
        rows = (await session.scalars(statement.limit(page_size).offset((page - 1) * page_size))).all()
    return {"items": [record_public(r) for r in rows], "total": total, "page": page, "page_size": page_size}


@router.get("/verify")
async def verify_audit(principal: Auditor, request: Request) -> dict[str, Any]:
    """Check the whole chain: ``ok``, records checked, the head hash, the first bad record."""
    async with authority_of(request).sessions() as session:
        count, head, problem = await verify_chain(session)
    return {
        "ok": problem is None,
        "records": count,
        "head": head,
        "first_bad": None if problem is None else {"id": problem.record_id, "problem": problem.problem},
    }
