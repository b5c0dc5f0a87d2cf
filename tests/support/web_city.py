"""A small simulated city served for real: ``xueliang serve`` with the demo's seeded city and
its ``xueliang sim`` fleet (GB/T 28181 NVRs and RTSP cameras) on 127.0.0.1, for browser tests
and the web benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xueliang.config import Settings
from xueliang.demo.city import city_channels
from xueliang.demo.run import DemoCity, seed, start_sim, truth

from .platform import RunningPlatform, free_port, running_platform


@dataclass
class City:
    platform: RunningPlatform
    plan: DemoCity
    expected_online: int  # GB/T 28181 channels whose NVR the simulator brings online

    @property
    def base(self) -> str:
        return f"http://{self.platform.http}"


def seed_city_dir(data_dir: Path, plan: DemoCity) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(seed(Settings(data_dir=data_dir), plan))


@contextmanager
def simulated_city(
    tmp_path: Path, channels: int = 200, *, fleet: bool = True, **settings: str
) -> Iterator[City]:
    """Seed ``channels`` channels (plus a few RTSP cameras) with their 30-day history, serve
    them, and (with ``fleet``) start the simulator and wait until its channels are online."""
    plan = DemoCity(channels, 4, f"127.0.0.1:{free_port()}")
    seed_city_dir(tmp_path / "platform", plan)
    expected = sum(1 for c in city_channels(channels) if not truth(c.gb_id, c.device_gb_id)[0])
    with running_platform(tmp_path, inspection_interval="0", **settings) as platform:
        sims: list[subprocess.Popen[bytes]] = []
        sim_settings = Settings(data_dir=platform.data_dir, sip=f"127.0.0.1:{platform.sip_port}")
        try:
            if fleet:
                sims = [start_sim(sim_settings, plan, "cameras"), start_sim(sim_settings, plan, "devices")]

                def online() -> bool:
                    for sim in sims:
                        assert sim.poll() is None, (platform.data_dir / "sim-devices.log").read_text()
                    total = platform.get("/channels", status="online", page_size=1)["total"]
                    return bool(total >= expected)

                platform.wait_for(online, 90, f"{expected} simulated channels online")
            yield City(platform, plan, expected)
        finally:
            for sim in sims:
                sim.terminate()
            for sim in sims:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    sim.wait(timeout=10)
                if sim.poll() is None:
                    sim.kill()
                    sim.wait()
