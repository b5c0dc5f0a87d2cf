"""Interoperability: SIPp (Debian's sip-tester) plays a GB/T 28181 device against `serve`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.platform import free_port, running_platform

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "sipp"
DEVICE = "34020000001180000001"
CH1, CH2 = "34020000001320000001", "34020000001320000002"

pytestmark = pytest.mark.skipif(SIPP is None, reason="SIPp (Debian package sip-tester) is not installed")


def sipp(
    platform_port: int, tmp_path: Path, *, password: str, transport: str, pause_ms: int
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            SIPP,
            f"127.0.0.1:{platform_port}",
            "-sf",
            str(SCENARIOS / "device.xml"),
            "-oocsf",
            str(SCENARIOS / "device_queries.xml"),
            "-m",
            "1",
            "-s",
            DEVICE,
            "-au",
            DEVICE,
            "-ap",
            password,
            "-key",
            "platform",
            "34020000002000000001",
            "-key",
            "domain",
            "3402000000",
            "-key",
            "ch1",
            CH1,
            "-key",
            "ch2",
            CH2,
            "-d",
            str(pause_ms),
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-t",
            transport,
            "-timeout",
            "30s",
            "-timeout_error",
            "-trace_err",
            "-error_file",
            str(tmp_path / "sipp_errors.log"),
            "-nostdin",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("transport", ["u1", "t1"], ids=["udp", "tcp"])
def test_sipp_device_registers_reports_catalog_and_unregisters(tmp_path, transport):
    with running_platform(tmp_path) as platform:
        device = sipp(platform.sip_port, tmp_path, password="12345678", transport=transport, pause_ms=4000)

        def catalog_stored() -> bool:
            return platform.get("/channels", device=DEVICE)["total"] == 2

        platform.wait_for(catalog_stored, 20, "the SIPp device's catalog")
        channels = {c["id"]: c for c in platform.get("/channels", device=DEVICE)["items"]}
        assert channels[CH1]["status"] == "online" and channels[CH1]["ptz_type"] == 1
        assert channels[CH1]["longitude"] == pytest.approx(118.38)
        assert channels[CH2]["status"] == "offline"  # reported Status OFF
        info = platform.get(f"/devices/{DEVICE}")
        assert info["status"] == "online" and info["kind"] == "nvr"
        platform.wait_for(
            lambda: platform.get(f"/devices/{DEVICE}")["manufacturer"] == "SIPp", 10, "DeviceInfo"
        )
        assert platform.get(f"/devices/{DEVICE}")["gb_version"] == "3.0"

        assert device.wait(timeout=60) == 0, (tmp_path / "sipp_errors.log").read_text(errors="replace")
        platform.wait_for(lambda: platform.get(f"/devices/{DEVICE}")["status"] == "offline", 10, "unregister")
        assert platform.get(f"/channels/{CH1}")["status"] == "offline"


def test_sipp_device_with_wrong_password_is_refused(tmp_path):
    with running_platform(tmp_path) as platform:
        device = sipp(platform.sip_port, tmp_path, password="wrong", transport="u1", pause_ms=0)
        assert device.wait(timeout=60) != 0
        errors = (tmp_path / "sipp_errors.log").read_text(errors="replace")
        assert "403" in errors
        assert platform.get("/devices")["total"] == 0
        assert "rejected: 403 Forbidden: wrong credentials" in platform.log()
