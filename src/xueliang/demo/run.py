"""``xueliang demo``: seed the simulated city into a data directory and serve it."""

from __future__ import annotations

import shutil

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from xueliang.api.context import PlatformContext
from xueliang.config import Settings
from xueliang.demo.seed import seed_city
from xueliang.migrate import upgrade_async
from xueliang.platform import run_platform

__all__ = ["run_demo"]


async def run_demo(settings: Settings, *, channels: int, fresh: bool) -> None:
    if fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    context = PlatformContext.open(settings)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_async(context.engine)
        with Progress(
            TextColumn("seeding the city"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task("seed", total=channels)
            async with context.sessions() as session, session.begin():
                await seed_city(session, channels, lambda done: progress.update(task, completed=done))
    finally:
        await context.close()
    await run_platform(settings)
