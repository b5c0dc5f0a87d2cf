"""`GET /api/v1/channels?region=…&page=…` over 100,000 channels, with a real HTTP client
against a running `xueliang serve` (SQLite, embedded defaults).

Target (issue 2): median under 50 ms. Printed beside two baselines measured in the same
run: the HTTP floor (`GET /health` on the same connection: what any request costs) and the
naive implementation (load every channel through the ORM, filter and page in Python).

    .venv/bin/python bench/channel_list.py [--channels 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import add_bench_admin, bench_headers, children_peak_rss_mib, median_ms, p99_ms, verdict
from sqlalchemy import select

from xueliang.catalog import Channel
from xueliang.config import Settings
from xueliang.db import create_engine, session_factory
from xueliang.demo import DISTRICTS, seed_city
from xueliang.migrate import upgrade_async


async def seed(url: str, channels: int) -> None:
    engine = create_engine(url)
    await upgrade_async(engine)
    async with session_factory(engine)() as session, session.begin():
        await seed_city(session, channels)
    await engine.dispose()


async def naive(url: str, queries: list[tuple[str, int]], page_size: int) -> list[float]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    samples = []
    for region, page in queries:
        start = time.perf_counter()
        async with sessions() as session:
            everything = (await session.scalars(select(Channel))).all()
        matching = sorted((c for c in everything if c.civil_code.startswith(region)), key=lambda c: c.gb_id)
        _ = [c.gb_id for c in matching[(page - 1) * page_size : page * page_size]], len(matching)
        samples.append(time.perf_counter() - start)
    await engine.dispose()
    return samples


def wait_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("serve exited early")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    rng = random.Random(1)
    per_district = args.channels // len(DISTRICTS)
    pages = max(1, per_district // args.page_size)
    queries = [(rng.choice(DISTRICTS).civil_code, rng.randint(1, pages)) for _ in range(args.requests)]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        asyncio.run(seed(settings.database_url, args.channels))
        env = {
            **os.environ,
            "XUELIANG_DATA_DIR": tmp,
            "XUELIANG_HTTP": f"127.0.0.1:{args.port}",
            "XUELIANG_LOG_LEVEL": "WARNING",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "xueliang", "serve"], env=env, stdout=subprocess.DEVNULL
        )
        try:
            base = f"http://127.0.0.1:{args.port}/api/v1"
            wait_ready(base, server)
            add_bench_admin(env)
            project, floor = [], []
            with httpx.Client(base_url=base, timeout=30, headers=bench_headers(base)) as client:
                for region, page in queries[:20]:  # warm up
                    client.get("/channels", params={"region": region, "page": page})
                for region, page in queries:
                    start = time.perf_counter()
                    response = client.get(
                        "/channels", params={"region": region, "page": page, "page_size": args.page_size}
                    )
                    project.append(time.perf_counter() - start)
                    assert response.status_code == 200 and response.json()["total"] > 0
                    start = time.perf_counter()
                    client.get("/health")
                    floor.append(time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(timeout=20)
        naive_samples = asyncio.run(naive(settings.database_url, queries[:10], args.page_size))
    print(
        f"GET /channels?region=…&page=… over {args.channels:,} channels, page_size {args.page_size}, "
        f"{args.requests} requests"
    )
    print(
        f"  project : median {median_ms(project):6.1f} ms  p99 {p99_ms(project):6.1f} ms  "
        f"(serve peak RSS {children_peak_rss_mib():,.0f} MiB)"
    )
    print(f"  floor   : median {median_ms(floor):6.1f} ms  (GET /health, same connection)")
    print(
        f"  naive   : median {median_ms(naive_samples):6.1f} ms  (ORM load all + filter in Python, "
        f"10 queries, no HTTP)"
    )
    print(f"  ratio   : naive / project = {median_ms(naive_samples) / median_ms(project):.0f}x")
    print(f"  target  : median < 50 ms: {verdict(median_ms(project) < 50)}")


if __name__ == "__main__":
    main()
