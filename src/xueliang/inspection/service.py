"""The inspection runtime: :class:`Inspector` inspects one channel (open, capture, decode
and diagnose in a worker pool, store); :class:`InspectionScheduler` sweeps the fleet with
bounded concurrency in :func:`~xueliang.inspection.schedule.plan` order and probes RTSP
cameras; both share one inspector, so on-demand inspections and the sweep never run the
same channel twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.catalog import record_states
from xueliang.db import utcnow
from xueliang.inspection.analysis import Analysis, analyse_capture, diagnosis_state
from xueliang.inspection.check import (
    CheckConfig,
    FailureClass,
    OutputFailure,
    StreamOpener,
    capture_keyframes,
)
from xueliang.inspection.models import Finding
from xueliang.inspection.openers import StreamTarget, TargetOpener
from xueliang.inspection.probe import probe_rtsp
from xueliang.inspection.schedule import Candidate, count_due, plan
from xueliang.inspection.store import (
    FindingRecord,
    last_inspected,
    load_references,
    load_targets,
    prune_findings,
    record_findings,
)
from xueliang.quality import Thresholds

__all__ = ["InspectionConfig", "InspectionScheduler", "Inspector", "Sweep", "run_check"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InspectionConfig:
    """Sweep settings: ``interval`` between two inspections of a channel; ``concurrency``
    inspections at once; ``probe_interval`` between RTSP online probes (0: never);
    ``skip_offline``: channels known offline are not output-checked (the online rate
    already counts them)."""

    interval: timedelta = timedelta(hours=1)
    concurrency: int = 128
    check: CheckConfig = field(default_factory=CheckConfig)
    granularity: timedelta = timedelta(minutes=5)
    class_interval: dict[int, float] = field(default_factory=dict)
    probe_interval: timedelta = timedelta(minutes=5)
    probe_timeout: float = 5.0
    probe_concurrency: int = 64
    skip_offline: bool = True
    fleet_refresh: timedelta = timedelta(minutes=1)
    idle_tick: float = 5.0
    keep_days: float = 90.0
    thumbnails_days: float = 7.0


@dataclass(slots=True)
class Sweep:
    """One pass over the channels that were due: from the first inspection planned after
    an idle spell to the moment nothing is due and nothing is in flight."""

    started_at: datetime
    inspected: int = 0
    finished_at: datetime | None = None

    def public(self) -> dict[str, Any]:
        end = self.finished_at
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": end.isoformat() if end else None,
            "inspected": self.inspected,
            "seconds": (end - self.started_at).total_seconds() if end else None,
        }


async def run_check(
    open_stream: StreamOpener,
    config: CheckConfig,
    *,
    reference: bytes | None = None,
    executor: Executor | None = None,
    thresholds: Thresholds | None = None,
    make_reference_if: str = "healthy",
) -> tuple[Analysis | None, OutputFailure | None, float]:
    """One output check and diagnosis, no database: (analysis, failure, seconds)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        capture = await capture_keyframes(open_stream, config)
        analysis = await loop.run_in_executor(
            executor,
            functools.partial(
                analyse_capture, capture, reference, thresholds, make_reference_if=make_reference_if
            ),
        )
    except OutputFailure as failure:
        return None, failure, loop.time() - started
    return analysis, None, loop.time() - started


