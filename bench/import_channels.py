"""Importing 100,000 channels from CSV: the project's importer beside a naive ORM importer.

Target (issue 2): under 20 s on a 2-core machine. The baseline is the straightforward
implementation (one ORM object per row, looked up and merged one at a time), run on a
subset and reported per row, so the ratio compares like with like.

    .venv/bin/python bench/import_channels.py [--rows 100000] [--baseline-rows 5000] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from pathlib import Path

from _common import peak_rss_mib, verdict
from sqlalchemy import func, select

from xueliang.catalog import COLUMNS, Channel, check_rows, import_channels, map_header, read_table
from xueliang.db import create_engine, session_factory
from xueliang.demo import DISTRICTS, city_channels
from xueliang.migrate import upgrade_async


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for c in city_channels(rows):
            lon, lat = (c.longitude, c.latitude) if c.longitude else ("", "")
            writer.writerow(
                [
                    c.gb_id,
                    c.name,
                    c.civil_code,
                    c.organization,
                    c.point_class,
                    c.source,
                    lon,
                    lat,
                    "",
                    c.resolution,
                    c.ptz_type,
                    c.device_gb_id,
                    "",
                ]
            )


async def fresh_database(url: str):
    from xueliang.catalog import RegionRow, upsert_regions

    engine = create_engine(url)
    await upgrade_async(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await upsert_regions(
            session,
            [RegionRow("34", "安徽省"), RegionRow("3402", "芜湖市")]
            + [RegionRow(d.civil_code, d.name) for d in DISTRICTS],
        )
    return engine, sessions


async def project(url: str, path: Path) -> tuple[float, int]:
    engine, sessions = await fresh_database(url)
    try:
        start = time.perf_counter()
        async with sessions() as session, session.begin():
            outcome = await import_channels(session, path)
        elapsed = time.perf_counter() - start
        assert outcome.applied and not outcome.errors, outcome.errors[:3]
        async with sessions() as session:
            count = await session.scalar(select(func.count(Channel.id)))
        return elapsed, int(count or 0)
    finally:
        await engine.dispose()


async def naive(url: str, path: Path, limit: int) -> tuple[float, int]:
    """The obvious importer: validate, then per row SELECT by GB ID and add or update via the ORM."""
    from xueliang.catalog import Device, Organization

    engine, sessions = await fresh_database(url)
    try:
        start = time.perf_counter()
        header, rows = read_table(path)
        keys = map_header(header)
        picked = []
        for number, cells in rows:
            if len(picked) == limit:
                break
            picked.append((number, {k: cells[i] for i, k in enumerate(keys) if k}))
        check = check_rows(picked, known_civil_codes={"34", "3402"} | {d.civil_code for d in DISTRICTS})
        async with sessions() as session, session.begin():
            for record in check.records:
                org = await session.scalar(
                    select(Organization).where(Organization.code == record.organization)
                )
                if org is None:
                    org = Organization(code=record.organization, name=record.organization)
                    session.add(org)
                    await session.flush()
                device = await session.scalar(select(Device).where(Device.gb_id == record.device_gb_id))
                if device is None:
                    device = Device(gb_id=record.device_gb_id, civil_code=record.civil_code)
                    session.add(device)
                    await session.flush()
                channel = await session.scalar(select(Channel).where(Channel.gb_id == record.gb_id))
                if channel is None:
                    channel = Channel(gb_id=record.gb_id)
                    session.add(channel)
                channel.name, channel.civil_code = record.name, record.civil_code
                channel.point_class, channel.source = record.point_class or 3, record.source or "other"
                channel.longitude, channel.latitude = record.longitude, record.latitude
                channel.resolution, channel.hd = record.resolution or "", record.hd
                channel.organization_id, channel.device_id = org.id, device.id
                await session.flush()
        return time.perf_counter() - start, len(check.records)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--db", default="", help="database URL (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "channels.csv"
        write_csv(path, args.rows)
        url = args.db or f"sqlite:///{tmp}/project.db"
        elapsed, count = asyncio.run(project(url, path))
        rss = peak_rss_mib()
        base_url = args.db or f"sqlite:///{tmp}/naive.db"
        if args.db:  # reuse the server: clear what the project run wrote
            asyncio.run(_drop_all(args.db))
        base_elapsed, base_count = asyncio.run(naive(base_url, path, args.baseline_rows))
    project_rate = count / elapsed
    naive_rate = base_count / base_elapsed
    print(f"import {count:,} channels from CSV ({url.split(':')[0]})")
    print(f"  project : {elapsed:7.2f} s  {project_rate:10,.0f} rows/s  peak RSS {rss:,.0f} MiB")
    print(
        f"  naive   : {base_elapsed:7.2f} s  {naive_rate:10,.0f} rows/s  ({base_count:,} rows, ORM per row)"
    )
    print(
        f"  ratio   : project is {project_rate / naive_rate:.1f}x the naive rate; "
        f"naive would take {count / naive_rate:,.0f} s for {count:,} rows"
    )
    print(f"  target  : < 20 s for 100,000 rows: {verdict(elapsed < 20 * count / 100_000)}")


async def _drop_all(url: str) -> None:
    from xueliang.db import Base
    from xueliang.models import load_all

    load_all()
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()


if __name__ == "__main__":
    main()
