"""The fleet over real sockets on 127.0.0.1 against the stub platform (and `xueliang serve`)."""

from __future__ import annotations

import asyncio
import json

import pytest
from tests.sim.stub_platform import AsyncStubPlatform
from typer.testing import CliRunner

from xueliang.gb28181 import CatalogQuery, DeviceInfoQuery
from xueliang.sim import DeviceState, Fault, FaultSpec, Fleet, SimConfig

DEVICES, CHANNELS = 50, 4


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_fleet_registers_keeps_alive_and_answers(transport: str) -> None:
    async with AsyncStubPlatform() as stub:
        platform = stub.platform
        config = SimConfig(
            platform=stub.address,
            devices=DEVICES,
            channels=CHANNELS,
            transport=transport,
            keepalive=0.5,
            rate=400,
            devices_per_socket=16,
            register_retry=1.0,
        )
        fleet = Fleet(config)
        await fleet.start()
        try:
            await stub.wait_for(lambda: len(platform.registered) == DEVICES, 15, "every registration")
            ids = [d.device_id for d in fleet.devices]
            await stub.wait_for(lambda: all(platform.keepalives[i] >= 2 for i in ids), 15, "keepalives")
            if transport == "UDP":  # 50 devices on 4 shared sockets
                assert len({r.addr for r in platform.registered.values()}) == 4
            else:  # a connection each
                assert len({r.addr for r in platform.registered.values()}) == DEVICES
                assert {r.transport for r in platform.registered.values()} == {"TCP"}
            device = fleet.devices[17]
            stub.query(device.device_id, CatalogQuery(501, device.device_id))
            stub.query(device.device_id, DeviceInfoQuery(502, device.device_id))
            await stub.wait_for(
                lambda: (
                    len(platform.catalog(device.device_id, 501)["items"]) == CHANNELS
                    and device.device_id in platform.infos
                ),
                15,
                "the catalog and the device info",
            )
            catalog = platform.catalog(device.device_id, 501)
            assert catalog["total"] == CHANNELS
            assert sorted(catalog["items"]) == [fleet.ctx.plan.channel_id(17, k) for k in range(CHANNELS)]
            assert platform.infos[device.device_id].channel == CHANNELS
            stats = fleet.stats.as_dict()
            assert stats["registered"] == stats["online"] == DEVICES
            assert stats["keepalives_ok"] >= 2 * DEVICES and stats["catalog_parts_sent"] >= 1
            assert stats["register_p50_ms"] is not None and stats["keepalive_p99_ms"] is not None
            assert "registered 50" in fleet.stats.line()
        finally:
            await fleet.stop()
        assert all(d.state is DeviceState.STOPPED for d in fleet.devices)
        assert len(platform.registered) == DEVICES  # went silent: the platform was not told


async def test_fleet_with_faults_and_unregister_on_stop() -> None:
    spec = FaultSpec.parse("offline=0.1,wrong_password=0.1,gb2312=0.5")
    async with AsyncStubPlatform() as stub:
        platform = stub.platform
        config = SimConfig(
            platform=stub.address,
            devices=40,
            channels=2,
            faults=spec,
            keepalive=1.0,
            rate=400,
            register_retry=60,
            unregister_on_stop=True,
        )
        fleet = Fleet(config)
        faults = {d.device_id: d.faults for d in fleet.devices}
        good = {i for i, f in faults.items() if not f & (Fault.OFFLINE | Fault.WRONG_PASSWORD)}
        wrong = {i for i, f in faults.items() if f & Fault.WRONG_PASSWORD and not f & Fault.OFFLINE}
        assert good and wrong and len(good) < 40
        await fleet.start()
        try:
            await stub.wait_for(
                lambda: set(platform.registered) == good and set(platform.rejected) == wrong,
                15,
                "the healthy devices to register and the others to be refused",
            )
            assert fleet.stats.register_failures == len(wrong)
        finally:
            await fleet.stop()
        assert platform.registered == {}  # every registered device said Expires: 0
        assert set(platform.unregistered) == good


def test_cli_runs_a_fleet_and_honours_the_environment() -> None:
    import typer

    from xueliang.cli_sim import sim

    app = typer.Typer()
    app.command("sim")(sim)
    app.command("noop")(lambda: None)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "sim",
            "--platform",
            "127.0.0.1:9",
            "--devices",
            "3",
            "--channels",
            "2",
            "--stop-after",
            "0.3",
            "--faults",
            "offline=0.5",
            "--json",
        ],
        env={"XUELIANG_SIP_ID": "34020000002000000099", "XUELIANG_SIP_DOMAIN": "3402000001"},
    )
    assert result.exit_code == 0, result.output
    assert "as 34020000002000000099@3402000001" in result.output
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["devices"] == 3 and stats["registered"] == 0
    bad = runner.invoke(app, ["sim", "--platform", "10.0.0.1:5060", "--devices", "1", "--channels", "1"])
    assert bad.exit_code == 2 and "loopback" in bad.output
    bad = runner.invoke(
        app,
        ["sim", "--platform", "127.0.0.1:5060", "--devices", "1", "--channels", "1", "--faults", "bogus=1"],
    )
    assert bad.exit_code == 2 and "unknown fault" in bad.output


@pytest.mark.slow
def test_interoperates_with_xueliang_serve(tmp_path: object) -> None:
    """The real platform (`xueliang serve`) registers the fleet and stores its catalogs."""
    from pathlib import Path

    from tests.support.platform import running_platform

    assert isinstance(tmp_path, Path)
    with running_platform(tmp_path) as platform:
        config = SimConfig(
            platform=("127.0.0.1", platform.sip_port),
            devices=12,
            channels=3,
            faults=FaultSpec.parse("gb2312=0.5,fragmented=0.3"),
            keepalive=2.0,
            rate=100,
        )

        async def run() -> None:
            fleet = Fleet(config)
            await fleet.start()
            try:
                loop = asyncio.get_running_loop()
                end = loop.time() + 30
                while loop.time() < end:
                    channels = await asyncio.to_thread(platform.get, "/channels", limit=100)
                    devices = await asyncio.to_thread(platform.get, "/devices", limit=100)
                    online = [d for d in devices["items"] if d["status"] == "online"]
                    if channels["total"] == 36 and len(online) == 12:
                        break
                    await asyncio.sleep(0.3)
                else:
                    raise AssertionError(
                        f"platform saw {devices} / {channels['total']} channels\n{platform.log()}"
                    )
                plan = fleet.ctx.plan
                names = {c["id"]: c["name"] for c in channels["items"]}
                expected = {i.device_id: i.name for k in range(12) for i in plan.catalog(k)}
                assert names == expected  # GB2312 and UTF-8 bodies alike, fragmented or not
                assert fleet.stats.keepalives_ok > 0
            finally:
                await fleet.stop()

        asyncio.run(run())
