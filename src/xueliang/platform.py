"""The running platform: database, HTTP API and the protocol planes in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.config import Settings, split_host_port
from xueliang.migrate import upgrade_async

if TYPE_CHECKING:
    from xueliang.media import MediaHub

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the platform stops all its planes in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True


__all__ = ["run_platform"]


async def prepare_database(context: PlatformContext) -> None:
    """SQLite in the data directory is upgraded automatically; PostgreSQL must be at head."""
    if context.engine.dialect.name == "sqlite":
        context.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade_async(context.engine)
        return
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from xueliang.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(context.settings.database_url)).get_current_head()
    async with context.engine.connect() as connection:
        current = await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    if current != head:
        raise SystemExit(
            f"database schema is at {current or 'nothing'}, expected {head}: run `xueliang db upgrade`"
        )


async def start_signalling(context: PlatformContext, tasks: list[asyncio.Task[None]]) -> None:
    """SIP on ``settings.sip``; presence left over from a previous run is closed first."""
    from xueliang.catalog import device_passwords, reset_presence
    from xueliang.db import utcnow
    from xueliang.gb28181.server import SignallingServer
    from xueliang.gb28181.store import DirectoryWriter
    from xueliang.security.monitoring import follow_directory, load_monitor

    started = utcnow()
    async with context.sessions() as session, session.begin():
        await reset_presence(session, started)
        passwords = await device_passwords(session)
        monitor = await load_monitor(session, context.settings)
    writer = DirectoryWriter(context.settings.database_url)
    tasks.append(asyncio.create_task(writer.run(), name="directory-writer"))
    following = follow_directory(context.sessions, monitor, started)
    tasks.append(asyncio.create_task(following, name="asset-monitor"))
    context.signalling = SignallingServer(context.settings, writer, passwords, monitor)
    await context.signalling.start()


def start_media(context: PlatformContext) -> MediaHub:
    """The media hub: RTSP channels pulled, GB/T 28181 channels INVITEd, media on the SIP host."""
    from xueliang.media import platform_hub
    from xueliang.media.ports import PortRange

    settings = context.settings
    host, _ = split_host_port(settings.sip)
    return platform_hub(
        context.sessions,
        context.signalling,
        host,
        advertise_ip=settings.media_ip or None,
        ports=PortRange.parse(settings.media_ports) if settings.media_ports else None,
        transport=settings.media_transport,  # type: ignore[arg-type]
        idle_timeout=settings.live_idle_timeout,
    )


async def start_cascade(context: PlatformContext) -> None:
    """The cascade: register to the configured upper platforms and serve what they ask."""
    from xueliang.cascade import CascadeService, RelayMedia
    from xueliang.media.ports import PortRange

    settings = context.settings
    assert context.signalling is not None and context.media is not None
    host, _ = split_host_port(settings.sip)
    media = RelayMedia(
        host=host,
        advertise_ip=settings.media_ip or host,
        ports=PortRange.parse(settings.media_ports) if settings.media_ports else None,
    )
    context.cascade = CascadeService(settings, context.sessions, context.signalling, context.media, media)
    await context.cascade.start()


def start_sweep(context: PlatformContext) -> asyncio.Task[None]:
    """Inspection: every channel's output and image, every ``inspection_interval`` seconds."""
    from datetime import timedelta

    from xueliang.inspection import InspectionConfig, start_inspection

    settings = context.settings
    config = InspectionConfig(
        interval=timedelta(seconds=settings.inspection_interval), concurrency=settings.inspection_concurrency
    )
    return start_inspection(context, config)


async def reconcile_forever(context: PlatformContext, every: float = 60.0) -> None:
    """Open and close rectification work orders from the availability intervals, every minute."""
    from xueliang.db import utcnow
    from xueliang.insight import reconcile_work_orders

    while True:
        try:
            async with context.sessions() as session, session.begin():
                result = await reconcile_work_orders(session, utcnow())
            if result.opened or result.closed:
                log.info("work orders: %d opened, %d closed", result.opened, result.closed)
        except Exception:  # the next round tries again; the platform keeps running
            log.exception("work-order reconciliation failed")
        await asyncio.sleep(every)


async def run_platform(
    settings: Settings, ready: Callable[[PlatformContext], None] | None = None
) -> None:
    """Serve until cancelled (Ctrl-C); ``ready(context)`` once the API answers."""
    context = PlatformContext.open(settings)
    tasks: list[asyncio.Task[None]] = []
    try:
        await prepare_database(context)
        await start_signalling(context, tasks)
        context.media = start_media(context)
        await start_cascade(context)
        tasks.append(asyncio.create_task(reconcile_forever(context), name="work-orders"))
        if settings.inspection_interval > 0:
            tasks.append(start_sweep(context))
        host, port = split_host_port(settings.http)
        server = _Server(
            uvicorn.Config(
                create_app(context),
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                ws_per_message_deflate=False,  # live video does not compress: deflate only burns CPU
            )
        )
        task = asyncio.create_task(server.serve())
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C and `kill`: a clean stop
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(stop_signal, server.stop)
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if task.done():
            task.result()
            raise SystemExit(f"cannot listen on {settings.http}")
        log.info("xueliang serving http://%s/ (SIP %s)", settings.http, settings.sip)
        print(
            f"xueliang serving on http://{settings.http}/  (API http://{settings.http}/api/v1/openapi.json)",
            flush=True,
        )
        if ready is not None:
            ready(context)
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        if context.cascade is not None:  # first: relays hang up, upper platforms see us leave
            await context.cascade.stop()
        if context.media is not None:  # before signalling stops: sessions send their BYEs
            await context.media.close()
        if context.signalling is not None:
            await context.signalling.stop()
            await context.signalling.writer.drained(10)
        for background in tasks:
            background.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await context.close()
