"""``xueliang demo``: seed the simulated city into a data directory, serve it, and bring its
devices to life with the simulator in a child process (the second core)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.api.context import PlatformContext
from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.demo.history import seed_history
from xueliang.demo.seed import seed_city
from xueliang.migrate import upgrade_async
from xueliang.platform import run_platform
from xueliang.security import create_user, find_user, set_password

__all__ = ["run_demo"]

HISTORY_DAYS = 30
PER_DEVICE = 8  # the city plan puts eight channels on each NVR
FAULTS = "offline=0.03,flapping=0.02,slow_catalog=0.02,fragmented=0.02,gb2312=0.3"
VIDEO_FAULTS = "blur=0.03,too_dark=0.02,occlusion=0.02,color_cast=0.02,frozen=0.02,noise=0.01,stripes=0.01"


async def run_demo(settings: Settings, *, channels: int, fresh: bool) -> None:
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    context = PlatformContext.open(settings)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_async(context.engine)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("seeding the city", total=channels)
            async with context.sessions() as session, session.begin():
                await seed_city(session, channels, lambda done: progress.update(task, completed=done))
            history = progress.add_task(f"{HISTORY_DAYS} days of history", total=1)
            async with context.sessions() as session, session.begin():
                await seed_history(session, utcnow(), days=HISTORY_DAYS)
            progress.update(history, completed=1)
        async with context.sessions() as session, session.begin():
            login = await demo_login(session, settings)
    finally:
        await context.close()
    ready = asyncio.Event()
    platform = asyncio.create_task(run_platform(settings, ready))
    await ready.wait()
    fleet = start_fleet(settings, channels)
    print(
        f"demo: {-(-channels // PER_DEVICE):,} simulated devices are registering; "
        "open the address above (Ctrl-C stops the demo)",
        flush=True,
    )
    print(f"demo: log in as {login[0]} with the password {login[1]}", flush=True)
    try:
        await platform
    finally:
        fleet.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            fleet.wait(timeout=10)
        if fleet.poll() is None:
            fleet.kill()


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


def start_fleet(settings: Settings, channels: int) -> subprocess.Popen[bytes]:
    """``xueliang sim`` for the seeded city: the same IDs, names and places."""
    log = (settings.data_dir / "sim.log").open("wb")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xueliang",
            "sim",
            "--platform",
            settings.sip,
            "--devices",
            str(-(-channels // PER_DEVICE)),
            "--channels",
            str(PER_DEVICE),
            "--platform-id",
            settings.sip_id,
            "--domain",
            settings.sip_domain,
            "--password",
            settings.sip_password,
            "--faults",
            FAULTS,
            "--rate",
            "200",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
