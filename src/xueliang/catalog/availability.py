"""Availability as intervals (channel, kind, state, since, until), never one row per poll.

A year of a 20,000-channel city stays small, and every rate is an interval-overlap query.
``until`` is NULL for the interval that is open now. Kinds: ``online`` (presence, from
signalling or probes), and later ``integrity`` and ``output`` (from inspection).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, and_, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from xueliang.catalog.models import Channel
from xueliang.db import Base, UtcDateTime

__all__ = ["Availability", "record_states"]

_CHUNK = 2000


class Availability(Base):
    __tablename__ = "availability"
    __table_args__ = (
        Index("ix_availability_channel_kind_until", "channel_id", "kind", "until"),
        Index("ix_availability_kind_since", "kind", "since"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def record_states(
    session: AsyncSession,
    kind: str,
    states: Mapping[int, str],
    at: datetime | Mapping[int, datetime],
    *,
    status_written: Mapping[int, str] | None = None,
) -> int:
    """Record that each channel (by row id) is in ``states[id]`` of ``kind`` from ``at`` on
    (one time for all, or each channel's own).

    Only changes are written: an open interval in the same state is left alone, one in
    another state is closed at ``at`` and a new one opened. For ``online`` the channel's
    ``status`` column follows (except where ``status_written`` says it already holds that
    state). Returns the number of channels whose state changed.
    """
    if not states:
        return 0
    current: dict[int, tuple[int, str]] = {}
    for chunk in _chunks(list(states)):
        rows = await session.execute(
            select(Availability.channel_id, Availability.id, Availability.state).where(
                Availability.kind == kind,
                Availability.until.is_(None),
                Availability.channel_id.in_(chunk),
            )
        )
        for channel_id, row_id, state in rows:
            current[channel_id] = (row_id, state)
    when = at.__getitem__ if isinstance(at, Mapping) else lambda _: at
    to_close = [
        {"_id": current[cid][0], "_until": when(cid)}
        for cid, state in states.items()
        if cid in current and current[cid][1] != state
    ]
    to_open = [
        {"channel_id": cid, "kind": kind, "state": state, "since": when(cid)}
        for cid, state in states.items()
        if cid not in current or current[cid][1] != state
    ]
    connection = await session.connection()
    if to_close:
        close = (
            update(Availability)
            .where(and_(Availability.id == bindparam("_id")))
            .values(until=bindparam("_until"))
            .execution_options(synchronize_session=False)
        )
        for chunk in _chunks(to_close):
            await connection.execute(close, chunk)
    for chunk in _chunks(to_open):
        await connection.execute(insert(Availability), chunk)
    if kind == "online" and to_open:
        status = (
            update(Channel)
            .where(Channel.id == bindparam("_id"))
            .values(status=bindparam("status"))
            .execution_options(synchronize_session=False)
        )
        written = status_written or {}
        values = [
            {"_id": row["channel_id"], "status": row["state"]}
            for row in to_open
            if written.get(row["channel_id"]) != row["state"]
        ]
        for chunk in _chunks(values):
            await connection.execute(status, chunk)
    return len(to_open)
