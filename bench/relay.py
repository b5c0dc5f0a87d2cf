"""Benchmark: relaying one 2 Mbit/s channel (1280x720, 25 fps, PS over RTP from a simulated
GB/T 28181 device) to 200 concurrent browser viewers as fMP4 over WebSocket.

The platform runs as its own process (see ``live_latency.py --serve``); this process holds
the 200 WebSocket clients. Measured on the server process: CPU seconds per wall second
(``/proc/PID/stat``) over a steady window, peak RSS (``VmHWM``), and what the viewers got.
Baseline in the same run: a naive relay (its own upstream per viewer, decode and re-encode
with libx264 ultrafast) with a few viewers, its per-viewer cost extrapolated to 200.

Target: 200 viewers relayed in under one core.
Run: ``.venv/bin/python bench/relay.py [--viewers N] [--seconds S]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_latency import channel_id, login, start_server  # noqa: E402

WIDTH, HEIGHT, BITRATE = 1280, 720, 2_000_000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self.errors = 0


async def viewer(url: str, counter: Counter, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    try:
        async with connect(url, max_size=None) as ws:
            while not stop.is_set():
                message = await ws.recv()
                counter.messages += 1
                counter.bytes += len(message)
    except Exception:
        counter.errors += 1


async def run(port: int, viewers: int, seconds: float, naive: bool) -> dict[str, float]:
    import httpx

    base = f"127.0.0.1:{port}"
    urls = []
    async with httpx.AsyncClient(headers={} if naive else await login(base)) as client:
        for _ in range(viewers):
            if naive:
                urls.append(f"ws://{base}/naive/{channel_id(1 + len(urls))}")
            else:
                grant = (await client.post(f"http://{base}/api/v1/channels/{channel_id(0)}/live")).json()
                urls.append(f"ws://{base}{grant['ws_url']}")
    counters = [Counter() for _ in urls]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(viewer(u, c, stop)) for u, c in zip(urls, counters, strict=True)]
    await asyncio.sleep(3)  # everyone connected, GOP caches delivered, steady state
    return await _window(tasks, counters, stop, seconds)


SERVER_PID = 0


async def _window(tasks, counters, stop, seconds):  # type: ignore[no-untyped-def]
    bytes0 = sum(c.bytes for c in counters)
    messages0 = sum(c.messages for c in counters)
    cpu0, wall0 = cpu_seconds(SERVER_PID), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu1, wall1 = cpu_seconds(SERVER_PID), time.perf_counter()
    wall = wall1 - wall0
    result = {
        "cpu": (cpu1 - cpu0) / wall,
        "mbit": (sum(c.bytes for c in counters) - bytes0) * 8 / wall / 1e6,
        "fps": (sum(c.messages for c in counters) - messages0) / wall / len(counters),
        "errors": sum(c.errors for c in counters),
    }
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def main() -> None:
    global SERVER_PID
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--naive-viewers", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    process, port = start_server(args.naive_viewers + 2, WIDTH, HEIGHT, BITRATE)
    SERVER_PID = process.pid
    try:
        hub = asyncio.run(run(port, args.viewers, args.seconds, naive=False))
        rss = peak_rss_mib(process.pid)
        time.sleep(2)
        naive = asyncio.run(run(port, args.naive_viewers, args.seconds, naive=True))
    finally:
        process.terminate()
        process.wait()
    per_viewer_naive = naive["cpu"] / args.naive_viewers
    print(
        f"relay of one {BITRATE / 1e6:g} Mbit/s {WIDTH}x{HEIGHT} 25 fps channel over fMP4/WebSocket, loopback"
    )
    print(
        f"hub   {args.viewers} viewers: {hub['cpu']:.2f} CPU s per s, {hub['mbit']:.0f} Mbit/s out, "
        f"{hub['fps']:.1f} fragments/s per viewer, {hub['errors']:.0f} failed, peak RSS {rss:.0f} MiB  "
        f"target < 1 core: {'meets target' if hub['cpu'] < 1 else 'MISSES target'}"
    )
    print(
        f"naive {args.naive_viewers} viewers: {naive['cpu']:.2f} CPU s per s "
        f"({per_viewer_naive:.2f} per viewer), "
        f"{naive['fps']:.1f} fragments/s per viewer; "
        f"{args.viewers} viewers extrapolated: {per_viewer_naive * args.viewers:.0f} cores"
    )
    ratio = per_viewer_naive * args.viewers / max(hub["cpu"], 1e-6)
    print(f"naive / hub at {args.viewers} viewers: {ratio:.0f}x")


if __name__ == "__main__":
    main()
