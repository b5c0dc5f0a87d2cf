"""PTZ control (云台控制) of a GB/T 28181 channel: ``POST /channels/{gb_id}/ptz``.

One command per request, sent as a DeviceControl MESSAGE with a PTZCmd (GB/T 28181 A.3) to the
channel's device: a move or zoom runs until ``stop``; the web UI sends the move on press and
the stop on release.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from xueliang.api.deps import CanPtz, ContextDep, SessionDep
from xueliang.catalog import Channel, Device
from xueliang.gb28181 import PtzCommand

router = APIRouter(tags=["ptz"])

# GB/T 28181 Appendix A catalog PTZType: 1 dome, 2 half-dome, 3 fixed bullet, 4 remote-controlled bullet.
FIXED_TYPES = {2: "half-dome", 3: "fixed bullet"}


class PtzAction(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    UP = "up"
    DOWN = "down"
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    STOP = "stop"


MOVES: dict[PtzAction, dict[str, int]] = {
    PtzAction.LEFT: {"pan": -1},
    PtzAction.RIGHT: {"pan": 1},
    PtzAction.UP: {"tilt": 1},
    PtzAction.DOWN: {"tilt": -1},
    PtzAction.ZOOM_IN: {"zoom": 1},
    PtzAction.ZOOM_OUT: {"zoom": -1},
}


class PtzBody(BaseModel):
    action: PtzAction
    speed: int = Field(128, ge=1, le=255, description="Pan/tilt speed 1-255 (zoom: scaled to 1-15)")


def ptz_command(action: PtzAction, speed: int) -> PtzCommand:
    if action is PtzAction.STOP:
        return PtzCommand.stop()
    zoom_speed = max(1, speed * 15 // 255)
    return PtzCommand.move(**MOVES[action], pan_speed=speed, tilt_speed=speed, zoom_speed=zoom_speed)


@router.post("/channels/{gb_id}/ptz")
async def control_ptz(
    principal: CanPtz, context: ContextDep, session: SessionDep, gb_id: str, body: PtzBody
) -> dict[str, Any]:
    """Send one PTZ command; 409 for a camera without PTZ or without a GB/T 28181 device,
    404 for an unknown channel, 503 when its device is not registered now."""
    row = (
        await session.execute(
            select(Channel.ptz_type, Device.gb_id, Device.kind)
            .outerjoin(Device, Channel.device_id == Device.id)
            .where(Channel.gb_id == gb_id)
        )
    ).first()
    if row is None:
        raise HTTPException(404, f"channel {gb_id} not found")
    ptz_type, device_gb_id, device_kind = row
    if ptz_type in FIXED_TYPES:
        raise HTTPException(409, f"channel {gb_id} is a {FIXED_TYPES[ptz_type]} camera without PTZ")
    if device_gb_id is None or device_kind == "rtsp":
        raise HTTPException(409, f"channel {gb_id} has no GB/T 28181 device to send PTZ commands to")
    if context.signalling is None:
        raise HTTPException(503, "signalling is not running")
    command = ptz_command(body.action, body.speed)
    if not context.signalling.ptz(device_gb_id, gb_id, command):
        raise HTTPException(503, f"device {device_gb_id} is not online")
    return {"channel_id": gb_id, "action": body.action.value, "command": command.to_hex()}
