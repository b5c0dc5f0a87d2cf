"""Benchmark: one-click live view latency, ``POST /channels/{id}/live`` to the first decodable
picture at the client, on loopback.

The platform runs as its own process (``--serve``): the API with the media hub, and a
simulated GB/T 28181 device answering each INVITE by sending PS over RTP (a 640x360 clip,
one keyframe a second) from the same process. The client measures

- **warm**: the channel already has a viewer, so the new one starts from the GOP cache;
- **cold**: nobody watches the channel: INVITE, first RTP, first keyframe;
- **naive** baseline, measured in the same run: a relay with no sharing and no GOP cache
  that opens its own upstream per viewer, decodes every frame and re-encodes it with
  libx264 (ultrafast, zerolatency) before packaging (``/naive/{id}`` WebSocket).

Targets: warm < 500 ms, cold < 1.5 s.
Run: ``.venv/bin/python bench/live_latency.py [--trials N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import av  # noqa: E402
from fastapi import WebSocket  # noqa: E402

DEVICE = "34020000001180000001"
BENCH_USER, BENCH_PASSWORD = "bench", "Load-Test-Passw0rd-1"
WIDTH, HEIGHT = 640, 360


def channel_id(i: int) -> str:
    return f"340200000013200{i:05d}"


# -- the platform side (--serve) ---------------------------------------------------------------


class BenchDevice:
    """Answers INVITEs like a camera: sends its clip as PS over RTP to the offered address."""

    def __init__(self, width: int, height: int, bitrate: int | None) -> None:
        self.size = (width, height)
        self.bitrate = bitrate
        self.count = 0

    async def invite(self, device_id, channel_id, *, media_ip, media_port, transport="UDP", timeout=10.0):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        from xueliang.media import PsRtpSender, clip_frames

        self.count += 1
        frames = clip_frames(channel_id[-6:], "normal", "h264", *self.size, seconds=4, bitrate=self.bitrate)
        sender = PsRtpSender(frames, 100000000 + self.count)
        local = await sender.start(transport, (media_ip, media_port))
        answer = SimpleNamespace(connection_address=local[0], media=(SimpleNamespace(port=local[1]),))
        return SimpleNamespace(
            channel_id=channel_id, ssrc=str(100000000 + self.count), answer=answer, sender=sender, ended=None
        )

    async def bye(self, dialog) -> None:  # type: ignore[no-untyped-def]
        await dialog.sender.stop()


class NaiveTranscoder:
    """Decode a frame and encode it again with libx264: what a relay without passthrough does."""

    def __init__(self, width: int, height: int) -> None:
        self.decoder = av.CodecContext.create("h264", "r")
        self.encoder = av.CodecContext.create("libx264", "w")
        self.encoder.width, self.encoder.height, self.encoder.pix_fmt = width, height, "yuv420p"
        self.encoder.time_base = Fraction(1, 25)
        self.encoder.gop_size, self.encoder.max_b_frames = 25, 0
        self.encoder.options = {"preset": "ultrafast", "tune": "zerolatency"}
        self.count = 0

    def __call__(self, data: bytes) -> list[tuple[bytes, int, bool]]:
        out = []
        for picture in self.decoder.decode(av.Packet(data)):
            picture.pts = self.count
            self.count += 1
            for packet in self.encoder.encode(picture):
                out.append((bytes(packet), int(packet.pts), bool(packet.is_keyframe)))
        return out


async def serve(port: int, channels: int, width: int, height: int, bitrate: int | None) -> None:
    import uvicorn
    from sqlalchemy import insert

    from xueliang.api import create_app
    from xueliang.api.context import PlatformContext
    from xueliang.catalog import Channel, Device
    from xueliang.config import Settings
    from xueliang.media import (
        ChannelOpener,
        Fmp4Packager,
        InviteOpener,
        MediaFrame,
        MediaHub,
        VideoCodec,
        clip_frames,
    )
    from xueliang.migrate import upgrade_async
    from xueliang.security import create_user

    data_dir = Path(tempfile.mkdtemp(prefix="xl-bench-"))
    context = PlatformContext.open(Settings(data_dir=data_dir, db=f"sqlite:///{data_dir / 'x.db'}"))
    await upgrade_async(context.engine)
    async with context.sessions() as session, session.begin():
        device = Device(gb_id=DEVICE, name="bench NVR")
        session.add(device)
        await session.flush()
        rows = [
            {"gb_id": channel_id(i), "name": f"bench {i}", "device_id": device.id} for i in range(channels)
        ]
        await session.execute(insert(Channel), rows)
        await create_user(session, BENCH_USER, BENCH_PASSWORD, ["admin"])
    for i in range(channels):  # encode the clips before timing anything
        clip_frames(channel_id(i)[-6:], "normal", "h264", width, height, seconds=4, bitrate=bitrate)
    gb = InviteOpener(BenchDevice(width, height, bitrate))
    context.media = MediaHub(ChannelOpener(context.sessions, gb_opener=gb), idle_timeout=1.0)
    app = create_app(context)

    @app.websocket("/naive/{channel}")
    async def naive(websocket: WebSocket, channel: str) -> None:
        """Per-viewer upstream, decode and re-encode every frame: the baseline."""
        await websocket.accept()
        source = await gb(DEVICE, channel)
        transcode = NaiveTranscoder(width, height)
        packager = Fmp4Packager()
        sent = None
        try:
            async for frame in source:
                for data, pts, key in await asyncio.to_thread(transcode, frame.data):
                    fragment = packager.package(MediaFrame(VideoCodec.H264, pts * 3600, key, data))
                    if fragment is None:
                        continue
                    if fragment.init is not sent:
                        sent = fragment.init
                        await websocket.send_text(sent.message())
                        await websocket.send_bytes(sent.segment)
                    await websocket.send_bytes(fragment.data)
        except Exception:  # the viewer left
            pass
        finally:
            await source.close()

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws_per_message_deflate=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    print("READY", flush=True)
    await task


def start_server(channels: int, width: int = WIDTH, height: int = HEIGHT, bitrate: int | None = None):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, __file__, "--serve", str(port), "--channels", str(channels)]
    args += ["--size", f"{width}x{height}"] + (["--bitrate", str(bitrate)] if bitrate else [])
    process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("READY"):
        process.kill()
        raise SystemExit(f"bench server did not start: {line!r}")
    return process, port


# -- the client side ---------------------------------------------------------------------------


async def login(base: str) -> dict[str, str]:
    """The bench administrator's bearer header."""
    import httpx

    async with httpx.AsyncClient() as client:
        form = {"username": BENCH_USER, "password": BENCH_PASSWORD}
        response = await client.post(f"http://{base}/api/v1/auth/token", data=form)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def first_picture(base: str, channel: str, headers: dict[str, str], naive: bool = False) -> float:
    """Seconds from the click (POST /live, or connecting for naive) to a decoded picture."""
    import httpx
    from websockets.asyncio.client import connect

    start = time.perf_counter()
    if naive:
        url = f"ws://{base}/naive/{channel}"
    else:
        async with httpx.AsyncClient(headers=headers) as client:
            grant = (await client.post(f"http://{base}/api/v1/channels/{channel}/live")).json()
        url = f"ws://{base}{grant['ws_url']}"
    async with connect(url, max_size=None) as ws:
        init = json.loads(await ws.recv())
        assert init["type"] == "init", init
        data = await ws.recv()
        while True:
            data += await ws.recv()
            try:
                with av.open(io.BytesIO(data), format="mp4") as container:
                    for _ in container.decode(video=0):
                        return time.perf_counter() - start
            except av.FFmpegError:
                continue


