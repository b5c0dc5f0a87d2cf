"""``POST /channels/{id}/ptz``: the PTZCmd each action sends, and refusals in words."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from xueliang.api.routers.ptz import PtzAction, ptz_command
from xueliang.catalog import Channel
from xueliang.demo import city_channels, seed_city
from xueliang.gb28181 import PtzCommand


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (PtzAction.LEFT, PtzCommand.move(pan=-1, pan_speed=64, tilt_speed=64, zoom_speed=3)),
        (PtzAction.UP, PtzCommand.move(tilt=1, pan_speed=64, tilt_speed=64, zoom_speed=3)),
        (PtzAction.ZOOM_OUT, PtzCommand.move(zoom=-1, pan_speed=64, tilt_speed=64, zoom_speed=3)),
        (PtzAction.STOP, PtzCommand.stop()),
    ],
)
def test_actions_map_to_gb_ptz_commands(action, expected):
    assert ptz_command(action, 64) == expected


async def test_refusals(client, sessions):
    channels = list(city_channels(8))
    async with sessions() as session, session.begin():
        await seed_city(session, 8)
        await session.execute(update(Channel).where(Channel.gb_id == channels[0].gb_id).values(ptz_type=3))
        await session.execute(update(Channel).where(Channel.gb_id == channels[1].gb_id).values(ptz_type=1))
    fixed = await client.post(f"/channels/{channels[0].gb_id}/ptz", json={"action": "left"})
    assert fixed.status_code == 409 and "fixed bullet camera without PTZ" in fixed.json()["detail"]
    dome = await client.post(f"/channels/{channels[1].gb_id}/ptz", json={"action": "left"})
    assert dome.status_code == 503 and dome.json()["detail"] == "signalling is not running"
    missing = await client.post("/channels/34020200001329999999/ptz", json={"action": "stop"})
    assert missing.status_code == 404
    bad = await client.post(f"/channels/{channels[1].gb_id}/ptz", json={"action": "spin", "speed": 0})
    assert bad.status_code == 422
