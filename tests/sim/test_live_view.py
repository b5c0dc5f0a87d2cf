"""``xueliang sim`` answering the real platform's live view: ``xueliang serve`` and
``xueliang sim`` as subprocesses on 127.0.0.1, snapshots and fMP4 over the live WebSocket."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import av
import cv2
import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect

from xueliang.media.clips import FaultPattern
from xueliang.sim.media import VideoFaultSpec, channel_codec, channel_serial
from xueliang.sim.plan import FleetPlan

DEVICES, CHANNELS = 2, 2
VIDEO_FAULTS = "signal_loss=0.4"
H265 = 0.5


def _pick_seed() -> tuple[int, dict[str, tuple[FaultPattern, str]]]:
    """A seed whose 4 channels include a normal H.264, a normal H.265 and a signal_loss one."""
    spec = VideoFaultSpec.parse(VIDEO_FAULTS)
    for seed in range(1, 500):
        plan = FleetPlan(DEVICES, CHANNELS, seed=seed)
        looks = {}
        for index in range(DEVICES):
            for slot in range(CHANNELS):
                gb_id = plan.channel_id(index, slot)
                serial = channel_serial(gb_id)
                looks[gb_id] = (spec.fault_for(seed, serial), channel_codec(seed, serial, H265))
        kinds = set(looks.values())
        normal = FaultPattern.NORMAL
        if {(normal, "h264"), (normal, "h265")} <= kinds and any(
            f is FaultPattern.SIGNAL_LOSS for f, _ in kinds
        ):
            return seed, looks
    raise AssertionError("no seed gives the mix of channels this test needs")


def _find(looks: dict[str, tuple[FaultPattern, str]], fault: FaultPattern, codec: str | None = None) -> str:
    return next(g for g, (f, c) in sorted(looks.items()) if f is fault and codec in (None, c))


def _snapshot(api: str, gb_id: str, headers: dict[str, str]) -> np.ndarray:
    response = httpx.get(
        f"{api}/channels/{gb_id}/snapshot", params={"timeout": 30}, timeout=60, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "not a JPEG"
    return picture


async def _watch(url: str, fragments: int) -> tuple[dict, bytes]:
    async with connect(url, max_size=None) as ws:
        init = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert init["type"] == "init", init
        parts = [await asyncio.wait_for(ws.recv(), 20)]
        for _ in range(fragments):
            message = await asyncio.wait_for(ws.recv(), 20)
            assert isinstance(message, bytes), message
            parts.append(message)
    return init, b"".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("media_transport", ["UDP", "TCP-passive", "TCP-active"])
def test_sim_channels_stream_real_video_to_xueliang_serve(tmp_path: Path, media_transport: str) -> None:
    from tests.support.platform import running_platform

    seed, looks = _pick_seed()
    with running_platform(tmp_path, media_transport=media_transport) as platform:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
        env["XUELIANG_CLIP_CACHE"] = str(tmp_path / "clips")
        sim_log = (tmp_path / "sim.log").open("w")
        sim = subprocess.Popen(
            [
                sys.executable, "-m", "xueliang", "sim",
                "--platform", f"127.0.0.1:{platform.sip_port}",
                "--devices", str(DEVICES), "--channels", str(CHANNELS),
                "--seed", str(seed), "--video-faults", VIDEO_FAULTS, "--h265", str(H265),
                "--keepalive", "2", "--json",
            ],
            env=env, stdout=subprocess.PIPE, stderr=sim_log, text=True,
        )  # fmt: skip
        try:

            def all_online() -> bool:
                assert sim.poll() is None, (tmp_path / "sim.log").read_text()
                got = platform.get("/channels", status="online", limit=100)
                return got["total"] == DEVICES * CHANNELS

            platform.wait_for(all_online, 60, "the sim's channels to be online")
            api = platform.api

            h264 = _find(looks, FaultPattern.NORMAL, "h264")
            h265 = _find(looks, FaultPattern.NORMAL, "h265")
            dark = _find(looks, FaultPattern.SIGNAL_LOSS)
            for gb_id in (h264, h265):
                picture = _snapshot(api, gb_id, platform.headers)
                assert picture.shape == (360, 640, 3)
                assert float(picture.std()) > 20 and float(picture.mean()) > 60, "a real street scene"
            black = _snapshot(api, dark, platform.headers)
            assert black.shape == (360, 640, 3)
            assert float(black.mean()) < 25, "signal loss: a black picture (with the label)"

            async def live(gb_id: str) -> tuple[dict, list[np.ndarray]]:
                async with httpx.AsyncClient(base_url=api, headers=platform.headers) as client:
                    grant = (await client.post(f"/channels/{gb_id}/live")).json()
                url = "ws://" + platform.http + grant["ws_url"]
                init, mp4 = await _watch(url, 12)
                assert mp4[4:8] == b"ftyp"
                with av.open(io.BytesIO(mp4), format="mp4") as container:
                    pictures = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
                return init, pictures

            for gb_id in (h264, h265):
                init, pictures = asyncio.run(live(gb_id))
                assert (init["width"], init["height"]) == (640, 360)
                assert len(pictures) >= 12 and pictures[0].shape == (360, 640, 3)
                assert float(pictures[-1].std()) > 20
        finally:
            sim.send_signal(signal.SIGINT)
            try:
                out, _ = sim.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                sim.kill()
                out, _ = sim.communicate()
            sim_log.close()
        assert sim.returncode == 0, (tmp_path / "sim.log").read_text()
        stats = json.loads(out.strip().splitlines()[-1])
        assert stats["invites_answered"] >= 3 and stats["streams_started"] >= 3
        assert stats["media_failures"] == 0
