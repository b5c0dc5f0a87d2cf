"""Privacy-mask API (隐私遮挡) and the masking decision the live routes depend on.

- ``GET /channels/{gb_id}/privacy-masks`` -> ``{"channel_id", "items": [{"points", "label"}], "total"}``
- ``PUT /channels/{gb_id}/privacy-masks`` ``{"items": [{"points": [[x, y], ...], "label"}]}``
  replaces the channel's masks (an empty list removes them); bad polygons answer 422 and
  leave the stored masks as they were. Open masked live views pick the new masks up at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from xueliang.api.deps import CanManageCatalog, CanView, ContextDep, Principal, SessionDep
from xueliang.catalog import Channel
from xueliang.media.privacy import MAX_MASK_POINTS, MAX_MASKS, MaskError, MaskPolygon, PrivacyMasks
from xueliang.security.permissions import Action
from xueliang.security.privacy import load_privacy_masks, save_privacy_masks

__all__ = ["router"]

router = APIRouter(tags=["privacy"])

Coordinate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class MaskIn(BaseModel):
    points: list[tuple[Coordinate, Coordinate]] = Field(
        min_length=3, max_length=MAX_MASK_POINTS, description="Corners [x, y], 0..1 of width and height."
    )
    label: str = Field("", max_length=100)

    @model_validator(mode="after")
    def _drawable(self) -> MaskIn:
        MaskPolygon(tuple(self.points), self.label)  # MaskError (a ValueError) becomes a 422
        return self


class MasksIn(BaseModel):
    items: list[MaskIn] = Field(max_length=MAX_MASKS)

    def masks(self) -> PrivacyMasks:
        return PrivacyMasks(tuple(MaskPolygon(tuple(m.points), m.label) for m in self.items))


class MaskPublic(BaseModel):
    points: list[tuple[float, float]]
    label: str


class MasksPublic(BaseModel):
    channel_id: str
    items: list[MaskPublic]
    total: int


def _public(gb_id: str, masks: PrivacyMasks) -> MasksPublic:
    items = [MaskPublic(points=list(p.points), label=p.label) for p in masks.polygons]
    return MasksPublic(channel_id=gb_id, items=items, total=len(items))


async def _channel_row(session: SessionDep, principal: Principal, action: Action, gb_id: str) -> int:
    """The channel's row ID; 404 when it does not exist or is outside the caller's scope."""
    found = await session.scalar(principal.restrict(select(Channel.id).where(Channel.gb_id == gb_id), action))
    if found is None:
        raise HTTPException(404, f"channel {gb_id} not found")
    return int(found)


@router.get("/channels/{gb_id}/privacy-masks", response_model=MasksPublic)
async def get_privacy_masks(principal: CanView, session: SessionDep, gb_id: str) -> MasksPublic:
    """The channel's privacy-mask polygons, in drawing order."""
    await _channel_row(session, principal, Action.VIEW, gb_id)
    return _public(gb_id, await load_privacy_masks(session, gb_id))


@router.put("/channels/{gb_id}/privacy-masks", response_model=MasksPublic)
async def put_privacy_masks(
    principal: CanManageCatalog, session: SessionDep, context: ContextDep, gb_id: str, body: MasksIn
) -> MasksPublic:
    """Replace the channel's privacy masks; masked viewers watching now see the new ones."""
    channel_id = await _channel_row(session, principal, Action.MANAGE_CATALOG, gb_id)
    try:
        masks = body.masks()
    except MaskError as exc:
        raise HTTPException(422, str(exc)) from None
    await save_privacy_masks(session, channel_id, masks)
    await session.commit()
    if context.media is not None:
        context.media.update_masks(gb_id, masks)
    return _public(gb_id, masks)
