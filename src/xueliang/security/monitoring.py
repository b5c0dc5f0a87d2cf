"""Keeping the :class:`AssetMonitor` in step with the resource directory (asyncio + database).

At start-up the monitor learns every device ID and where each last registered from. The
directory counts as curated when it had devices then (or unknown IDs are refused): a fresh
platform with an empty directory is discovering its fleet, and nobody is "unknown" to it.
Devices added later (imports, the API) are picked up every ``every`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.catalog import Device
from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.security.assets import AssetMonitor

__all__ = ["follow_directory", "load_monitor"]

log = logging.getLogger(__name__)


async def load_monitor(session: AsyncSession, settings: Settings) -> AssetMonitor:
    """A monitor that knows the directory's devices and their last signalling addresses."""
    rows = (await session.execute(select(Device.gb_id, Device.address, Device.transport))).all()
    curated = bool(rows) or not settings.sip_accept_unknown
    monitor = AssetMonitor(
        known=[gb_id for gb_id, _, _ in rows] if curated else None,
        window=settings.keepalive_interval * settings.keepalive_misses,
    )
    for gb_id, address, transport in rows:
        host = address.rpartition(":")[0].strip("[]")
        monitor.remember(gb_id, host, transport)
    return monitor


async def follow_directory(
    sessions: async_sessionmaker[AsyncSession], monitor: AssetMonitor, since: datetime, every: float = 60.0
) -> None:
    """Teach the monitor the devices added to the directory since ``since``, until cancelled."""
    while True:
        await asyncio.sleep(every)
        now = utcnow()
        try:
            async with sessions() as session:
                added = (await session.scalars(select(Device.gb_id).where(Device.created_at >= since))).all()
        except Exception:  # the next round tries again
            log.exception("could not read the devices added to the directory")
            continue
        monitor.learn(added)
        since = now
