"""Camera control (云台控制): pan, tilt and zoom a channel through its device (GB/T 28181 A.3)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.api.deps import CanPtz, ContextDep, SessionDep
from xueliang.catalog import Channel, Device
from xueliang.gb28181 import PtzCommand
from xueliang.security import Action, AuditEntry, append_audit

router = APIRouter(tags=["ptz"])

MOVES = {  # direction -> (pan, tilt, zoom)
    "left": (-1, 0, 0),
    "right": (1, 0, 0),
    "up": (0, 1, 0),
    "down": (0, -1, 0),
    "zoom_in": (0, 0, 1),
    "zoom_out": (0, 0, -1),
}


class PtzRequest(BaseModel):
    direction: Literal["left", "right", "up", "down", "zoom_in", "zoom_out", "stop"]
    speed: int = Field(128, ge=1, le=255, description="Pan/tilt speed; zoom uses its top four bits")


def command_for(body: PtzRequest) -> PtzCommand:
    if body.direction == "stop":
        return PtzCommand.stop()
    pan, tilt, zoom = MOVES[body.direction]
    return PtzCommand.move(
        pan=pan, tilt=tilt, zoom=zoom, pan_speed=body.speed, tilt_speed=body.speed, zoom_speed=body.speed >> 4
    )


@router.post("/channels/{gb_id}/ptz", status_code=202)
async def control(
    principal: CanPtz,
    session: SessionDep,
    context: ContextDep,
    request: Request,
    gb_id: str,
    body: PtzRequest,
) -> dict[str, Any]:
    """Send one PTZ command (a move lasts until ``stop``); audited. 404 outside the user's
    scope, 409 when the channel's device is not registered."""
    statement = (
        select(Device.gb_id).join(Channel, Channel.device_id == Device.id).where(Channel.gb_id == gb_id)
    )
    device = await session.scalar(principal.restrict(statement, Action.PTZ))
    if device is None:
        raise HTTPException(404, f"channel {gb_id} not found (or has no GB/T 28181 device)")
    if context.signalling is None:
        raise HTTPException(503, "signalling is not running")
    sent = context.signalling.ptz(device, gb_id, command_for(body))
    await session.rollback()
    entry = AuditEntry(
        principal.username,
        "ptz",
        "ok" if sent else "failed",
        gb_id,
        client_address=request.client.host if request.client else "",
        detail={"direction": body.direction, "speed": body.speed},
    )
    await append_audit(session, entry)
    await session.commit()
    if not sent:
        raise HTTPException(409, f"device {device} of channel {gb_id} is not online")
    return {"channel_id": gb_id, "direction": body.direction, "sent": True}
