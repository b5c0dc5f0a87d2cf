"""A running app for live-view tests: uvicorn on a free loopback port, a migrated SQLite
directory with GB/T 28181 channels (served by a :class:`LoopbackDevice`) and RTSP ones, and
a :class:`MediaHub` wired the way the platform wires it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.support.auth import ADMIN, add_user, login
from tests.support.media_device import ChannelMedia, LoopbackDevice
from tests.support.platform import free_port

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.catalog import Channel, Device
from xueliang.config import Settings
from xueliang.media import ChannelOpener, InviteOpener, MediaHub
from xueliang.migrate import upgrade_async

DEVICE = "34020000001180000001"
GB_H264 = "34020000001320000001"
GB_H265 = "34020000001320000002"
GB_SILENT = "34020000001320000003"
GB_REFUSED = "34020000001320000004"
NO_STREAM = "34020000001320000005"
RTSP_CH = "34020000001320000006"
RTSP_DOWN = "34020000001320000007"
UNKNOWN = "34020000001320009999"


@dataclass
class Live:
    base: str
    device: LoopbackDevice
    hub: MediaHub
    headers: dict[str, str]  # an administrator's bearer token
    sessions: async_sessionmaker[AsyncSession]

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=f"{self.base}/api/v1", timeout=20, headers=self.headers)

    async def ws_url(self, channel: str) -> str:
        async with self.http() as client:
            response = await client.post(f"/channels/{channel}/live")
        assert response.status_code == 200, response.text
        grant = response.json()
        assert grant["expires_in"] == 30 and grant["ws_url"].startswith("/api/v1/live/")
        return "ws://" + self.base.removeprefix("http://") + grant["ws_url"]


async def start_live(tmp_path: Path, rtsp_url: str | None = None) -> AsyncIterator[Live]:
    settings = Settings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}")
    context = PlatformContext.open(settings)
    await upgrade_async(context.engine)
    async with context.sessions() as session, session.begin():
        device = Device(gb_id=DEVICE, name="NVR")
        session.add(device)
        await session.flush()
        for gb_id in (GB_H264, GB_H265, GB_SILENT, GB_REFUSED, NO_STREAM):
            session.add(
                Channel(gb_id=gb_id, name=gb_id[-4:], device_id=None if gb_id == NO_STREAM else device.id)
            )
        if rtsp_url:
            session.add(
                Channel(
                    gb_id=RTSP_CH,
                    name="rtsp",
                    stream_url=rtsp_url,
                    stream_username="admin",
                    stream_password="s3cret:/@",
                )
            )
        session.add(Channel(gb_id=RTSP_DOWN, name="down", stream_url=f"rtsp://127.0.0.1:{free_port()}/x"))
    device_media = LoopbackDevice(
        {
            GB_H265: ChannelMedia(codec="h265"),
            GB_SILENT: ChannelMedia(silent=True),
            GB_REFUSED: ChannelMedia(refuse=True),
        }
    )
    gb = InviteOpener(device_media, no_media_timeout=1.5)
    context.media = MediaHub(ChannelOpener(context.sessions, gb_opener=gb), idle_timeout=0.5)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws_per_message_deflate=False,  # as the platform serves it
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    try:
        await add_user(context.sessions, ADMIN, ["admin"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
            headers = await login(client, ADMIN)
        yield Live(f"http://127.0.0.1:{port}", device_media, context.media, headers, context.sessions)
    finally:
        server.should_exit = True
        await task
        await context.media.close()
        await context.close()
