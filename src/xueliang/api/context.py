"""What the API needs from the running platform: settings, database and the live planes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from xueliang.config import Settings
from xueliang.db import create_engine, session_factory

if TYPE_CHECKING:
    from xueliang.cascade import CascadeService
    from xueliang.gb28181.server import SignallingServer
    from xueliang.inspection.service import InspectionScheduler, Inspector
    from xueliang.media import MediaHub

__all__ = ["PlatformContext"]


@dataclass(slots=True)
class PlatformContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signalling: SignallingServer | None = None
    media: MediaHub | None = None
    inspector: Inspector | None = None
    inspection_scheduler: InspectionScheduler | None = None
    cascade: CascadeService | None = None

    @classmethod
    def open(cls, settings: Settings) -> PlatformContext:
        engine = create_engine(settings.database_url)
        return cls(settings=settings, engine=engine, sessions=session_factory(engine))

    async def close(self) -> None:
        await self.engine.dispose()
