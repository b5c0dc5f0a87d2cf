"""Privacy masks of channels (隐私遮挡区域), stored: one row per polygon, replaced as a set.

The media plane burns them in (:class:`xueliang.media.PrivacyMasks`) for every caller who
may not lift them; this module only keeps them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.catalog import Channel
from xueliang.db import Base, UtcDateTime, utcnow
from xueliang.media.privacy import PrivacyMasks

__all__ = ["PrivacyMaskRow", "load_privacy_masks", "save_privacy_masks"]


class PrivacyMaskRow(Base):
    """One mask polygon of a channel; ``points`` are ``[[x, y], ...]`` normalised to 0..1."""

    __tablename__ = "privacy_mask"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    points: Mapped[list[list[float]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


async def load_privacy_masks(session: AsyncSession, gb_id: str) -> PrivacyMasks:
    """The channel's masks (empty when it has none, or is not in the directory)."""
    rows = await session.execute(
        select(PrivacyMaskRow.points, PrivacyMaskRow.label)
        .join(Channel, Channel.id == PrivacyMaskRow.channel_id)
        .where(Channel.gb_id == gb_id)
        .order_by(PrivacyMaskRow.position)
    )
    polygons, labels = [], []
    for points, label in rows:
        polygons.append(points)
        labels.append(label)
    return PrivacyMasks.of(polygons, labels)


async def save_privacy_masks(
    session: AsyncSession, channel_id: int, masks: PrivacyMasks, at: datetime | None = None
) -> None:
    """Replace the channel's masks (by the channel's row id) with ``masks``."""
    at = at or utcnow()
    await session.execute(delete(PrivacyMaskRow).where(PrivacyMaskRow.channel_id == channel_id))
    session.add_all(
        PrivacyMaskRow(
            channel_id=channel_id,
            position=index,
            label=polygon.label,
            points=[[x, y] for x, y in polygon.points],
            updated_at=at,
        )
        for index, polygon in enumerate(masks.polygons)
    )
    await session.flush()
