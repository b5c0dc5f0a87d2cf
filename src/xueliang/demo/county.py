"""The demo's county platform: a second ``xueliang serve`` (南陵县) with its own simulated
NVRs, cascading its cameras up to the city over GB/T 28181 as a lower platform does.

It keeps its data in ``<demo data>/county`` and its administrator's password there (mode
0600); its uplink to the city is configured through its own API, as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from xueliang.config import Settings

__all__ = ["COUNTY_CIVIL_CODE", "COUNTY_SIP_ID", "County", "start_county"]

COUNTY_CIVIL_CODE = "340223"  # 南陵县
COUNTY_SIP_ID = "34022300002000000001"
COUNTY_DOMAIN = "3402230000"
FIRST_DEVICE = 100_000  # the county's NVRs take device indexes apart from the city's


@dataclass
class County:
    serve: subprocess.Popen[bytes]
    sim: subprocess.Popen[bytes] | None
    http: str
    devices: int

    @property
    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in (self.sim, self.serve) if p is not None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = int(tcp.getsockname()[1])
        udp.bind(("127.0.0.1", port))  # free for SIP over UDP as well
        return port


def _environment(data_dir: Path, http: str, sip: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    env.update(
        XUELIANG_DATA_DIR=str(data_dir),
        XUELIANG_HTTP=http,
        XUELIANG_SIP=sip,
        XUELIANG_SIP_ID=COUNTY_SIP_ID,
        XUELIANG_SIP_DOMAIN=COUNTY_DOMAIN,
        XUELIANG_INSPECTION_INTERVAL="0",  # the city inspects the county's cameras
        XUELIANG_CASCADE_POLL_INTERVAL="5",
        XUELIANG_LOG_LEVEL="WARNING",
    )
    return env


async def _admin_password(data_dir: Path, env: dict[str, str]) -> str:
    path = data_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    password = f"County-{secrets.token_hex(4)}-{secrets.token_urlsafe(6)}"
    add = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "xueliang", "user", "add", "admin", "--role", "admin", "--password-stdin",
        env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, error = await add.communicate((password + "\n").encode())
    if add.returncode != 0:
        raise SystemExit(f"demo: cannot make the county's administrator: {error.decode().strip()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    return password


async def _share_with_city(api: str, password: str, city: Settings, serve: subprocess.Popen[bytes]) -> None:
    """Wait for the county's API, log in, and make the city its upper platform (once)."""
    host, _, port = city.sip.rpartition(":")
    uplink = {
        "sip_id": city.sip_id,
        "domain": city.sip_domain,
        "name": "芜湖市视频共享平台",
        "host": host,
        "port": int(port),
        "transport": "udp",
        "password": city.sip_password,
        "keepalive_interval": 30,
        "rules": [{"region": COUNTY_CIVIL_CODE}],
    }
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        for _ in range(600):
            if serve.poll() is not None:
                raise SystemExit("demo: the county platform stopped while starting")
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        token = await client.post("/auth/token", data={"username": "admin", "password": password})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        existing = await client.get(f"/cascade/uplinks/{city.sip_id}")
        if existing.status_code == 404:
            (await client.post("/cascade/uplinks", json=uplink)).raise_for_status()


async def start_county(
    city: Settings, data_dir: Path, *, devices: int, per_device: int, video_faults: str, seed: int
) -> County:
    """Start the county's platform and its NVRs; its uplink to ``city`` is set up once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    http, sip = f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    env = _environment(data_dir, http, sip)
    password = await _admin_password(data_dir, env)
    with (data_dir / "serve.log").open("wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "xueliang", "serve"], env=env, stdout=log, stderr=log)
    county = County(serve, None, http, devices)
    try:
        await _share_with_city(f"http://{http}/api/v1", password, city, serve)
    except BaseException:
        serve.terminate()
        raise
    with (data_dir / "sim.log").open("wb") as log:
        county.sim = subprocess.Popen(
            [
                sys.executable, "-m", "xueliang", "sim",
                "--platform", sip,
                "--platform-id", COUNTY_SIP_ID,
                "--domain", COUNTY_DOMAIN,
                "--devices", str(devices),
                "--channels", str(per_device),
                "--civil-code", COUNTY_CIVIL_CODE,
                "--first-index", str(FIRST_DEVICE),
                "--seed", str(seed),
                "--video-faults", video_faults,
                "--clip-pool", "4",
            ],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return county
