"""Asset-security API (资产安全): alerts from the signalling plane, the vulnerable-firmware list.

- ``GET /security/alerts`` (``kind``, ``device`` — a GB ID or its prefix —, ``open``; paginated)
  -> ``{"items", "total", "page", "page_size"}``, most recently seen first
- ``GET /security/alerts/summary`` (``from``, ``to``: default the last 7 days; ``region``)
  -> counts by kind and the devices with the most events
- ``POST /security/alerts/{id}/resolve`` ``{"by", "note"}`` -> the alert (409 if already resolved)
- ``GET /security/vulnerable-firmware``, ``POST`` (201), ``PUT /{id}``, ``DELETE /{id}`` (204):
  entries of ``manufacturer``/``model``/``firmware`` patterns (``*`` and ``?``, case-insensitive)
  with ``advisory`` text. Adding or editing an entry raises alerts for every device in the
  directory it covers at once (``matched``); devices reporting DeviceInfo later are checked then.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from xueliang.api.deps import CanManageCatalog, CanViewAudit, RowId, SessionDep
from xueliang.db import utcnow
from xueliang.security.alerts import (
    AlertFilter,
    SecurityAlert,
    VulnerableFirmware,
    alert_summary,
    list_alerts,
    resolve_alert,
    scan_firmware,
)
from xueliang.security.assets import AlertKind, FirmwareRule, validate_glob

__all__ = ["router"]

router = APIRouter(prefix="/security", tags=["asset security"])


class AlertPublic(BaseModel):
    id: int
    kind: AlertKind
    device_id: str
    address: str
    detail: str
    count: int
    first_seen: datetime
    last_seen: datetime
    open: bool
    resolved_at: datetime | None
    resolved_by: str
    note: str


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int
    page: int
    page_size: int


class Resolution(BaseModel):
    note: str = Field("", max_length=2000)


def _public(alert: SecurityAlert) -> AlertPublic:
    return AlertPublic(
        id=alert.id,
        kind=AlertKind(alert.kind),
        device_id=alert.device_id,
        address=alert.address,
        detail=alert.detail,
        count=alert.count,
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        open=alert.resolved_at is None,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        note=alert.note,
    )


@router.get("/alerts", response_model=AlertPage)
async def get_alerts(
    principal: CanViewAudit,
    session: SessionDep,
    kind: AlertKind | None = None,
    device: Annotated[str | None, Query(pattern=r"^\d{1,20}$", description="GB ID or a prefix")] = None,
    open: bool | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AlertPage:
    """Security alerts, most recently seen first."""
    alerts, total = await list_alerts(
        session, AlertFilter(kind, device, open), limit=page_size, offset=(page - 1) * page_size
    )
    return AlertPage(items=[_public(a) for a in alerts], total=total, page=page, page_size=page_size)


@router.get("/alerts/summary")
async def get_alert_summary(
    principal: CanViewAudit,
    session: SessionDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2,8}$")] = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    """Alerts seen in [from, to): counts by kind (alerts, events, still open) and top devices."""
    end = end or utcnow()
    start = start or end - timedelta(days=7)
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(422, "give 'from' and 'to' with a time zone (e.g. 2026-11-02T00:00:00Z)")
    if end <= start:
        raise HTTPException(422, "the period ends before it starts: 'to' must be after 'from'")
    return {"from": start, "to": end, **await alert_summary(session, start, end, region=region, top=top)}


@router.post("/alerts/{alert_id}/resolve", response_model=AlertPublic)
async def post_resolve(
    principal: CanManageCatalog, session: SessionDep, alert_id: RowId, body: Resolution
) -> AlertPublic:
    """Close an open alert; the next event of its kind about the device opens a new one."""
    before = await session.scalar(select(SecurityAlert.resolved_at).where(SecurityAlert.id == alert_id))
    if before is not None:
        raise HTTPException(409, f"alert {alert_id} is already resolved")
    alert = await resolve_alert(session, alert_id, by=principal.username, note=body.note, at=utcnow())
    if alert is None:
        raise HTTPException(404, f"alert {alert_id} not found")
    await session.commit()
    return _public(alert)


# -- the vulnerable-firmware list -----------------------------------------------------------------


Pattern = Annotated[str, Field(max_length=100)]


class FirmwareEntryIn(BaseModel):
    manufacturer: Pattern = "*"
    model: Pattern = "*"
    firmware: Pattern = Field(min_length=1)
    advisory: str = Field(min_length=1, max_length=2000)

    @field_validator("manufacturer", "model", "firmware")
    @classmethod
    def _pattern(cls, value: str) -> str:
        return validate_glob(value)


class FirmwareEntryPublic(BaseModel):
    id: int
    manufacturer: str
    model: str
    firmware: str
    advisory: str
    created_at: datetime
    updated_at: datetime
    matched: int | None = None  # devices it covered when added or edited


class FirmwareList(BaseModel):
    items: list[FirmwareEntryPublic]
    total: int


def _entry(row: VulnerableFirmware, matched: int | None = None) -> FirmwareEntryPublic:
    return FirmwareEntryPublic(
        id=row.id,
        manufacturer=row.manufacturer,
        model=row.model,
        firmware=row.firmware,
        advisory=row.advisory,
        created_at=row.created_at,
        updated_at=row.updated_at,
        matched=matched,
    )


async def _scan(session: SessionDep, row: VulnerableFirmware) -> int:
    rule = FirmwareRule(row.id, row.manufacturer, row.model, row.firmware, row.advisory)
    return await scan_firmware(session, rule, utcnow())


@router.get("/vulnerable-firmware", response_model=FirmwareList)
async def get_firmware_list(principal: CanViewAudit, session: SessionDep) -> FirmwareList:
    rows = (await session.scalars(select(VulnerableFirmware).order_by(VulnerableFirmware.id))).all()
    return FirmwareList(items=[_entry(r) for r in rows], total=len(rows))


@router.post("/vulnerable-firmware", response_model=FirmwareEntryPublic, status_code=201)
async def post_firmware_entry(
    principal: CanManageCatalog, session: SessionDep, body: FirmwareEntryIn
) -> FirmwareEntryPublic:
    """Add an entry; every device in the directory it covers gets an alert now."""
    row = VulnerableFirmware(**body.model_dump())
    session.add(row)
    await session.flush()
    matched = await _scan(session, row)
    await session.commit()
    return _entry(row, matched)


@router.put("/vulnerable-firmware/{entry_id}", response_model=FirmwareEntryPublic)
async def put_firmware_entry(
    principal: CanManageCatalog, session: SessionDep, entry_id: RowId, body: FirmwareEntryIn
) -> FirmwareEntryPublic:
    row = await session.get(VulnerableFirmware, entry_id)
    if row is None:
        raise HTTPException(404, f"vulnerable-firmware entry {entry_id} not found")
    for key, value in body.model_dump().items():
        setattr(row, key, value)
    await session.flush()
    matched = await _scan(session, row)
    await session.commit()
    return _entry(row, matched)


@router.delete("/vulnerable-firmware/{entry_id}", status_code=204)
async def delete_firmware_entry(
    principal: CanManageCatalog, session: SessionDep, entry_id: RowId
) -> Response:
    """Remove an entry (alerts it raised stay until resolved)."""
    row = await session.get(VulnerableFirmware, entry_id)
    if row is None:
        raise HTTPException(404, f"vulnerable-firmware entry {entry_id} not found")
    await session.delete(row)
    await session.commit()
    return Response(status_code=204)
