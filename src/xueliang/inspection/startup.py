"""Wiring the inspection plane into the running platform.

The platform context is a slotted dataclass owned by others, so the inspection runtime of a
context is kept here (one per context) and found by the API routes through
:func:`inspector_for`. ``start_inspection(context)`` is the one call the platform makes
after starting signalling and the media hub; it returns the scheduler's task.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from xueliang.inspection.openers import GbInviteOpener, TargetOpener
from xueliang.inspection.service import InspectionConfig, InspectionScheduler, Inspector

if TYPE_CHECKING:
    from xueliang.api.context import PlatformContext

__all__ = ["inspector_for", "scheduler_for", "start_inspection", "use_inspector"]

_runtime: dict[int, tuple[object, Inspector, InspectionScheduler | None]] = {}


def inspector_for(context: PlatformContext) -> Inspector:
    """The context's inspector (made on first use, from its signalling server and hub)."""
    entry = _runtime.get(id(context))
    if entry is None or entry[0] is not context:
        gb = None
        if context.signalling is not None:
            from xueliang.config import split_host_port
            from xueliang.media import PortRange

            settings = context.settings
            host, _ = split_host_port(settings.sip)
            gb = GbInviteOpener(
                context.signalling,
                media_host=host,
                advertise_ip=settings.media_ip or None,
                ports=PortRange.parse(settings.media_ports) if settings.media_ports else None,
                transport=settings.media_transport,
            )
        inspector = Inspector(context.sessions, TargetOpener(gb=gb, hub=context.media))
        entry = _runtime[id(context)] = (context, inspector, None)
    return entry[1]


def scheduler_for(context: PlatformContext) -> InspectionScheduler | None:
    entry = _runtime.get(id(context))
    return entry[2] if entry is not None and entry[0] is context else None


def start_inspection(context: PlatformContext, config: InspectionConfig | None = None) -> asyncio.Task[None]:
    """Start sweeping the fleet in the background; cancel the task to stop it."""
    inspector = inspector_for(context)
    scheduler = InspectionScheduler(inspector, config)
    _runtime[id(context)] = (context, inspector, scheduler)

    async def run() -> None:
        try:
            await scheduler.run()
        finally:
            await inspector.close()
            _runtime.pop(id(context), None)

    return asyncio.create_task(run(), name="inspection-scheduler")


def use_inspector(context: PlatformContext, inspector: Inspector) -> None:
    """Give the context this inspector (tests, or a platform wiring its own openers)."""
    _runtime[id(context)] = (context, inspector, scheduler_for(context))
