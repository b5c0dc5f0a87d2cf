"""A compressed past for the simulated city: days of availability intervals generated with the
same kind of fault mix the simulator injects, so trends and monthly reports mean something at
once. Deterministic for a seed."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Availability, Channel, Device

__all__ = ["DEFECTS", "Truth", "ending_in", "online_spans", "quality_spans", "seed_history"]

#: What the simulator will show of a channel (by channel and device GB ID): whether it is
#: offline, and the picture defect it has (or None), so the past can lead up to it.
Truth = Callable[[str, str | None], tuple[bool, str | None]]

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


def ending_in(spans: list[Span], state: str, since: datetime) -> list[Span]:
    """``spans`` cut at ``since``, then ``state`` from ``since`` on (still open)."""
    kept: list[Span] = []
    for s, start, until in spans:
        if start >= since:
            break
        kept.append((s, start, since if until is None or until > since else until))
    if kept and kept[-1][0] == state:
        return kept[:-1] + [(state, kept[-1][1], None)]
    return kept + [(state, since, None)]


async def seed_history(
    session: AsyncSession, now: datetime, *, days: int = 30, seed: int = 11, truth: Truth | None = None
) -> int:
    """Intervals for every channel over the last ``days`` days, once: a directory that already
    has history is left alone. With ``truth``, a channel the simulator keeps offline went
    offline some days ago, and one whose picture is faulty shows that defect since some hours
    or days. Returns the number of intervals written."""
    if await session.scalar(select(func.count(Availability.id))):
        return 0
    start = now - timedelta(days=days)
    await session.execute(update(Channel).values(created_at=start - timedelta(days=1)))
    channels = (
        await session.execute(
            select(Channel.id, Channel.gb_id, Device.gb_id)
            .outerjoin(Device, Channel.device_id == Device.id)
            .order_by(Channel.id)
        )
    ).all()
    rng = random.Random(seed)
    rows = []
    for channel_id, gb_id, device_gb_id in channels:
        online = online_spans(rng, start, now)
        integrity = quality_spans(rng, "integrity", start, now, 0.07)
        output = quality_spans(rng, "output", start, now, 0.05)
        offline, defect = truth(gb_id, device_gb_id) if truth else (False, None)
        if offline and online:
            online = ending_in(online, "offline", now - timedelta(seconds=rng.uniform(3600, 10 * 86400)))
        if defect:
            since = now - timedelta(seconds=rng.uniform(2 * 3600, 5 * 86400))
            integrity = ending_in(integrity, defect, since)
        spans = [("online", s) for s in online] + [("integrity", s) for s in integrity]
        spans += [("output", s) for s in output]
        for kind, (state, since, until) in spans:
            rows.append(
                {"channel_id": channel_id, "kind": kind, "state": state, "since": since, "until": until}
            )
    connection = await session.connection()
    for offset in range(0, len(rows), 10_000):
        await connection.execute(insert(Availability), rows[offset : offset + 10_000])
    # The directory's status columns say what the last intervals say (the platform's start
    # then records the restart: online devices offline until they register again).
    online_now = [
        r["channel_id"]
        for r in rows
        if r["kind"] == "online" and r["until"] is None and r["state"] == "online"
    ]
    for offset in range(0, len(online_now), 10_000):
        chunk = online_now[offset : offset + 10_000]
        await session.execute(update(Channel).where(Channel.id.in_(chunk)).values(status="online"))
    await session.execute(
        update(Device)
        .where(Device.id.in_(select(Channel.device_id).where(Channel.status == "online")))
        .values(status="online")
    )
    return len(rows)
