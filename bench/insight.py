"""Monthly indicators by county over a 20,000-channel city with a month of intervals.

The project (interval overlap summed in SQL, grouped, rolled up in Python) beside a
straightforward baseline measured in the same run (load every interval of the month through
the ORM and sum in Python); then a monthly PDF report. Targets: breakdown < 1 s, PDF < 10 s.

    .venv/bin/python bench/insight.py [--channels 20000] [--db postgresql://postgres@127.0.0.1:5432/xl_bench]

Without --db the city lives in a temporary SQLite file; with a PostgreSQL URL the database
named in it is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from _common import peak_rss_mib, verdict
from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import make_url

from xueliang.catalog import Availability, Channel
from xueliang.db import create_engine, session_factory
from xueliang.demo import seed_city
from xueliang.demo.history import online_spans, quality_spans
from xueliang.insight import Scope, breakdown, report_period
from xueliang.insight.rates import overlap_seconds
from xueliang.insight.reports import build_report, render_pdf
from xueliang.migrate import upgrade_async


async def prepare(url: str, channels: int, start: datetime, end: datetime) -> int:
    engine = create_engine(url)
    await upgrade_async(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await seed_city(session, channels)
        await session.execute(update(Channel).values(created_at=start - timedelta(days=1)))
        ids = (await session.scalars(select(Channel.id).order_by(Channel.id))).all()
    rng = random.Random(11)
    rows = []
    for channel_id in ids:
        for state, since, until in online_spans(rng, start, end):
            rows.append(
                {"channel_id": channel_id, "kind": "online", "state": state, "since": since, "until": until}
            )
        for kind, rate in (("integrity", 0.07), ("output", 0.05)):
            for state, since, until in quality_spans(rng, kind, start, end, rate):
                rows.append(
                    {"channel_id": channel_id, "kind": kind, "state": state, "since": since, "until": until}
                )
    async with sessions() as session, session.begin():
        connection = await session.connection()
        for offset in range(0, len(rows), 10_000):
            await connection.execute(insert(Availability), rows[offset : offset + 10_000])
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.exec_driver_sql("COMMIT")
            await connection.exec_driver_sql("ANALYZE")
    else:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
    await engine.dispose()
    return len(rows)


async def baseline(url: str, start: datetime, end: datetime, now: datetime) -> dict[str, float | None]:
    """Load every interval of the month through the ORM, sum overlap per county in Python."""
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        channels = (await session.execute(select(Channel.id, Channel.civil_code, Channel.created_at))).all()
        rows = (
            await session.execute(
                select(Availability, Channel.civil_code)
                .join(Channel, Channel.id == Availability.channel_id)
                .where(
                    Availability.kind == "online",
                    Availability.since < end,
                    or_(Availability.until.is_(None), Availability.until > start),
                )
            )
        ).all()
    await engine.dispose()
    stop = min(end, now)
    scope: dict[str, float] = {}
    online: dict[str, float] = {}
    created = {cid: at for cid, _code, at in channels}
    for _cid, code, at in channels:
        scope[code[:6]] = scope.get(code[:6], 0.0) + max(0.0, (stop - max(start, at)).total_seconds())
    for interval, code in rows:
        if interval.state == "online":
            low = max(start, created[interval.channel_id])
            online[code[:6]] = online.get(code[:6], 0.0) + overlap_seconds(
                interval.since, interval.until, low, stop
            )
    return {code: (online.get(code, 0.0) / total if total else None) for code, total in scope.items()}


async def project(url: str, period, now: datetime) -> tuple[list[float], dict[str, float | None]]:
    engine = create_engine(url)
    samples = []
    rows = []
    async with session_factory(engine)() as session:
        for _ in range(5):
            begin = time.perf_counter()
            rows = await breakdown(session, Scope(), "region", level=3, period=period, now=now)
            samples.append(time.perf_counter() - begin)
    await engine.dispose()
    return samples, {row["key"]: row["online_rate"] for row in rows}


async def pdf(url: str, day: date, zone: ZoneInfo, now: datetime) -> tuple[float, int]:
    engine = create_engine(url)
    begin = time.perf_counter()
    async with session_factory(engine)() as session:
        report = await build_report(session, "monthly", day, zone=zone, now=now)
    body = await asyncio.to_thread(render_pdf, report)
    elapsed = time.perf_counter() - begin
    await engine.dispose()
    return elapsed, len(body)


async def create_pg_database(url: str) -> None:
    import asyncpg

    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--channels", type=int, default=20_000)
    parser.add_argument("--db", default="", help="postgresql://USER@HOST:PORT/DBNAME (created afresh)")
    args = parser.parse_args()
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    month = report_period("monthly", today.replace(day=1) - timedelta(days=1), zone)  # last complete month
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if args.db:
            await create_pg_database(args.db)
        backend = "PostgreSQL" if args.db else "SQLite"
        begin = time.perf_counter()
        intervals = await prepare(url, args.channels, month.start, month.end)
        print(
            f"{backend}: {args.channels:,} channels, {intervals:,} availability intervals in {month.label()} "
            f"(prepared in {time.perf_counter() - begin:.1f} s)"
        )
        samples, ours = await project(url, month, now)
        begin = time.perf_counter()
        theirs = await baseline(url, month.start, month.end, now)
        naive = time.perf_counter() - begin
        mismatches = [k for k in ours if ours[k] is not None and abs(ours[k] - (theirs.get(k) or 0.0)) > 1e-9]
        best, median = min(samples), statistics.median(samples)
        print(
            f"monthly breakdown by county: first {samples[0] * 1000:.0f} ms, median {median * 1000:.0f} ms "
            f"(of {len(samples)}) — {verdict(samples[0] < 1.0)} (< 1 s)"
        )
        print(
            f"baseline (ORM load of every interval, sum in Python): {naive * 1000:.0f} ms, "
            f"{naive / median:.1f}x slower; results "
            + ("agree" if not mismatches else f"DIFFER for {mismatches}")
        )
        print("  " + ", ".join(f"{k} {v * 100:.2f}%" for k, v in sorted(ours.items()) if v is not None))
        elapsed, size = await pdf(url, month.first or today, zone, now)
        print(
            f"monthly PDF report: {elapsed:.2f} s, {size / 1024:.0f} KiB — {verdict(elapsed < 10)} (< 10 s)"
        )
        print(f"peak RSS {peak_rss_mib():.0f} MiB (best breakdown {best * 1000:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