class Inspector:
    """Inspect one channel now and store the finding."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        opener: TargetOpener,
        *,
        check: CheckConfig | None = None,
        thresholds: Thresholds | None = None,
        executor: Executor | None = None,
        workers: int | None = None,
        processes: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.writer = FindingWriter(sessions)
        self.opener = opener
        self.check = check or CheckConfig()
        self.thresholds = thresholds
        self._own_executor = executor is None
        self.executor = executor or _pool(workers or max(1, os.cpu_count() or 1), processes)
        self.clock = clock
        self._running: dict[int, asyncio.Task[Finding]] = {}
        self._references: dict[int, bytes | None] = {}

    def running(self) -> set[int]:
        return set(self._running)

    async def prefetch_references(self, channel_ids: Collection[int]) -> None:
        """Read the references of channels about to be inspected in one query (a sweep's
        batch) instead of one session each."""
        async with self.sessions() as session:
            found = await load_references(session, channel_ids)
        self._references.update({c: found.get(c) for c in channel_ids})

    def forget_reference(self, channel_id: int) -> None:
        """The stored reference changed: read it again before the next inspection."""
        self._references.pop(channel_id, None)

    async def _reference(self, channel_id: int) -> bytes | None:
        if channel_id in self._references:
            return self._references.pop(channel_id)
        async with self.sessions() as session:
            return (await load_references(session, [channel_id])).get(channel_id)

    async def inspect(
        self,
        target: StreamTarget,
        *,
        reference_mode: str = "healthy",
        by: str = "auto",
        watching: set[str] | None = None,
        checked: Callable[[], None] | None = None,
    ) -> Finding:
        """Inspect ``target`` (joins an inspection of it already running, unless the
        reference is being re-set). ``reference_mode``: ``healthy`` (set one from the
        first healthy picture), ``always`` (set it from this picture), ``never``.
        ``checked`` is called once the stream is closed and the picture diagnosed, before
        the finding is stored (the sweep gives the stream's slot to the next channel then)."""
        running = self._running.get(target.channel_id)
        if running is not None and reference_mode != "always":
            try:
                return await asyncio.shield(running)
            finally:
                if checked is not None:
                    checked()
        task = asyncio.get_running_loop().create_task(
            self._inspect(target, reference_mode, by, watching, checked)
        )
        self._running[target.channel_id] = task
        task.add_done_callback(
            lambda _: (
                self._running.pop(target.channel_id, None)
                if self._running.get(target.channel_id) is task
                else None
            )
        )
        return await asyncio.shield(task)

    async def _inspect(
        self,
        target: StreamTarget,
        reference_mode: str,
        by: str,
        watching: set[str] | None,
        checked: Callable[[], None] | None,
    ) -> Finding:
        reference = await self._reference(target.channel_id)
        via, open_stream = self.opener(target, watching)
        at = self.clock()
        started = time.perf_counter()
        analysis, failure, _ = await run_check(
            open_stream,
            self.check,
            reference=reference,
            executor=self.executor,
            thresholds=self.thresholds,
            make_reference_if=reference_mode,
        )
        duration_ms = (time.perf_counter() - started) * 1000
        if analysis is None:
            assert failure is not None
            record = FindingRecord(
                target.channel_id,
                at,
                False,
                failure.failure.value,
                str(failure),
                via=via,
                duration_ms=duration_ms,
            )
        else:
            d = analysis.diagnosis
            record = FindingRecord(
                target.channel_id,
                at,
                True,
                integrity=diagnosis_state(d),
                defects=tuple({"kind": x.kind.value, "score": x.score} for x in d.defects),
                metrics=analysis.metrics,
                width=analysis.width,
                height=analysis.height,
                via=via,
                duration_ms=duration_ms,
                thumbnail=analysis.thumbnail,
                reference=analysis.reference,
                reference_by=by,
            )
        if checked is not None:
            checked()
        finding = await self.writer.write(record)
        if record.reference is not None:  # once committed: a prefetch now reads the new one
            self.forget_reference(target.channel_id)
        return finding

    async def close(self) -> None:
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        await self.writer.close()
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)


def _pool(workers: int, processes: bool) -> Executor:
    """Where decoding and diagnosis run: worker processes keep them off the GIL that the
    platform's event loop needs (a sweep of hundreds of cameras); threads are lighter."""
    if processes:
        return ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts
        )
    return ThreadPoolExecutor(workers, thread_name_prefix="inspection")


