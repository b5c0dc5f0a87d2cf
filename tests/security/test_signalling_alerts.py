"""Asset-security alerts from the signalling plane over real sockets: the SignallingServer with
its directory writer on SQLite, devices speaking SIP over UDP and TCP from several loopback
addresses (127.0.0.x), and a simulated fleet as benign traffic. Each alert kind is raised by
what means it; a healthy fleet (registering, answering catalog and DeviceInfo queries,
keeping alive) raises none but the firmware its vendor shipped with a known flaw."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.support.platform import free_port

from xueliang.catalog import Device, device_passwords
from xueliang.config import Settings
from xueliang.db import create_engine, session_factory
from xueliang.gb28181.digest import authorize, parse_challenge
from xueliang.gb28181.framing import SipStreamFramer
from xueliang.gb28181.server import SignallingServer
from xueliang.gb28181.store import DirectoryWriter
from xueliang.migrate import upgrade_async
from xueliang.security.alerts import SecurityAlert, VulnerableFirmware
from xueliang.security.monitoring import load_monitor
from xueliang.sim import SimConfig
from xueliang.sim.fleet import Fleet

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
DEFAULT_PASSWORD = "12345678"
K1, K2, K3, K4 = (f"3402000000132000000{n}" for n in (1, 2, 3, 4))
UNKNOWN, UNKNOWN2 = "34020000001329999991", "34020000001329999992"


@dataclass
class Rig:
    server: SignallingServer
    writer: DirectoryWriter
    sessions: async_sessionmaker[AsyncSession]
    port: int

    async def alerts(self) -> dict[tuple[str, str], SecurityAlert]:
        assert await self.writer.drained(20)
        async with self.sessions() as session:
            rows = await session.scalars(select(SecurityAlert))
            return {(a.device_id, a.kind): a for a in rows}


@asynccontextmanager
async def signalling(
    tmp_path: Path, devices: list[Device], rules: list[VulnerableFirmware] = (), **settings: Any
) -> AsyncIterator[Rig]:
    port = free_port()
    config = Settings(
        data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}", sip=f"127.0.0.1:{port}", **settings
    )
    engine = create_engine(config.database_url)
    await upgrade_async(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        session.add_all([*devices, *rules])
    async with sessions() as session:
        passwords = await device_passwords(session)
        monitor = await load_monitor(session, config)
    writer = DirectoryWriter(config.database_url)
    writing = asyncio.create_task(writer.run())
    server = SignallingServer(config, writer, passwords, monitor)
    await server.start()
    try:
        yield Rig(server, writer, sessions, port)
    finally:
        await server.stop()
        await writer.drained(20)
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
        await engine.dispose()


class RawDevice:
    """A GB/T 28181 device's SIP side written out by hand, on a blocking socket bound to
    ``host`` (call its methods through ``asyncio.to_thread``: the server shares our loop)."""

    _calls = itertools.count(1)

    def __init__(self, device_id: str, password: str, host: str, port: int, transport: str = "UDP") -> None:
        self.device_id, self.password, self.transport = device_id, password, transport
        self.server = ("127.0.0.1", port)
        kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind((host, 0))
        self.sock.settimeout(5)
        if transport == "TCP":
            self.sock.connect(self.server)
        self.framer = SipStreamFramer()
        self.pending: list[bytes] = []

    def close(self) -> None:
        self.sock.close()

    def _message(self, method: str, call_id: str, cseq: int, extra: str = "", body: bytes = b"") -> bytes:
        host, port = self.sock.getsockname()
        head = (
            f"{method} sip:{PLATFORM_ID}@{DOMAIN} SIP/2.0\r\n"
            f"Via: SIP/2.0/{self.transport} {host}:{port};rport;branch=z9hG4bK{call_id}x{cseq}\r\n"
            f"From: <sip:{self.device_id}@{DOMAIN}>;tag=t{call_id}\r\n"
            f"To: <sip:{PLATFORM_ID}@{DOMAIN}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    def _send(self, data: bytes) -> None:
        if self.transport == "UDP":
            self.sock.sendto(data, self.server)
        else:
            self.sock.sendall(data)

    def _response(self) -> bytes:
        """The next response to us (the platform's own requests to the device are skipped)."""
        while True:
            while not self.pending:
                data = self.sock.recv(65536)
                self.pending += [data] if self.transport == "UDP" else self.framer.feed(data)
            message = self.pending.pop(0)
            if message.startswith(b"SIP/2.0"):
                return message

    def register(self) -> int:
        call_id = f"reg{next(self._calls)}"
        host, port = self.sock.getsockname()
        extra = f"Contact: <sip:{self.device_id}@{host}:{port}>\r\nExpires: 3600\r\n"
        self._send(self._message("REGISTER", call_id, 1, extra))
        reply = self._response()
        assert _status(reply) == 401, reply
        header = next(h for h in reply.decode().split("\r\n") if h.lower().startswith("www-authenticate"))
        auth = authorize(
            parse_challenge(header.split(":", 1)[1].strip()),
            username=self.device_id,
            password=self.password,
            method="REGISTER",
            uri=f"sip:{PLATFORM_ID}@{DOMAIN}",
            cnonce="c",
        ).to_header()
        self._send(self._message("REGISTER", call_id, 2, extra + f"Authorization: {auth}\r\n"))
        return _status(self._response())

    def keepalive(self) -> int:
        n = next(self._calls)
        body = (
            f'<?xml version="1.0" encoding="GB2312"?><Notify><CmdType>Keepalive</CmdType><SN>{n}</SN>'
            f"<DeviceID>{self.device_id}</DeviceID><Status>OK</Status></Notify>"
        ).encode()
        self._send(self._message("MESSAGE", f"ka{n}", 1, "Content-Type: Application/MANSCDP+xml\r\n", body))
        return _status(self._response())


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


async def run(call: Any, *args: Any) -> Any:
    return await asyncio.to_thread(call, *args)


def directory() -> list[Device]:
    return [
        Device(gb_id=K1, name="K1", password="k1-own-secret"),
        Device(gb_id=K2, name="K2", password="k2-own-secret"),
        Device(gb_id=K3, name="K3"),  # no password of its own: the platform default applies
        Device(gb_id=K4, name="K4", password="k4-own-secret"),  # never registers here
    ]


async def test_each_alert_kind_is_raised_by_what_means_it(tmp_path: Path) -> None:
    async with signalling(tmp_path, directory()) as rig:
        port = rig.port
        k1 = RawDevice(K1, "k1-own-secret", "127.0.0.2", port)
        assert await run(k1.register) == 200
        assert await run(k1.keepalive) == 200
        assert await run(k1.register) == 200  # a refresh from where it was
        assert await rig.alerts() == {}, "a device with its own password, where it was: nothing"

        stranger = RawDevice(UNKNOWN, DEFAULT_PASSWORD, "127.0.0.3", port)
        assert await run(stranger.register) == 200  # accepted (sip_accept_unknown), but reported
        k3 = RawDevice(K3, DEFAULT_PASSWORD, "127.0.0.4", port, "TCP")
        assert await run(k3.register) == 200

        moved = RawDevice(K1, "k1-own-secret", "127.0.0.5", port)
        assert await run(moved.register) == 200  # K1 from another host: it moved

        first = RawDevice(K2, "k2-own-secret", "127.0.0.6", port)
        second = RawDevice(K2, "k2-own-secret", "127.0.0.7", port)
        assert await run(first.register) == 200
        assert await run(second.register) == 200
        assert await run(first.keepalive) == 403  # the first is still there: two devices, one ID

        forger = RawDevice(K1, "", "127.0.0.8", port)
        assert await run(forger.keepalive) == 403
        assert await run(forger.keepalive) == 403
        over_tcp = RawDevice(K1, "", "127.0.0.5", port, "TCP")  # K1's host, another transport
        assert await run(over_tcp.keepalive) == 200
        nobody = RawDevice(UNKNOWN2, "", "127.0.0.9", port)
        assert await run(nobody.keepalive) == 403  # an ID nobody registered
        quiet = RawDevice(K4, "", "127.0.0.10", port)
        assert await run(quiet.keepalive) == 403  # known, never seen here: nothing to compare

        alerts = await rig.alerts()
        assert set(alerts) == {
            (UNKNOWN, "unknown_device"),
            (UNKNOWN, "default_password"),
            (K3, "default_password"),
            (K1, "address_changed"),
            (K2, "address_changed"),
            (K2, "duplicate_id"),
            (K1, "forged_keepalive"),
            (UNKNOWN2, "forged_keepalive"),
        }
        assert alerts[(UNKNOWN, "unknown_device")].address.startswith("UDP 127.0.0.3:")
        assert alerts[(K3, "default_password")].address.startswith("TCP 127.0.0.4:")
        assert "UDP 127.0.0.2" in alerts[(K1, "address_changed")].detail
        forged = alerts[(K1, "forged_keepalive")]
        assert forged.count == 3 and forged.address.startswith("TCP 127.0.0.5:"), "one alert, counted"
        assert alerts[(K2, "duplicate_id")].address.startswith("UDP 127.0.0.6:")
        for device in (k1, stranger, k3, moved, first, second, forger, over_tcp, nobody, quiet):
            device.close()


async def test_unknown_ids_can_be_refused(tmp_path: Path) -> None:
    async with signalling(tmp_path, directory(), sip_accept_unknown=False) as rig:
        stranger = RawDevice(UNKNOWN, DEFAULT_PASSWORD, "127.0.0.3", rig.port)
        assert await run(stranger.register) == 403
        known = RawDevice(K1, "k1-own-secret", "127.0.0.2", rig.port)
        assert await run(known.register) == 200
        alerts = await rig.alerts()
        assert set(alerts) == {(UNKNOWN, "unknown_device")}
        assert "refused" in alerts[(UNKNOWN, "unknown_device")].detail
        async with rig.sessions() as session:
            assert await session.scalar(select(Device.id).where(Device.gb_id == UNKNOWN)) is None
        stranger.close()
        known.close()


async def test_an_empty_directory_is_discovering_not_curated(tmp_path: Path) -> None:
    async with signalling(tmp_path, []) as rig:
        newcomer = RawDevice(UNKNOWN, DEFAULT_PASSWORD, "127.0.0.3", rig.port)
        assert await run(newcomer.register) == 200
        assert set(await rig.alerts()) == {(UNKNOWN, "default_password")}
        newcomer.close()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_a_healthy_fleet_raises_nothing_but_its_vulnerable_firmware(
    tmp_path: Path, transport: str
) -> None:
    password = "fleet-own-secret"
    fleet = Fleet(SimConfig(platform=("127.0.0.1", 0), password=password, devices=6, channels=2))
    plans = [fleet.ctx.plan.device(d.index) for d in fleet.devices]
    hikvision = {p.device_id for p in plans if p.manufacturer == "Hikvision"}
    assert hikvision and len(hikvision) < len(plans), "the seed gives a mixed fleet"
    flawed = plans[[p.device_id for p in plans].index(min(hikvision))]
    rules = [
        VulnerableFirmware(
            manufacturer="hikvision", model=flawed.model, firmware=flawed.firmware, advisory="CVE-X"
        ),
        VulnerableFirmware(manufacturer="*", model="*", firmware="V9.*", advisory="nobody runs this"),
    ]
    devices = [Device(gb_id=p.device_id, name=p.name, password=password) for p in plans]
    async with signalling(tmp_path, devices, rules, keepalive_interval=1.0) as rig:
        config = SimConfig(
            platform=("127.0.0.1", rig.port),
            password=password,
            devices=6,
            channels=2,
            keepalive=1.0,
            transport=transport,
            rate=100.0,
        )
        fleet = Fleet(config)
        await fleet.start()
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while True:
                async with rig.sessions() as session:
                    reported = await session.scalar(select(Device.id).where(Device.firmware == "").limit(1))
                if reported is None and fleet.stats.keepalives_ok >= 3 * len(plans):
                    break
                assert loop.time() < deadline, f"fleet not settled: {fleet.stats.as_dict()}"
                await asyncio.sleep(0.2)
        finally:
            await fleet.stop()
        alerts = await rig.alerts()
        covered = {p.device_id for p in plans if (p.model, p.firmware) == (flawed.model, flawed.firmware)}
        assert set(alerts) == {(d, "vulnerable_firmware") for d in covered}
        assert all("CVE-X" in a.detail for a in alerts.values())