async def measure(port: int, trials: int) -> dict[str, list[float]]:
    from websockets.asyncio.client import connect

    base = f"127.0.0.1:{port}"
    results: dict[str, list[float]] = {"warm": [], "cold": [], "naive": []}
    headers = await login(base)
    for i in range(trials):  # cold: a channel nobody watches
        results["cold"].append(await first_picture(base, channel_id(1 + i), headers))
    import httpx

    async with httpx.AsyncClient(headers=headers) as client:  # warm: keep one viewer on channel 0
        grant = (await client.post(f"http://{base}/api/v1/channels/{channel_id(0)}/live")).json()
    async with connect(f"ws://{base}{grant['ws_url']}", max_size=None) as keeper:
        drain = asyncio.create_task(_drain(keeper))
        await asyncio.sleep(1.5)
        for _ in range(trials):
            results["warm"].append(await first_picture(base, channel_id(0), headers))
            await asyncio.sleep(0.37)  # land anywhere in the GOP
        drain.cancel()
    for i in range(trials):
        results["naive"].append(await first_picture(base, channel_id(1 + trials + i), headers, naive=True))
    return results


async def _drain(ws) -> None:  # type: ignore[no-untyped-def]
    while True:
        await ws.recv()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--channels", type=int, default=40, help=argparse.SUPPRESS)
    parser.add_argument("--size", default=f"{WIDTH}x{HEIGHT}", help=argparse.SUPPRESS)
    parser.add_argument("--bitrate", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.serve:
        asyncio.run(serve(args.serve, args.channels, width, height, args.bitrate))
        return
    process, port = start_server(2 * args.trials + 2)
    try:
        results = asyncio.run(measure(port, args.trials))
    finally:
        process.terminate()
        process.wait()
    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    worst = {k: max(v) * 1000 for k, v in results.items()}
    print(
        f"live view latency, POST /live -> first decoded picture, {WIDTH}x{HEIGHT} 25 fps GOP 1 s, loopback"
    )
    print(f"{'':8}{'median':>10}{'worst':>10}   target")
    for key, target in (("warm", 500), ("cold", 1500), ("naive", None)):
        goal = (
            f"< {target} ms {'meets target' if med[key] < target else 'MISSES target'}"
            if target
            else "baseline"
        )
        print(f"{key:8}{med[key]:>8.0f}ms{worst[key]:>8.0f}ms   {goal}")
    print(
        f"naive / warm: {med['naive'] / med['warm']:.1f}x   naive / cold: {med['naive'] / med['cold']:.1f}x"
    )


if __name__ == "__main__":
    main()
