"""Regions (行政区划) and organisations: the trees channels hang from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from xueliang.api.deps import CanView, SessionDep
from xueliang.api.schemas import OrganizationPublic, RegionPublic
from xueliang.catalog import Organization, Region

router = APIRouter(tags=["directory"])


@router.get("/regions")
async def list_regions(principal: CanView, session: SessionDep) -> dict[str, Any]:
    regions = (await session.scalars(select(Region).order_by(Region.civil_code))).all()
    items = [
        RegionPublic(
            civil_code=r.civil_code,
            name=r.name,
            parent_code=r.parent_code,
            level=r.level,
            planned={p.point_class: p.planned for p in r.plans},
        )
        for r in regions
    ]
    return {"items": items, "total": len(items)}


@router.get("/organizations")
async def list_organizations(principal: CanView, session: SessionDep) -> dict[str, Any]:
    orgs = (await session.scalars(select(Organization).order_by(Organization.path))).all()
    items = [
        OrganizationPublic(id=o.id, code=o.code, name=o.name, kind=o.kind, parent_id=o.parent_id)
        for o in orgs
    ]
    return {"items": items, "total": len(items)}
