"""A city's first inspection sweep, end to end: `xueliang serve` inspecting every channel of
`xueliang sim` (GB/T 28181 devices on loopback: INVITE, PS over RTP, the first keyframe and
a second one two seconds later, decode, diagnosis, findings and intervals stored, BYE).

Target (issue 5): 20,000 channels in under 10 minutes on one 2-core node with the machine
still responsive. The simulator shares the two cores, so the figure is conservative.

Printed beside it, measured in the same run once the sweep is over: the naive way, one
channel at a time (the platform's own on-demand inspection called sequentially), projected
to the fleet. Responsiveness: the latency of `GET /channels` and `GET /stats/summary`,
sampled every second during the sweep. Peak RSS of both processes.

    .venv/bin/python bench/inspection_fleet.py [--channels 20000] [--concurrency 128] [--baseline 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import admin_headers, median_ms, p99_ms, start_serve, verdict
from signalling_load import proc_cpu_seconds, proc_peak_rss_mib

PER_DEVICE = 8
FAULTS = "blur=0.03,too_dark=0.02,occlusion=0.02,color_cast=0.02,frozen=0.02,noise=0.01,stripes=0.01"


def wait_for(check, timeout: float, every: float = 1.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError("gave up waiting")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--baseline", type=int, default=20, help="channels inspected one at a time")
    parser.add_argument(
        "--media", default="UDP", choices=["UDP", "TCP-passive"], help="how devices send media"
    )
    args = parser.parse_args()
    devices = -(-args.channels // PER_DEVICE)
    with tempfile.TemporaryDirectory() as tmp:
        serve, api, sip, env = start_serve(
            tmp,
            {"inspection_concurrency": str(args.concurrency), "media_transport": args.media},
            stderr=Path(tmp) / "serve.log",
        )
        sim = None
        try:
            headers = admin_headers(api, env, tmp)
            client = httpx.Client(base_url=api, headers=headers, timeout=60)
            sim = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "xueliang",
                    "sim",
                    "--platform",
                    sip,
                    "--devices",
                    str(devices),
                    "--channels",
                    str(PER_DEVICE),
                    "--clip-pool",
                    "16",
                    "--video-faults",
                    FAULTS,
                    "--max-streams",
                    str(max(256, args.concurrency * 2)),
                    "--report-every",
                    "3600",
                ],  # fmt: skip
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(Path(tmp) / "sim.log").open("wb"),
            )
            started = time.monotonic()
            # The scheduler loads the fleet once a minute; the sweep under test is the first
            # one that sees every channel online.
            wait_for(lambda: client.get("/inspection/status").json().get("eligible", 0) >= args.channels, 600)
            print(f"fleet online and planned {time.monotonic() - started:.0f} s after the simulator started")
            cpu0 = {p.pid: _tree_cpu_seconds(p.pid) for p in (serve, sim)}
            latencies: list[float] = []
            in_flight: list[int] = []
            status: dict = {}
            while True:
                status = client.get("/inspection/status").json()
                last = status["last_sweep"]
                if last is not None and last["inspected"] >= args.channels * 0.9 and status["due"] == 0:
                    break
                if status["sweep"] is not None and status["sweep"]["finished_at"] is None:
                    in_flight.append(status["in_flight"])
                latencies += _api_latencies(client)
                time.sleep(1)
            cpu = {pid: _tree_cpu_seconds(pid) - before for pid, before in cpu0.items()}
            checks = _sweep_durations(client, last["inspected"])
            summary = client.get("/stats/summary").json()
            outcomes = {k: summary[k] for k in ("channels", "online_rate", "output_rate", "integrity_rate")}

            idle = [_api_latencies(client) for _ in range(10)]
            idle_latencies = [x for pair in idle for x in pair]

            sample = [
                c["id"] for c in client.get("/channels", params={"page_size": args.baseline}).json()["items"]
            ]
            t0 = time.perf_counter()
            for gb in sample:  # the naive way: one channel at a time
                client.post(f"/channels/{gb}/inspect").raise_for_status()
            naive_each = (time.perf_counter() - t0) / len(sample)
            rss = {"serve": proc_peak_rss_mib(serve.pid), "sim": proc_peak_rss_mib(sim.pid)}
        finally:
            for proc in (sim, serve):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    try:
                        proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        proc.kill()

    seconds = last["seconds"]
    naive_total = naive_each * last["inspected"]
    serve_cpu, sim_cpu = (cpu[p.pid] / seconds * 100 for p in (serve, sim))
    lines = [
        f"inspection sweep, end to end: {last['inspected']} channels on {devices} devices, "
        f"concurrency {args.concurrency}, media over {args.media}, {os.cpu_count()} CPUs",
        f"{'':34}{'channels/min':>14}{'sweep':>12}",
        f"{'naive (one at a time)':34}{60 / naive_each:>14.0f}{naive_total / 60:>10.1f} min",
        f"{'inspection plane':34}{last['inspected'] / seconds * 60:>14.0f}{seconds / 60:>10.1f} min",
        f"ratio {naive_total / seconds:.1f}x; outcomes {outcomes}",
        f"one inspection (all {len(checks)}): mean {sum(checks) / len(checks):.1f} s, "
        f"p50 {median_ms(checks) / 1000:.1f} s, p99 {p99_ms(checks) / 1000:.1f} s; "
        f"in flight during the sweep (streams open, and findings being stored): "
        f"mean {sum(in_flight) / max(1, len(in_flight)):.0f}",
        f"CPU during the sweep (of one core, with worker processes): serve {serve_cpu:.0f} %, "
        f"sim {sim_cpu:.0f} %; peak RSS serve {rss['serve']:.0f} MiB, sim {rss['sim']:.0f} MiB",
        f"API during the sweep (GET /channels, /stats/summary; {len(latencies)} requests): "
        f"p50 {median_ms(latencies):.0f} ms, p99 {p99_ms(latencies):.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms",
        f"the same requests with the platform idle after the sweep: p50 {median_ms(idle_latencies):.0f} ms, "
        f"p99 {p99_ms(idle_latencies):.0f} ms",
    ]
    print("\n".join(lines))
    scaled = seconds * 20_000 / last["inspected"]
    print(f"target 20,000 channels in under 10 minutes: {scaled / 60:.1f} min, {verdict(scaled < 600)}")


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (the inspection's worker processes)."""
    total = proc_cpu_seconds(pid)
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):  # a worker that just ended
            total += proc_cpu_seconds(int(child))
    return total


def _sweep_durations(client: httpx.Client, count: int) -> list[float]:
    """Seconds each of the newest ``count`` inspections took (the sweep's)."""
    out: list[float] = []
    page = 1
    while len(out) < count:
        items = client.get("/findings", params={"page_size": 500, "page": page}).json()["items"]
        if not items:
            break
        out += [f["duration_ms"] / 1000 for f in items]
        page += 1
    return out[:count]


def _api_latencies(client: httpx.Client) -> list[float]:
    """Seconds taken by a channel page and the headline indicators, as the dashboard asks."""
    out = []
    for path, params in (("/channels", {"page_size": 50}), ("/stats/summary", {})):
        t0 = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        out.append(time.perf_counter() - t0)
    return out


if __name__ == "__main__":
    main()
