"""The web UI's first screen: from navigation to the map drawn with every channel clustered,
in headless Chromium (Debian's, through Playwright) against `xueliang serve` on loopback.

Target (issue 7): under 2 s with 20,000 channels. Printed beside the naive baseline measured
in the same browser and run: fetching the whole directory as `GET /channels` pages (the
largest page, 1,000) before anything could be drawn.

    .venv/bin/python bench/web_first_screen.py [--channels 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import verdict

from xueliang.api.webapp import WEB_DIR
from xueliang.config import Settings
from xueliang.db import create_engine, session_factory
from xueliang.demo import seed_city
from xueliang.migrate import upgrade_async
from xueliang.security import create_user

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
USER, PASSWORD = "bench-admin", "Bench-Passw0rd-xl"
MAP_DRAWN = "() => window.xueliangMap && window.xueliangMap.renderedAt > 0"
NAIVE = """async ({ token, pageSize }) => {
  const start = performance.now();
  const headers = { Authorization: 'Bearer ' + token };
  let page = 1, all = [];
  for (;;) {
    const url = `/api/v1/channels?page=${page}&page_size=${pageSize}`;
    const body = await (await fetch(url, { headers })).json();
    all = all.concat(body.items);
    if (all.length >= body.total || !body.items.length) break;
    page += 1;
  }
  return { ms: performance.now() - start, channels: all.length };
}"""


async def seed(data_dir: Path, channels: int) -> None:
    engine = create_engine(Settings(data_dir=data_dir).database_url)
    await upgrade_async(engine)
    async with session_factory(engine)() as session, session.begin():
        await seed_city(session, channels)
        await create_user(session, USER, PASSWORD, ["admin"])
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(api: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("serve exited early")
        try:
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("serve did not start")


async def measure(base: str, runs: int) -> tuple[list[float], float, int, int]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = await browser.new_context(viewport={"width": 1920, "height": 1080})
        page = await context.new_page()
        await page.goto(f"{base}/login")
        await page.fill("#login-username", USER)
        await page.fill("#login-password", PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_function(MAP_DRAWN, timeout=60_000)  # the first visit fills the HTTP cache
        times = []
        for _ in range(runs):  # a logged-in operator opening the platform: navigation → map drawn
            await page.goto(f"{base}/", wait_until="commit")
            await page.wait_for_function(MAP_DRAWN, timeout=60_000)
            times.append(await page.evaluate("window.xueliangMap.renderedAt") / 1000)
        shown = await page.evaluate("window.xueliangMap.points")
        token = await page.evaluate("JSON.parse(localStorage.getItem('xueliang.tokens')).access_token")
        naive = await page.evaluate(NAIVE, {"token": token, "pageSize": 1000})
        await browser.close()
    return times, naive["ms"] / 1000, naive["channels"], shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (WEB_DIR / "index.html").is_file():
        raise SystemExit(f"the web UI is not built in {WEB_DIR}: run `make web`")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(seed(Path(tmp), args.channels))
        http = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
        env.update(XUELIANG_DATA_DIR=tmp, XUELIANG_HTTP=http, XUELIANG_SIP=f"127.0.0.1:{free_port()}",
                   XUELIANG_LOG_LEVEL="WARNING", XUELIANG_INSPECTION_INTERVAL="0")  # fmt: skip
        command = [sys.executable, "-m", "xueliang", "serve"]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            wait_ready(f"http://{http}/api/v1", server)
            times, naive, loaded, shown = asyncio.run(measure(f"http://{http}", args.runs))
        finally:
            server.terminate()
            server.wait(timeout=20)
    first = statistics.median(times)
    print(f"web first screen over {args.channels:,} channels ({shown:,} on the map), {args.runs} loads")
    print(f"  project : navigation → map drawn, median {first:5.2f} s (max {max(times):.2f} s)")
    print(f"  baseline: GET /channels in pages of 1,000 ({loaded:,} channels), data only {naive:5.2f} s")
    print(f"  ratio   : {naive / first:.1f}× the baseline's time to just load the data")
    print(f"  target  : first screen under 2 s — {verdict(first < 2.0)}")


if __name__ == "__main__":
    main()
