"""``xueliang demo``: seed the simulated city into a data directory, serve it, and bring its
devices and RTSP cameras to life with the simulator in a child process (the second core).

The data directory remembers the city it holds (``demo.json``): running the demo again
resumes that city, ``--fresh`` starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.api.context import PlatformContext
from xueliang.catalog import Channel, ChannelStatus
from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.demo.city import city_rtsp_cameras
from xueliang.demo.county import COUNTY_SIP_ID, start_county
from xueliang.demo.history import seed_history
from xueliang.demo.seed import seed_city
from xueliang.migrate import upgrade_async
from xueliang.platform import run_platform
from xueliang.security import create_user, find_user, set_password
from xueliang.sim import Fault, FaultSpec, VideoFaultSpec, parse_platform
from xueliang.sim.media import channel_serial

__all__ = ["DemoCity", "run_demo"]

HISTORY_DAYS = 30
PER_DEVICE = 8  # the city plan puts eight channels on each NVR
SEED = 7  # the simulator's default seed: the history and the live fleet agree
CLIP_POOL = 16  # clips a fault the NVR channels share: the first sweep need not encode 20,000
FAULTS = "offline=0.03,flapping=0.02,slow_catalog=0.02,fragmented=0.02,gb2312=0.3"
VIDEO_FAULTS = "blur=0.03,too_dark=0.02,occlusion=0.02,color_cast=0.02,frozen=0.02,noise=0.01,stripes=0.01"


@dataclass(frozen=True, slots=True)
class DemoCity:
    """What a demo data directory holds, kept in its ``demo.json``."""

    channels: int
    rtsp_cameras: int
    rtsp: str  # HOST:PORT of the simulated RTSP cameras

    @property
    def devices(self) -> int:
        return -(-self.channels // PER_DEVICE)

    @property
    def county_devices(self) -> int:
        """NVRs behind the county platform (about 1 % of the city's cameras)."""
        return max(2, self.channels // 100 // PER_DEVICE)

    @classmethod
    def load(cls, data_dir: Path) -> DemoCity | None:
        try:
            return cls(**json.loads((data_dir / "demo.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, data_dir: Path) -> None:
        (data_dir / "demo.json").write_text(json.dumps(asdict(self)))


def truth(gb_id: str, device_gb_id: str | None) -> tuple[bool, str | None]:
    """What the simulator will show of a channel: offline (its NVR never registers) and its
    picture fault, so the seeded history leads up to what inspection then finds."""
    offline = bool(device_gb_id) and bool(
        FaultSpec.parse(FAULTS).faults_for(SEED, int(device_gb_id[13:]) - 1) & Fault.OFFLINE
    )
    fault = VideoFaultSpec.parse(VIDEO_FAULTS).fault_for(SEED, channel_serial(gb_id))
    return offline, None if fault.value == "normal" else fault.value


async def seed(settings: Settings, city: DemoCity) -> None:
    context = PlatformContext.open(settings)
    try:
        await upgrade_async(context.engine)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            total = city.channels + city.rtsp_cameras
            task = progress.add_task("seeding the city", total=total)
            cameras = city_rtsp_cameras(city.rtsp_cameras, f"rtsp://{city.rtsp}")
            async with context.sessions() as session, session.begin():
                await seed_city(
                    session, city.channels, lambda done: progress.update(task, completed=done), extra=cameras
                )
            history = progress.add_task(f"{HISTORY_DAYS} days of history", total=1)
            async with context.sessions() as session, session.begin():
                await seed_history(session, utcnow(), days=HISTORY_DAYS, truth=truth)
            progress.update(history, completed=1)
    finally:
        await context.close()


async def run_demo(settings: Settings, *, channels: int, fresh: bool, rtsp: str) -> None:
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    city = DemoCity.load(settings.data_dir)
    if city is None:
        city = DemoCity(channels, max(4, channels // 200), rtsp)
        await seed(settings, city)
        city.save(settings.data_dir)
    else:
        print(
            f"demo: resuming the city in {settings.data_dir} ({city.channels:,} channels and "
            f"{city.rtsp_cameras} RTSP cameras); --fresh starts over",
            flush=True,
        )
    context = PlatformContext.open(settings)
    try:
        async with context.sessions() as session, session.begin():
            login = await demo_login(session, settings)
    finally:
        await context.close()
    children = [start_sim(settings, city, "cameras")]
    started: asyncio.Future[PlatformContext] = asyncio.get_running_loop().create_future()
    try:
        await listening(city.rtsp, children[0])  # before the platform's first RTSP probe
        platform = asyncio.create_task(run_platform(settings, started.set_result))
        await asyncio.wait({started, platform}, return_when=asyncio.FIRST_COMPLETED)
        if platform.done():
            platform.result()  # it failed to start: say why
            return
        children.append(start_sim(settings, city, "devices"))
        county = await start_county(
            settings,
            settings.data_dir / "county",
            devices=city.county_devices,
            per_device=PER_DEVICE,
            video_faults=VIDEO_FAULTS,
            seed=SEED,
        )
        children[:0] = county.processes
        print(
            f"demo: the county platform of 南陵县 ({COUNTY_SIP_ID}, http://{county.http}/) cascades "
            f"{city.county_devices * PER_DEVICE} cameras of its own up to the city",
            flush=True,
        )
        print(
            f"demo: {city.devices:,} simulated devices are registering and {city.rtsp_cameras} RTSP "
            f"cameras stream at rtsp://{city.rtsp}/cam/<ID>; open the address above (Ctrl-C stops the demo)",
            flush=True,
        )
        print(f"demo: log in as {login[0]} with the password {login[1]}", flush=True)
        await show_first_inspection(started.result(), platform)
        await platform
    finally:
        for child in children:
            child.terminate()
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=10)
            if child.poll() is None:
                child.kill()


async def listening(address: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``address`` accepts TCP connections (``process`` is what should listen)."""
    host, port = parse_platform(address)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            if process.poll() is not None or loop.time() > deadline:
                raise SystemExit(f"demo: the simulated RTSP cameras did not start on {address}") from None
            await asyncio.sleep(0.2)
        else:
            writer.close()
            return


async def demo_login(session: AsyncSession, settings: Settings) -> tuple[str, str]:
    """The demo's administrator: made on the first run, its password kept (mode 0600) in the
    data directory so a resumed demo prints it again."""
    path = settings.data_dir / "demo-admin-password"
    user = await find_user(session, "admin")
    if user is not None and path.exists():
        return "admin", path.read_text().strip()
    password = f"Demo-{secrets.token_hex(4)}-{secrets.token_urlsafe(6)}"
    if user is None:
        await create_user(session, "admin", password, ["admin"], display_name="Demo administrator")
    else:
        await set_password(session, user, password, utcnow())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return "admin", password


async def show_first_inspection(context: PlatformContext, platform: asyncio.Task[None]) -> None:
    """A progress bar for the first sweep over the city's online channels (until it is done
    or the demo stops)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as progress:
        task = progress.add_task("first inspection", total=None)
        while not platform.done():
            await asyncio.wait({platform}, timeout=2.0)
            scheduler = context.inspection_scheduler
            async with context.sessions() as session:
                online = await session.scalar(
                    select(func.count(Channel.id)).where(Channel.status == ChannelStatus.ONLINE)
                )
            done = scheduler.inspected if scheduler is not None else 0
            if online:
                progress.update(task, completed=min(done, online), total=online)
                if done >= online:
                    break
    if not platform.done():
        print(f"demo: first inspection done; the city is live at http://{context.settings.http}/", flush=True)


def start_sim(settings: Settings, city: DemoCity, part: str) -> subprocess.Popen[bytes]:
    """``xueliang sim`` for the seeded city (same IDs, names, places and faults): its
    ``devices`` registering with the platform, or its RTSP ``cameras``."""
    log = (settings.data_dir / f"sim-{part}.log").open("wb")
    fleet = ["--devices", str(city.devices), "--channels", str(PER_DEVICE), "--clip-pool", str(CLIP_POOL)]
    if part == "cameras":
        fleet = ["--devices", "0", "--channels", "0", "--rtsp", city.rtsp]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xueliang",
            "sim",
            "--platform",
            settings.sip,
            *fleet,
            "--platform-id",
            settings.sip_id,
            "--domain",
            settings.sip_domain,
            "--password",
            settings.sip_password,
            "--seed",
            str(SEED),
            "--faults",
            FAULTS,
            "--video-faults",
            VIDEO_FAULTS,
            "--rate",
            "200",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
