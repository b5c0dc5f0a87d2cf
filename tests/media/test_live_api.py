"""The live API end to end on a running app (uvicorn on a free loopback port): POST /live,
fMP4 over a real WebSocket decoded back to pictures by FFmpeg, snapshots, errors, sharing,
viewers leaving mid-stream, and RTSP channels pulled from GStreamer's RTSP server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest
from tests.support.live_app import (
    GB_H264,
    GB_H265,
    GB_REFUSED,
    GB_SILENT,
    NO_STREAM,
    RTSP_CH,
    RTSP_DOWN,
    UNKNOWN,
    Live,
    start_live,
)
from tests.support.rtsp import gstreamer_missing, rtsp_camera
from websockets.asyncio.client import connect


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async for value in start_live(tmp_path):
        yield value


@dataclass
class Received:
    init: dict
    mp4: bytes
    fragments: int
    error: dict | None = None


async def watch(url: str, fragments: int) -> Received:
    """Read the init message, the init segment and ``fragments`` fragments."""
    async with connect(url, max_size=None) as ws:
        init = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if init["type"] != "init":
            return Received({}, b"", 0, init)
        parts = [await asyncio.wait_for(ws.recv(), 10)]
        for _ in range(fragments):
            message = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(message, bytes), message
            parts.append(message)
    return Received(init, b"".join(parts), fragments)


def decode_mp4(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data), format="mp4") as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def assert_real_pictures(pictures: list[np.ndarray], count: int, size: tuple[int, int]) -> None:
    assert len(pictures) >= count
    assert pictures[0].shape[:2] == (size[1], size[0])
    assert float(pictures[0].std()) > 20 and float(pictures[-1].std()) > 20, "pictures are not blank"


@pytest.mark.parametrize(("channel", "note"), [(GB_H264, "passed through"), (GB_H265, "transcoded")])
async def test_live_view_delivers_decodable_fmp4(live: Live, channel: str, note: str) -> None:
    got = await watch(await live.ws_url(channel), 30)
    assert got.init["codec"].startswith("avc1.") and (got.init["width"], got.init["height"]) == (640, 360)
    assert got.mp4[4:8] == b"ftyp"
    pictures = decode_mp4(got.mp4)
    assert_real_pictures(pictures, 30, (640, 360))
    if channel == GB_H264:
        async with live.http() as client:
            grant = (await client.post(f"/channels/{channel}/live")).json()
        assert grant["codec"] == got.init["codec"], "a warm session knows its codec at once"


async def test_unknown_channel_and_bad_tokens(live: Live) -> None:
    async with live.http() as client:
        assert (await client.post(f"/channels/{UNKNOWN}/live")).status_code == 404
        assert (await client.get(f"/channels/{UNKNOWN}/snapshot")).status_code == 404
    ws_base = live.base.replace("http://", "ws://")
    async with connect(f"{ws_base}/api/v1/live/forged-token") as ws:
        message = json.loads(await ws.recv())
        assert message == {"type": "error", "message": "unknown or expired live token"}
    url = await live.ws_url(GB_H264)
    await watch(url, 1)
    again = await watch(url, 1)  # tokens are single-use
    assert again.error is not None and "token" in again.error["message"]


async def test_snapshot_is_a_real_jpeg_and_failures_have_their_status(live: Live) -> None:
    async with live.http() as client:
        response = await client.get(f"/channels/{GB_H264}/snapshot")
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (360, 640, 3) and float(picture.std()) > 20
        silent = await client.get(f"/channels/{GB_SILENT}/snapshot", params={"timeout": 5})
        assert silent.status_code == 504 and "no media" in silent.json()["detail"]
        refused = await client.get(f"/channels/{GB_REFUSED}/snapshot")
        assert refused.status_code == 502 and "486" in refused.json()["detail"]
        nothing = await client.get(f"/channels/{NO_STREAM}/snapshot")
        assert nothing.status_code == 502 and "no stream URL" in nothing.json()["detail"]
        down = await client.get(f"/channels/{RTSP_DOWN}/snapshot")
        assert down.status_code == 502 and "cannot open" in down.json()["detail"]


async def test_errors_reach_the_viewer_before_the_socket_closes(live: Live) -> None:
    for channel, words in ((GB_SILENT, "no media within 1.5 s"), (GB_REFUSED, "486 Busy Here")):
        got = await watch(await live.ws_url(channel), 1)
        assert got.error is not None and got.error["type"] == "error" and words in got.error["message"]


async def test_several_viewers_share_one_upstream(live: Live) -> None:
    urls = [await live.ws_url(GB_H264) for _ in range(6)]
    results = await asyncio.gather(*(watch(url, 15) for url in urls))
    assert live.device.invites == 1
    for got in results:
        assert_real_pictures(decode_mp4(got.mp4), 15, (640, 360))


async def test_viewer_leaving_mid_stream_releases_the_upstream(live: Live) -> None:
    url = await live.ws_url(GB_H264)
    ws = await connect(url, max_size=None)
    for _ in range(10):
        await ws.recv()
    ws.transport.abort()  # the browser tab is closed: no closing handshake
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while live.device.byes < 1:
        assert loop.time() < deadline, f"upstream not released: {live.hub.sessions()}"
        await asyncio.sleep(0.05)
    assert not live.hub.sessions()
    with contextlib.suppress(Exception):
        await ws.close()


async def test_player_page_is_served(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.base) as client:
        page = await client.get("/player", params={"channel": GB_H264})
    assert page.status_code == 200 and "MediaSource" in page.text
    assert "http://" not in page.text and "https://" not in page.text, "no external requests"


@pytest.fixture
async def rtsp_live(tmp_path: Path) -> AsyncIterator[Live]:
    reason = gstreamer_missing()
    if reason:
        pytest.skip(reason)
    with rtsp_camera("h264", user="admin", password="s3cret:/@") as url:
        async for value in start_live(tmp_path, url):
            yield value


async def test_rtsp_channel_live_and_snapshot(rtsp_live: Live) -> None:
    got = await watch(await rtsp_live.ws_url(RTSP_CH), 25)
    assert got.init["codec"].startswith("avc1.")
    assert_real_pictures(decode_mp4(got.mp4), 25, (640, 360))
    async with rtsp_live.http() as client:
        response = await client.get(f"/channels/{RTSP_CH}/snapshot")
    assert response.status_code == 200
    picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == (360, 640, 3) and float(picture.std()) > 10
