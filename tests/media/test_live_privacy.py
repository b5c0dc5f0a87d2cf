"""Privacy masks through the running app: masks stored and validated over HTTP, snapshots and
live fMP4 (over a real WebSocket, decoded by FFmpeg) blank where masked for masked callers
only, and an edit reaching a masked live view while it plays."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.media.test_live_api import decode_mp4, watch
from tests.media.test_privacy import BOX, OUTSIDE, blank, region, textured
from tests.support.auth import add_user, login
from tests.support.live_app import GB_H264, GB_H265, UNKNOWN, Live, start_live
from websockets.asyncio.client import connect

PENTAGON = {"points": [[0.05, 0.2], [0.5, 0.15], [0.55, 0.5], [0.3, 0.75], [0.05, 0.6]], "label": "window"}


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async for value in start_live(tmp_path):
        yield value


async def put_masks(live: Live, channel: str, items: list[dict]) -> dict:
    async with live.http() as client:
        response = await client.put(f"/channels/{channel}/privacy-masks", json={"items": items})
    assert response.status_code == 200, response.text
    return response.json()


async def snapshot(live: Live, channel: str, masked: bool) -> np.ndarray:
    async with live.http() as client:
        response = await client.get(f"/channels/{channel}/snapshot", params={"masked": masked})
    assert response.status_code == 200, response.text
    return cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)


async def test_masks_are_stored_validated_and_bad_input_loses_nothing(live: Live) -> None:
    stored = await put_masks(live, GB_H264, [PENTAGON])
    assert stored["total"] == 1 and stored["items"][0]["label"] == "window"
    async with live.http() as client:
        got = (await client.get(f"/channels/{GB_H264}/privacy-masks")).json()
        assert got == stored and got["items"][0]["points"] == PENTAGON["points"]
        square = [[0, 0], [0.1, 0], [0.1, 0.1]]
        for bad in (
            {"items": [{"points": [[0, 0], [1, 1]]}]},  # two points
            {"items": [{"points": [[0, 0], [1.5, 0], [1, 1]]}]},  # outside 0..1
            {"items": [{"points": [[0, 0], [0.5, 0.5], [1, 1]]}]},  # no area
            {"items": [{"points": square}] * 33},  # too many
            {"items": [{"points": "nope"}]},
            {"masks": []},
        ):
            response = await client.put(f"/channels/{GB_H264}/privacy-masks", json=bad)
            assert response.status_code == 422, (bad, response.text)
        assert (await client.get(f"/channels/{GB_H264}/privacy-masks")).json() == stored
        assert (await client.get(f"/channels/{UNKNOWN}/privacy-masks")).status_code == 404
        put = await client.put(f"/channels/{UNKNOWN}/privacy-masks", json={"items": []})
        assert put.status_code == 404
    cleared = await put_masks(live, GB_H264, [])
    assert cleared["items"] == [] and cleared["total"] == 0


@pytest.mark.parametrize("channel", [GB_H264, GB_H265])
async def test_masked_snapshot_is_blank_where_masked_unmasked_is_not(live: Live, channel: str) -> None:
    await put_masks(live, channel, [PENTAGON])
    masked = await snapshot(live, channel, masked=True)
    plain = await snapshot(live, channel, masked=False)
    assert masked.shape == plain.shape == (360, 640, 3)
    assert blank(region(masked, BOX)) and textured(region(masked, OUTSIDE))
    assert textured(region(plain, BOX))


async def test_masked_live_view_is_blank_where_masked_beside_an_unmasked_one(live: Live) -> None:
    await put_masks(live, GB_H265, [PENTAGON])
    async with live.http() as client:
        grant = (await client.post(f"/channels/{GB_H265}/live", params={"masked": True})).json()
        plain_grant = (await client.post(f"/channels/{GB_H265}/live")).json()
    assert grant["masked"] is True and plain_grant["masked"] is False
    ws = "ws://" + live.base.removeprefix("http://")
    masked = await watch(ws + grant["ws_url"], 25)
    plain = await watch(ws + plain_grant["ws_url"], 25)
    assert masked.init["codec"].startswith("avc1.")
    masked_pictures, plain_pictures = decode_mp4(masked.mp4), decode_mp4(plain.mp4)
    assert len(masked_pictures) >= 25 and len(plain_pictures) >= 25
    for picture in masked_pictures:
        assert blank(region(picture, BOX)) and textured(region(picture, OUTSIDE))
    for picture in plain_pictures:
        assert textured(region(picture, BOX))
    assert live.device.invites == 1, "masked and unmasked viewers share the upstream"


async def test_masked_caller_of_a_channel_without_masks_gets_the_plain_stream(live: Live) -> None:
    async with live.http() as client:
        grant = (await client.post(f"/channels/{GB_H264}/live", params={"masked": True})).json()
    assert grant["masked"] is False
    got = await watch("ws://" + live.base.removeprefix("http://") + grant["ws_url"], 10)
    assert textured(region(decode_mp4(got.mp4)[0], BOX))
    assert not any(s.masking for s in live.hub.sessions())


async def test_an_edit_reaches_a_masked_live_view_while_it_plays(live: Live) -> None:
    await put_masks(live, GB_H264, [PENTAGON])
    async with live.http() as client:
        grant = (await client.post(f"/channels/{GB_H264}/live", params={"masked": True})).json()
    url = "ws://" + live.base.removeprefix("http://") + grant["ws_url"]
    moved = {"points": [[0.6, 0.05], [0.97, 0.05], [0.97, 0.55], [0.6, 0.55]], "label": "shop"}
    async with connect(url, max_size=None) as ws:
        assert json.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "init"
        parts = [await asyncio.wait_for(ws.recv(), 10) for _ in range(11)]  # init segment + 10
        await put_masks(live, GB_H264, [moved])
        parts += [await asyncio.wait_for(ws.recv(), 10) for _ in range(75)]  # past two keyframes
    pictures = decode_mp4(b"".join(parts))
    for picture in pictures[:8]:
        assert blank(region(picture, BOX)) and textured(region(picture, OUTSIDE))
    for picture in pictures[-20:]:
        assert textured(region(picture, BOX)) and blank(region(picture, OUTSIDE))


async def test_a_viewer_sees_masks_an_administrator_lifts_them_and_the_lift_is_audited(live: Live) -> None:
    await put_masks(live, GB_H264, [PENTAGON])
    await add_user(live.sessions, "viewer", ["viewer"])
    async with live.http() as client:
        viewer = await login(client, "viewer")
        as_viewer = await client.get(f"/channels/{GB_H264}/snapshot", headers=viewer)
        as_admin = await client.get(f"/channels/{GB_H264}/snapshot")  # no lift asked, none refused
        grant = (await client.post(f"/channels/{GB_H264}/live", headers=viewer)).json()
        lifts = (await client.get("/audit", params={"action": "lift_privacy_mask"})).json()["items"]
    pictures = [
        cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR) for r in (as_viewer, as_admin)
    ]
    assert blank(region(pictures[0], BOX)) and not blank(region(pictures[1], BOX))
    assert grant["masked"] is True  # the viewer's live view is masked too
    assert [(e["actor"], e["channel"]) for e in lifts] == [("admin", GB_H264)]
