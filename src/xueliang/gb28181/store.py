"""Write-through of signalling changes to the resource directory, batched.

The signalling plane keeps who-is-online in memory and hands changes here; one writer task
applies them in order, coalescing runs of the same kind into one transaction, so a burst
of 10,000 registrations is a few statements, not 10,000 round trips.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.catalog import (
    CatalogEntry,
    Registration,
    apply_catalogs,
    delete_catalog_entries,
    register_devices,
    set_devices_online,
    set_reported_status,
    update_device_info,
)

__all__ = ["DirectoryWriter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str
    at: datetime
    payload: object


class DirectoryWriter:
    """Queue changes with the ``*`` methods; :meth:`run` applies them until cancelled."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 5000) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Op] = asyncio.Queue()
        self._idle = asyncio.Event()
        self._idle.set()
        self.applied = 0
        self.failed = 0

    # -- producers (never block, never touch the database) --------------------------------

    def registered(self, registration: Registration) -> None:
        self._put("registered", registration)

    def offline(self, device_ids: Sequence[str]) -> None:
        if device_ids:
            self._put("offline", list(device_ids))

    def catalog(self, device_id: str, entries: Sequence[CatalogEntry]) -> None:
        self._put("catalog", (device_id, list(entries)))

    def deleted(self, device_id: str, channel_ids: Sequence[str]) -> None:
        self._put("deleted", (device_id, list(channel_ids)))

    def reported(self, device_id: str, channels: dict[str, bool]) -> None:
        """Channels the device reports ON (True) or at fault (False), without a full catalog."""
        if channels:
            self._put("reported", (device_id, dict(channels)))

    def device_info(self, device_id: str, name: str, manufacturer: str, model: str, firmware: str) -> None:
        self._put("info", (device_id, name, manufacturer, model, firmware))

    def _put(self, kind: str, payload: object) -> None:
        self._idle.clear()
        self._queue.put_nowait(_Op(kind, datetime.now(UTC), payload))

    async def drained(self) -> None:
        """Wait until everything queued so far is written (tests, shutdown)."""
        await self._idle.wait()

    # -- the writer --------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            ops = [await self._queue.get()]
            while not self._queue.empty() and len(ops) < self.max_batch:
                ops.append(self._queue.get_nowait())
            try:
                async with self.sessions() as session, session.begin():
                    await self._apply(session, ops)
                self.applied += len(ops)
            except Exception:  # one bad batch must not stop presence being recorded
                self.failed += len(ops)
                log.exception("could not write %d signalling changes to the directory", len(ops))
            if self._queue.empty():
                self._idle.set()

    async def _apply(self, session: AsyncSession, ops: list[_Op]) -> None:
        index = 0
        while index < len(ops):
            kind = ops[index].kind
            end = index
            while end < len(ops) and ops[end].kind == kind:
                end += 1
            run = ops[index:end]
            at = run[-1].at
            if kind == "catalog":
                outcome = await apply_catalogs(session, [op.payload for op in run], at)  # type: ignore[misc]
                if outcome.missing_devices:  # devices that left before their catalog was written
                    log.warning("catalogs of %d unregistered devices dropped", outcome.missing_devices)
            elif kind == "registered":
                await register_devices(session, [op.payload for op in run], at)  # type: ignore[misc]
            elif kind == "offline":
                ids = [d for op in run for d in op.payload]  # type: ignore[attr-defined]
                await set_devices_online(session, ids, False, at)
            else:
                for op in run:
                    await self._apply_one(session, op)
            index = end

    @staticmethod
    async def _apply_one(session: AsyncSession, op: _Op) -> None:
        if op.kind == "deleted":
            device_id, channel_ids = op.payload  # type: ignore[misc]
            await delete_catalog_entries(session, device_id, channel_ids, op.at)
        elif op.kind == "reported":
            device_id, channels = op.payload  # type: ignore[misc]
            await set_reported_status(session, device_id, channels, op.at)
        elif op.kind == "info":
            device_id, name, manufacturer, model, firmware = op.payload  # type: ignore[misc]
            await update_device_info(
                session, device_id, name=name, manufacturer=manufacturer, model=model, firmware=firmware
            )
