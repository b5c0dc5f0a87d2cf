"""A city's devices keeping alive: `xueliang serve` against `xueliang sim` on one machine.

Target (issue 3): 100,000 devices registered and keeping alive every 60 s (≈ 1,700 messages/s)
on one 2-core node, no missed keepalive causing a false offline, p99 response under 50 ms.
The simulator shares the two cores with the platform, so the figures are conservative.

Printed beside the end-to-end run, measured in the same process: keepalive handling the
project's way (in-memory presence, only transitions written) against the naive way (a
database UPDATE of last-seen for every keepalive), in messages per second.

    .venv/bin/python bench/signalling_load.py [--devices 100000] [--channels 10] [--window 130]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from _common import admin_headers, start_serve, verdict
from sqlalchemy import update

from xueliang.catalog import Device, register_device
from xueliang.db import create_engine, session_factory
from xueliang.gb28181.endpoint import SipEndpoint
from xueliang.gb28181.manscdp import Keepalive, encode_manscdp, parse_manscdp
from xueliang.gb28181.presence import PresenceTable
from xueliang.migrate import upgrade_async


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def keepalive_bytes(n: int, device: str) -> bytes:
    body = encode_manscdp(Keepalive(sn=n, device_id=device), encoding="GB2312")
    head = (
        f"MESSAGE sip:34020000002000000001@3402000000 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.2:5070;rport;branch=z9hG4bKka{n}\r\n"
        f"From: <sip:{device}@3402000000>;tag=k{n}\r\nTo: <sip:34020000002000000001@3402000000>\r\n"
        f"Call-ID: ka{n}\r\nCSeq: 1 MESSAGE\r\nContent-Type: Application/MANSCDP+xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def handling_rates(messages: int, tmp: str) -> tuple[float, float]:
    """Keepalives per second: in-memory presence vs a database UPDATE per keepalive."""
    devices = [f"3402000000132{i:07d}" for i in range(1000)]
    packets = [keepalive_bytes(n, devices[n % len(devices)]) for n in range(messages)]
    engine = create_engine(f"sqlite:///{tmp}/naive.db")
    await upgrade_async(engine)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for device in devices:
            await register_device(
                session, device, address="127.0.0.2:5070", transport="UDP", gb_version="", at=now
            )

    def project_pass(write: bool) -> list[str]:
        endpoint = SipEndpoint("127.0.0.1", 5060, symmetric=True)
        presence = PresenceTable()
        for device in devices:
            presence.register(device, ("127.0.0.2", 5070), "UDP", 3600, 0)
        seen = []
        for index, packet in enumerate(packets):
            t = index * 0.0005
            endpoint.receive(packet, ("127.0.0.2", 5070), "UDP", t)
            while (event := endpoint.next_event()) is not None:
                request = event.request  # type: ignore[attr-defined]
                command = parse_manscdp(request.body).command
                presence.keepalive(command.device_id, ("127.0.0.2", 5070), t)
                endpoint.respond(request, 200, t)
                if write:
                    seen.append(command.device_id)
            endpoint.datagrams_to_send(t)
        return seen

    start = time.perf_counter()
    project_pass(write=False)
    project = messages / (time.perf_counter() - start)
    start = time.perf_counter()
    seen = project_pass(write=True)
    for device in seen:  # the naive platform: one UPDATE per keepalive
        async with sessions() as session, session.begin():
            await session.execute(update(Device).where(Device.gb_id == device).values(last_seen_at=now))
    naive = messages / (time.perf_counter() - start)
    await engine.dispose()
    return project, naive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--keepalive", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=200.0, help="registrations per second")
    parser.add_argument("--window", type=float, default=130.0, help="steady-state seconds measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        serve, api, sip, env = start_serve(tmp, {"keepalive_interval": str(args.keepalive)})
        sim = None
        try:
            headers = admin_headers(api, env, tmp)
            sim_out = Path(tmp) / "sim.json"
            sim = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "xueliang",
                    "sim",
                    "--platform",
                    sip,
                    "--devices",
                    str(args.devices),
                    "--channels",
                    str(args.channels),
                    "--keepalive",
                    str(args.keepalive),
                    "--rate",
                    str(args.rate),
                    "--json",
                    "--report-every",
                    "3600",
                ],
                env=env,
                stdout=sim_out.open("w"),
                stderr=subprocess.DEVNULL,
            )
            started = time.monotonic()
            state: dict = {}
            while time.monotonic() - started < 3600:
                state = httpx.get(f"{api}/signalling", timeout=30, headers=headers).json()
                if state["registered"] >= args.devices:
                    break
                time.sleep(2)
            registered_after = time.monotonic() - started
            # Let the catalogs land, then measure a steady state of keepalives.
            wanted, channels, waited = args.devices * args.channels, 0, time.monotonic()
            while channels < wanted and time.monotonic() - waited < 900:
                time.sleep(3)
                channels = httpx.get(
                    f"{api}/channels", params={"page_size": 1}, timeout=60, headers=headers
                ).json()["total"]
            before = httpx.get(f"{api}/signalling", timeout=30, headers=headers).json()
            cpu0, t0 = proc_cpu_seconds(serve.pid), time.monotonic()
            time.sleep(args.window)
            cpu1, t1 = proc_cpu_seconds(serve.pid), time.monotonic()
            after = httpx.get(f"{api}/signalling", timeout=30, headers=headers).json()
            rss = proc_peak_rss_mib(serve.pid)
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=120)
            sim_stats = json.loads(sim_out.read_text().strip().splitlines()[-1])
        finally:
            if sim is not None and sim.poll() is None:
                sim.kill()
            serve.terminate()
            serve.wait(timeout=60)
        project_rate, naive_rate = asyncio.run(handling_rates(20_000, tmp))
    keepalives = after["keepalives"] - before["keepalives"]
    rate = keepalives / (t1 - t0)
    p99 = sim_stats.get("keepalive_p99_ms")
    print(f"{args.devices:,} devices x {args.channels} channels, keepalive every {args.keepalive:.0f} s")
    print(
        f"  registration : all {state['registered']:,} registered after {registered_after:,.0f} s "
        f"(at --rate {args.rate:.0f}/s); {channels:,} channels in the directory"
    )
    print(
        f"  steady state : {rate:,.0f} keepalives/s over {t1 - t0:.0f} s, serve CPU "
        f"{(cpu1 - cpu0) / (t1 - t0):.2f} cores, serve peak RSS {rss:,.0f} MiB"
    )
    print(
        f"  latency      : keepalive p50 {sim_stats.get('keepalive_p50_ms')} ms, p99 {p99} ms; "
        f"REGISTER p99 {sim_stats.get('register_p99_ms')} ms"
    )
    print(
        f"  false offline: {after['went_offline']} devices dropped; rate-limited {after['rate_limited']}, "
        f"malformed {after['malformed']}, suspect {after['suspect_keepalives']}"
    )
    print(
        f"  handling     : project {project_rate:,.0f} keepalives/s in memory vs naive "
        f"{naive_rate:,.0f}/s with an UPDATE each ({project_rate / naive_rate:.1f}x)"
    )
    print(
        f"  target       : no false offline, p99 < 50 ms: "
        f"{verdict(after['went_offline'] == 0 and p99 is not None and p99 < 50)}; "
        f"RSS < 2 GiB: {verdict(rss < 2048)}"
    )


if __name__ == "__main__":
    main()
