"""A compressed past for the simulated city: days of availability intervals generated with the
same kind of fault mix the simulator injects, so trends and monthly reports mean something at
once. Deterministic for a seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Availability, Channel

__all__ = ["DEFECTS", "online_spans", "quality_spans", "seed_history"]

Span = tuple[str, datetime, datetime | None]
GOOD = {"integrity": "intact", "output": "ok"}
DEFECTS = ("signal_loss", "blur", "too_dark", "too_bright", "color_cast", "noise", "stripes", "frozen",
           "occlusion")  # fmt: skip


def online_spans(rng: random.Random, start: datetime, end: datetime) -> list[Span]:
    """A realistic stretch of presence for one channel: mostly healthy, some flaky, a few dead."""
    roll = rng.random()
    if roll < 0.01:
        return []  # never registered
    if roll < 0.03:
        return [("offline", start, None)]  # dead the whole time
    if roll < 0.08:
        outages = [(rng.uniform(0, 0.9), rng.uniform(1, 7) * 86400)]  # one long outage of 1–7 days
    elif roll < 0.20:
        outages = [(rng.random(), rng.uniform(600, 4 * 3600)) for _ in range(rng.randint(5, 30))]
    else:
        outages = [(rng.random(), rng.uniform(300, 3600)) for _ in range(rng.randint(0, 2))]
    total = (end - start).total_seconds()
    spans: list[Span] = []
    cursor = start
    for fraction, length in sorted(outages):
        down = start + timedelta(seconds=fraction * total)
        if down <= cursor:
            continue
        up = min(down + timedelta(seconds=length), end - timedelta(seconds=1))
        if up <= down:
            continue
        spans.append(("online", cursor, down))
        spans.append(("offline", down, up))
        cursor = up
    spans.append(("online", cursor, None))
    return spans


def quality_spans(rng: random.Random, kind: str, start: datetime, end: datetime, rate: float) -> list[Span]:
    """Integrity or output history: good throughout, or one fault of hours to days."""
    good = GOOD[kind]
    if rng.random() >= rate:
        return [(good, start, None)]
    bad = rng.choice(DEFECTS) if kind == "integrity" else "fail"
    total = (end - start).total_seconds()
    down = start + timedelta(seconds=rng.uniform(0, 0.8) * total)
    up = min(down + timedelta(seconds=rng.uniform(2 * 3600, 10 * 86400)), end - timedelta(seconds=1))
    return [(good, start, down), (bad, down, up), (good, up, None)]


async def seed_history(session: AsyncSession, now: datetime, *, days: int = 30, seed: int = 11) -> int:
    """Intervals for every channel over the last ``days`` days, once: a directory that already
    has history is left alone. Returns the number of intervals written."""
    if await session.scalar(select(func.count(Availability.id))):
        return 0
    start = now - timedelta(days=days)
    await session.execute(update(Channel).values(created_at=start - timedelta(days=1)))
    ids = (await session.scalars(select(Channel.id).order_by(Channel.id))).all()
    rng = random.Random(seed)
    rows = []
    for channel_id in ids:
        spans = [("online", s) for s in online_spans(rng, start, now)]
        spans += [("integrity", s) for s in quality_spans(rng, "integrity", start, now, 0.07)]
        spans += [("output", s) for s in quality_spans(rng, "output", start, now, 0.05)]
        for kind, (state, since, until) in spans:
            rows.append(
                {"channel_id": channel_id, "kind": kind, "state": state, "since": since, "until": until}
            )
    connection = await session.connection()
    for offset in range(0, len(rows), 10_000):
        await connection.execute(insert(Availability), rows[offset : offset + 10_000])
    return len(rows)
