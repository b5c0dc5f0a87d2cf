"""Ingesting a 1,000,000-channel catalog: parse the MANSCDP parts, assemble, write the directory.

Target (issue 3): under 60 s. The catalog arrives as a lower platform sends it over TCP:
parts of 10,000 items (GB/T 28181 Appendix M), GB18030 bodies. The baseline, measured in the
same run on a subset and reported per item, is the straightforward writer: one ORM object per
item, looked up by GB ID and flushed one at a time.

    .venv/bin/python bench/catalog_ingest.py [--channels 1000000] [--baseline 10000] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from _common import peak_rss_mib, verdict
from sqlalchemy import func, select

from xueliang.catalog import Channel, Device, apply_catalog, register_device
from xueliang.db import create_engine, session_factory
from xueliang.gb28181.assembly import CatalogAssembler
from xueliang.gb28181.manscdp import CatalogItem, encode_manscdp, parse_manscdp, split_catalog
from xueliang.gb28181.server import parse_catalog_body
from xueliang.migrate import upgrade_async

PLATFORM = "34020000002000000009"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def make_parts(total: int, per_part: int = 10_000) -> list[bytes]:
    items = [
        CatalogItem(
            device_id=f"340200{i // 100_000:02d}001320{i % 1_000_000:06d}"[:20],
            name=f"镜湖区路口摄像机{i}",
            manufacturer="Hikvision",
            model="DS-2CD",
            civil_code="340202",
            parent_id=PLATFORM,
            address=f"中山路{i}号",
            status="ON" if i % 20 else "OFF",
            longitude=118.3 + (i % 1000) / 10_000,
            latitude=31.3 + (i % 777) / 10_000,
            ptz_type=1 + i % 3,
            register_way=1,
            secrecy=0,
            parental=0,
        )
        for i in range(total)
    ]
    return [
        encode_manscdp(part, encoding="GB18030")
        for part in split_catalog(1, PLATFORM, items, max_items=per_part)
    ]


async def fresh(url: str):
    engine = create_engine(url)
    await upgrade_async(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await register_device(
            session, PLATFORM, address="127.0.0.1:5070", transport="TCP", gb_version="3.0", at=NOW
        )
    return engine, sessions


async def project(url: str, parts: list[bytes]) -> tuple[float, float, int]:
    """As `serve` does it: parts parsed in a worker process, each written as it is ready."""
    engine, sessions = await fresh(url)
    loop = asyncio.get_running_loop()
    try:
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as pool:
            await loop.run_in_executor(pool, parse_catalog_body, make_parts(1)[0])  # start the worker
            start = time.perf_counter()
            assembler: CatalogAssembler[None] = CatalogAssembler()
            assembler.expect(PLATFORM, 1, 0)
            jobs = [loop.run_in_executor(pool, parse_catalog_body, body) for body in parts]
            parse_wait = 0.0
            done = None
            for index, job in enumerate(jobs):
                waited = time.perf_counter()
                _root, sn, total, entries = await job
                parse_wait += time.perf_counter() - waited
                async with sessions() as session, session.begin():
                    await apply_catalog(session, PLATFORM, entries, NOW)
                done = assembler.add_part(PLATFORM, sn, total, [(e.gb_id, None) for e in entries], index)
            assert done is not None and done.complete
            total_time = time.perf_counter() - start
        async with sessions() as session:
            count = await session.scalar(select(func.count(Channel.id)))
        return parse_wait, total_time, int(count or 0)
    finally:
        await engine.dispose()


async def naive(url: str, parts: list[bytes], limit: int) -> tuple[float, int]:
    engine, sessions = await fresh(url)
    try:
        start = time.perf_counter()
        written = 0
        async with sessions() as session, session.begin():
            device = await session.scalar(select(Device).where(Device.gb_id == PLATFORM))
            for body in parts:
                for item in parse_manscdp(body).command.items:
                    channel = await session.scalar(select(Channel).where(Channel.gb_id == item.device_id))
                    if channel is None:
                        channel = Channel(gb_id=item.device_id, name=item.name or "")
                        session.add(channel)
                    channel.device_id, channel.civil_code = device.id, item.civil_code or ""
                    channel.longitude, channel.latitude = item.longitude, item.latitude
                    channel.status = "online" if item.status == "ON" else "offline"
                    await session.flush()
                    written += 1
                    if written == limit:
                        return time.perf_counter() - start, written
        return time.perf_counter() - start, written
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--db", default="")
    args = parser.parse_args()
    parts = make_parts(args.channels)
    size = sum(len(p) for p in parts)
    with tempfile.TemporaryDirectory() as tmp:
        parsed, total, count = asyncio.run(project(args.db or f"sqlite:///{tmp}/p.db", parts))
        rss = peak_rss_mib()
        base_time, base_count = asyncio.run(naive(f"sqlite:///{tmp}/n.db", parts[:2], args.baseline))
    rate, base_rate = count / total, base_count / base_time
    print(f"catalog of {count:,} channels in {len(parts)} parts ({size / 1e6:,.0f} MB GB18030 XML)")
    print(
        f"  project : {total:6.1f} s total ({parsed:5.1f} s parser wait, {total - parsed:5.1f} s write), "
        f"{rate:,.0f} items/s, peak RSS {rss:,.0f} MiB"
    )
    print(
        f"  naive   : {base_rate:,.0f} items/s (ORM per item, {base_count:,} items) -> "
        f"{args.channels / base_rate:,.0f} s extrapolated"
    )
    print(f"  ratio   : {rate / base_rate:.1f}x")
    print(f"  target  : < 60 s for 1,000,000: {verdict(total < 60 * count / 1_000_000)}")


if __name__ == "__main__":
    main()
