"""Wiring the inspection plane into the running platform.

The context's inspector is made on first use from its signalling server and media hub and
kept on the context, where the API routes find it through :func:`inspector_for`.
``start_inspection(context)`` is the one call the platform makes after starting signalling
and the media hub; it returns the scheduler's task.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from xueliang.config import split_host_port
from xueliang.inspection.openers import GbInviteOpener, TargetOpener
from xueliang.inspection.service import InspectionConfig, InspectionScheduler, Inspector
from xueliang.media import PortRange

if TYPE_CHECKING:
    from xueliang.api.context import PlatformContext

__all__ = ["inspector_for", "start_inspection"]


def inspector_for(context: PlatformContext) -> Inspector:
    """The context's inspector (made on first use, from its signalling server and hub)."""
    if context.inspector is None:
        gb = None
        if context.signalling is not None:
            settings = context.settings
            host, _ = split_host_port(settings.sip)
            gb = GbInviteOpener(
                context.signalling,
                media_host=host,
                advertise_ip=settings.media_ip or None,
                ports=PortRange.parse(settings.media_ports) if settings.media_ports else None,
                transport=settings.media_transport,
            )
        context.inspector = Inspector(
            context.sessions, TargetOpener(gb=gb, hub=context.media), processes=True
        )
    return context.inspector


def start_inspection(context: PlatformContext, config: InspectionConfig | None = None) -> asyncio.Task[None]:
    """Start sweeping the fleet in the background; cancel the task to stop it."""
    inspector = inspector_for(context)
    scheduler = context.inspection_scheduler = InspectionScheduler(inspector, config)

    async def run() -> None:
        try:
            await scheduler.run()
        finally:
            await inspector.close()
            context.inspector = context.inspection_scheduler = None

    return asyncio.create_task(run(), name="inspection-scheduler")