def _ignore_interrupts() -> None:
    """A worker leaves Ctrl-C to the platform, which shuts the pool down in order."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class FindingWriter:
    """One writer for every inspection's finding. Records queue up and are written together,
    one transaction a batch: hundreds of inspections finishing at once do not each wait for
    the database's write lock. A batch that fails is written again record by record, so one
    bad record (its channel deleted meanwhile) loses no other."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], max_batch: int = 200) -> None:
        self.sessions = sessions
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[FindingRecord, asyncio.Future[Finding]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def write(self, record: FindingRecord) -> Finding:
        """Store ``record``; returns the finding once it is committed."""
        future: asyncio.Future[Finding] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((record, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="finding-writer")
        return await future

    async def _run(self) -> None:
        carry: list[tuple[FindingRecord, asyncio.Future[Finding]]] = []
        while carry or not self._queue.empty():
            batch, carry, seen = carry, [], set()
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            kept = []
            for item in batch:  # one record a channel a batch; a second one waits for the next
                (carry if item[0].channel_id in seen else kept).append(item)
                seen.add(item[0].channel_id)
            await self._write(kept)

    async def _write(self, batch: list[tuple[FindingRecord, asyncio.Future[Finding]]]) -> None:
        try:
            async with self.sessions() as session, session.begin():
                findings = await record_findings(session, [record for record, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for item in batch:
                    await self._write([item])
                return
            log.exception("storing the finding of channel %s failed", batch[0][0].channel_id)
            if not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, future), finding in zip(batch, findings, strict=True):
            if not future.done():
                future.set_result(finding)

    async def close(self) -> None:
        """Write what is queued, then stop."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class InspectionScheduler:
    """Sweeps the whole fleet: ``await scheduler.run()`` until cancelled. Resumes from the
    findings table; ``request(gb_id)`` puts a channel at the front of the queue."""

    def __init__(
        self,
        inspector: Inspector,
        config: InspectionConfig | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.inspector = inspector
        self.sessions = inspector.sessions
        self.config = config or InspectionConfig()
        self.clock = clock
        self.last: dict[int, datetime] = {}
        self.requested: list[int] = []
        self.inspected = 0
        self.sweep: Sweep | None = None  # the current or the last one
        self.last_sweep: Sweep | None = None  # the last finished one
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._fleet: dict[int, Any] = {}
        self._eligible: list[Candidate] = []
        self._fleet_at: datetime | None = None
        self._probed_at: datetime | None = None
        self._offline_probed_at = datetime.min.replace(tzinfo=UTC)
        self._pruned_at: datetime | None = None

    def request(self, channel_id: int) -> None:
        """Inspect this channel next (on demand)."""
        self.requested.append(channel_id)
        self._wake.set()

    async def resume(self) -> None:
        async with self.sessions() as session:
            self.last = await last_inspected(session)

    async def _refresh_fleet(self, now: datetime) -> None:
        if self._fleet_at is None or now - self._fleet_at >= self.config.fleet_refresh:
            async with self.sessions() as session:
                self._fleet = {e.target.channel_id: e for e in await load_targets(session)}
            skip = self.config.skip_offline
            self._eligible = [  # known offline channels are not output-checked (by default)
                Candidate(e.target.channel_id, e.civil_code, e.point_class)
                for e in self._fleet.values()
                if not (skip and e.status == "offline")
            ]
            self._fleet_at = now

    def next_batch(self, now: datetime, size: int) -> list[int]:
        """The next channels to inspect (pure given the loaded fleet and ``last``)."""
        busy = self.inspector.running()
        first = [c for c in dict.fromkeys(self.requested) if c in self._fleet and c not in busy]
        self.requested = []
        cfg = self.config
        rest = plan(
            self._eligible,
            self.last,
            now,
            interval=cfg.interval,
            granularity=cfg.granularity,
            class_interval=cfg.class_interval,
            exclude=busy | set(first),
            limit=size,
        )
        return (first + rest)[: max(size, len(first))]

    async def run(self) -> None:
        await self.resume()
        slots = asyncio.Semaphore(self.config.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                now = self.clock()
                await self._refresh_fleet(now)
                await self._maintenance(now)
                batch = self.next_batch(now, self.config.concurrency * 2)
                if not batch:
                    self._end_sweep(now)
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.idle_tick)
                    continue
                if self.sweep is None or self.sweep.finished_at is not None:
                    self.sweep = Sweep(now)
                try:
                    await self.inspector.prefetch_references(batch)
                except Exception:  # each inspection reads its own then
                    log.exception("reading the references of %d channels failed", len(batch))
                watching = self.inspector.opener.tap.watching()
                for channel_id in batch:
                    await slots.acquire()
                    entry = self._fleet.get(channel_id)
                    if entry is None:
                        slots.release()
                        continue
                    self.last[channel_id] = now  # in flight: not planned again
                    self._in_flight += 1
                    task = asyncio.create_task(self._one(entry.target, watching, slots))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _one(self, target: StreamTarget, watching: set[str], slots: asyncio.Semaphore) -> None:
        released = False

        def release() -> None:  # once the stream is closed: storing needs no slot
            nonlocal released
            if not released:
                released = True
                slots.release()

        try:
            finding = await self.inspector.inspect(target, watching=watching, checked=release)
            self.last[target.channel_id] = finding.at
            self.inspected += 1
            if self.sweep is not None:
                self.sweep.inspected += 1
        except Exception:
            log.exception("inspection of channel %s failed", target.gb_id)
        finally:
            release()
            self._in_flight -= 1
            if not self._in_flight:
                self._wake.set()  # the sweep may be over: look now, not at the next idle tick

    def _end_sweep(self, now: datetime) -> None:
        sweep = self.sweep
        if sweep is None or sweep.finished_at is not None or self._in_flight:
            return
        sweep.finished_at = now
        self.last_sweep = sweep
        seconds = (now - sweep.started_at).total_seconds()
        log.info("inspection sweep: %d channels in %.0f s", sweep.inspected, seconds)

    def status(self, now: datetime) -> dict[str, Any]:
        """The sweep at a glance: fleet size, channels due now, in flight, the current and
        the last finished sweep."""
        cfg = self.config
        return {
            "interval_s": cfg.interval.total_seconds(),
            "concurrency": cfg.concurrency,
            "fleet": len(self._fleet),
            "eligible": len(self._eligible),
            "due": count_due(
                self._eligible, self.last, now, interval=cfg.interval, class_interval=cfg.class_interval
            ),
            "in_flight": self._in_flight,
            "inspected": self.inspected,
            "sweep": self.sweep.public() if self.sweep else None,
            "last_sweep": self.last_sweep.public() if self.last_sweep else None,
        }

    async def _maintenance(self, now: datetime) -> None:
        cfg = self.config
        if cfg.probe_interval and (self._probed_at is None or now - self._probed_at >= cfg.probe_interval):
            self._probed_at = self._offline_probed_at = now
            asyncio.create_task(self.probe_rtsp_fleet(now))  # noqa: RUF006 - bounded by its own timeout
        elif cfg.probe_interval and now - self._offline_probed_at >= min(
            cfg.fleet_refresh, cfg.probe_interval
        ):
            self._offline_probed_at = now  # a camera that is down is asked again sooner
            asyncio.create_task(self.probe_rtsp_fleet(now, offline_only=True))  # noqa: RUF006
        if self._pruned_at is None or now - self._pruned_at >= timedelta(hours=1):
            self._pruned_at = now
            async with self.sessions() as session, session.begin():
                await prune_findings(
                    session, now, keep_days=cfg.keep_days, thumbnails_days=cfg.thumbnails_days
                )

    async def probe_rtsp_fleet(
        self, now: datetime | None = None, *, offline_only: bool = False
    ) -> dict[int, str]:
        """Probe every RTSP channel (or those not online) once and record its ``online`` state."""
        at = now or self.clock()
        cfg = self.config
        targets = [
            e.target
            for e in self._fleet.values()
            if e.target.stream_url and not (offline_only and e.status == "online")
        ]
        limit = asyncio.Semaphore(cfg.probe_concurrency)

        async def one(target: StreamTarget) -> tuple[int, str]:
            async with limit:
                result = await probe_rtsp(
                    target.stream_url,
                    username=target.stream_username,
                    password=target.stream_password,
                    timeout=cfg.probe_timeout,
                )
            return target.channel_id, "online" if result.online else "offline"

        states = dict(await asyncio.gather(*(one(t) for t in targets)))
        if states:
            async with self.sessions() as session, session.begin():
                await record_states(session, "online", states, at)
        return states


def failure_names() -> list[str]:
    return [f.value for f in FailureClass]


Starter = Callable[[], Awaitable[None]]
