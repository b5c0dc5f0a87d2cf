"""Write-through of signalling changes to the resource directory, batched.

The signalling plane keeps who-is-online in memory and hands changes here; one writer task
applies them in order, coalescing runs of the same kind into one transaction, so a burst
of 10,000 registrations is a few statements, not 10,000 round trips. Security events seen
on the way (unknown IDs, forged keepalives, vulnerable firmware…) are written the same way,
each batch of them in a savepoint of its own: a failure there loses alerts, never presence.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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
from xueliang.db import create_engine, session_factory
from xueliang.security.alerts import check_firmware, record_events
from xueliang.security.assets import SecurityEvent

__all__ = ["DirectoryWriter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Op:
    kind: str
    at: datetime
    payload: object


class DirectoryWriter:
    """Queue changes with the ``*`` methods; :meth:`run` applies them until cancelled.

    The writing happens on a thread of its own with its own event loop and engine: building
    and binding thousands of rows is CPU work, and on the signalling loop it would delay
    keepalive answers by seconds during a registration burst; on its own thread the
    interpreter switches between the two every few milliseconds.
    """

    def __init__(self, database_url: str, max_batch: int = 2000) -> None:
        self.database_url = database_url
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Event()
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
        """DeviceInfo (A.2.4.4); the firmware is also checked against the vulnerable list."""
        self._put("info", (device_id, name, manufacturer, model, firmware))

    def security(self, events: Sequence[SecurityEvent]) -> None:
        if events:
            self._put("security", list(events))

    def _put(self, kind: str, payload: object) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(_Op(kind, datetime.now(UTC), payload))

    async def drained(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is written; False if ``timeout`` ran out."""
        return await asyncio.get_running_loop().run_in_executor(None, self._idle.wait, timeout)

    # -- the writer --------------------------------------------------------------------------

    async def run(self) -> None:
        """Write on a thread of its own until cancelled; what was queued is written first."""
        thread = threading.Thread(target=lambda: asyncio.run(self._consume()), name="directory-writer")
        thread.start()
        try:
            await asyncio.Event().wait()
        finally:
            self._queue.put(None)
            await asyncio.get_running_loop().run_in_executor(None, thread.join, 30)

    async def _consume(self) -> None:
        engine = create_engine(self.database_url)
        sessions = session_factory(engine)
        loop = asyncio.get_running_loop()
        try:
            stop = False
            while not stop:
                first = await loop.run_in_executor(None, self._queue.get)
                if first is None:
                    break
                ops = [first]
                while len(ops) < self.max_batch:
                    try:
                        op = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if op is None:
                        stop = True
                        break
                    ops.append(op)
                try:
                    async with sessions() as session, session.begin():
                        await self._apply(session, ops)
                    self.applied += len(ops)
                except Exception:  # one bad batch must not stop presence being recorded
                    self.failed += len(ops)
                    log.exception("could not write %d signalling changes to the directory", len(ops))
                with self._lock:
                    self._pending -= len(ops)
                    if self._pending == 0:
                        self._idle.set()
        finally:
            await engine.dispose()

    async def _apply(self, session: AsyncSession, batch: list[_Op]) -> None:
        # Security events do not break the runs of directory changes they are interleaved with
        # (one after each registration): they are written together, after them.
        ops = [op for op in batch if op.kind != "security"]
        events = [(event, op.at) for op in batch if op.kind == "security" for event in op.payload]  # type: ignore[attr-defined]
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
            elif kind == "info":
                reports = []
                for op in run:
                    device_id, name, manufacturer, model, firmware = op.payload  # type: ignore[misc]
                    await update_device_info(
                        session,
                        device_id,
                        name=name,
                        manufacturer=manufacturer,
                        model=model,
                        firmware=firmware,
                    )
                    reports.append((device_id, manufacturer, model, firmware, op.at))
                await self._alerts(check_firmware, session, reports)
            else:
                for op in run:
                    await self._apply_one(session, op)
            index = end
        if events:
            await self._alerts(record_events, session, events)

    @staticmethod
    async def _apply_one(session: AsyncSession, op: _Op) -> None:
        if op.kind == "deleted":
            device_id, channel_ids = op.payload  # type: ignore[misc]
            await delete_catalog_entries(session, device_id, channel_ids, op.at)
        elif op.kind == "reported":
            device_id, channels = op.payload  # type: ignore[misc]
            await set_reported_status(session, device_id, channels, op.at)

    @staticmethod
    async def _alerts(
        write: Callable[[AsyncSession, Any], Awaitable[object]], session: AsyncSession, payload: Any
    ) -> None:
        try:
            async with session.begin_nested():
                await write(session, payload)
        except Exception:  # e.g. an alert opened meanwhile by the API: the rest of the batch stands
            log.exception("could not write security alerts")
