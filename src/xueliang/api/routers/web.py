"""What the web UI needs to know about this deployment before it draws anything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from xueliang.api.deps import CanView, SettingsDep
from xueliang.insight import Targets
from xueliang.insight.rates import CHINA_EXTENT

router = APIRouter(prefix="/web", tags=["web"])


@router.get("/config")
async def web_config(principal: CanView, settings: SettingsDep) -> dict[str, Any]:
    """Base map (tile URL template, its coordinate system, the deployment area), the
    indicator targets per point class, and the point classes and zone reports use."""
    targets = Targets()
    classes = range(1, settings.point_classes + 1)
    return {
        "map": {
            "tile_url": settings.map_tile_url or None,
            "coord_system": settings.map_coord_system,
            "area": list(settings.area or CHINA_EXTENT),
        },
        "targets": {
            "default": targets.default,
            "by_class": {str(c): targets.for_class(c) for c in classes},
        },
        "point_classes": settings.point_classes,
        "timezone": settings.timezone,
    }
