"""Reports as files: ``GET /reports/{daily|weekly|monthly}?date=&region=&format=&lang=``."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response

from xueliang.api.deps import CanExport, SessionDep, SettingsDep
from xueliang.db import utcnow
from xueliang.insight.indicators import UnknownScope
from xueliang.insight.periods import ReportKind, default_report_date
from xueliang.insight.reports import FORMATS, build_report, render_report
from xueliang.insight.routes.common import REGION_PATTERN, zone_of
from xueliang.security import Action, AuditEntry, append_audit

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/{kind}", response_class=Response)
async def get_report(
    principal: CanExport,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    kind: ReportKind,
    day: Annotated[
        date | None,
        Query(alias="date", description="A local day in the period (default: the last complete one)"),
    ] = None,
    region: Annotated[str | None, Query(pattern=REGION_PATTERN)] = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(html|pdf|xlsx)$")] = "html",
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """The report of the day, ISO week or month containing ``date`` in the configured zone."""
    now = utcnow()
    zone = zone_of(settings)
    day = day or default_report_date(kind, now.astimezone(zone).date())
    try:
        report = await build_report(
            session,
            kind,
            day,
            zone=zone,
            now=now,
            region=region,
            area=settings.area,
            access=principal.channels(Action.VIEW),
        )
    except UnknownScope as exc:
        raise HTTPException(404, str(exc)) from None
    detail = {"report": kind.value, "date": str(report.period.first), "region": region, "format": fmt}
    client = request.client.host if request.client else ""
    entry = AuditEntry(
        principal.username, "export", target=f"report {kind.value}", client_address=client, detail=detail
    )
    await session.rollback()  # end the reads: the audit append starts its own write transaction
    await append_audit(session, entry)
    await session.commit()
    body = await asyncio.to_thread(render_report, report, fmt, lang)
    name = f"xueliang-{kind.value}-{report.period.first}{'-' + region if region else ''}.{fmt}"
    return Response(
        body, media_type=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
