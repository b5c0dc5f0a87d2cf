"""Inspection tables (巡检): one finding per output check, and each camera's reference view.

A finding is one row per inspection (small: defects and metrics are JSON of a few dozen
numbers). Its thumbnail — a 320×180 JPEG of a few kB — is kept in the row rather than as a
file under the data directory: it is written in the same transaction as the finding, it
reaches every node of a multi-node deployment through the shared database with no shared
file system, and retention is one ``UPDATE``/``DELETE`` (:func:`prune_findings` keeps the
latest thumbnail per channel and drops the older ones after the retention time) rather
than a sweep that has to keep files and rows consistent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.db import Base, UtcDateTime, utcnow

__all__ = ["ChannelReference", "Finding"]


class Finding(Base):
    """The result of one inspection of a channel: did it deliver a picture (出图), and what
    the diagnosis (视频质量诊断) found on it."""

    __tablename__ = "inspection_finding"
    __table_args__ = (Index("ix_inspection_finding_channel_at", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ok: Mapped[bool] = mapped_column(Boolean, doc="A picture was delivered and no defect was found")
    output_ok: Mapped[bool] = mapped_column(Boolean, doc="A decodable keyframe arrived in time")
    failure: Mapped[str | None] = mapped_column(
        String(16), doc="no_answer, refused, no_media, undecodable, timeout; NULL when output_ok"
    )
    message: Mapped[str] = mapped_column(Text, default="")
    defects: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    width: Mapped[int | None] = mapped_column(Integer, doc="Decoded picture size (before scaling)")
    height: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(8), default="")
    via: Mapped[str] = mapped_column(String(16), default="", doc="gb28181, rtsp or hub (a viewer's session)")
    duration_ms: Mapped[float] = mapped_column(Float, default=0.0)
    reference_set: Mapped[bool] = mapped_column(Boolean, default=False)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, doc="JPEG, 320×180")


class ChannelReference(Base):
    """A camera's reference view (基准图) for scene change, blur baseline and occlusion: set
    from its first healthy inspection; deleting it makes the next healthy one set it again."""

    __tablename__ = "inspection_reference"

    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, doc="numpy .npz of quality.Reference.to_arrays()")
    set_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    set_by: Mapped[str] = mapped_column(String(100), default="auto")
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_finding.id", ondelete="SET NULL"), doc="The inspection it was taken from"
    )
