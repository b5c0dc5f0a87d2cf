"""`serve` with a simulated fleet (`xueliang sim`): a thousand devices come online, then drop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.platform import running_platform


def start_sim(platform_port: int, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    log = (tmp_path / "sim.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "xueliang", "sim", "--platform", f"127.0.0.1:{platform_port}", *args],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )


def test_thousand_devices_online_then_offline_with_intervals(tmp_path):
    with running_platform(tmp_path, keepalive_interval="3", keepalive_misses="3") as platform:
        sim = start_sim(platform.sip_port, tmp_path, "--devices", "1000", "--channels", "4",
                        "--keepalive", "3", "--rate", "400", "--report-every", "5")
        try:
            def online() -> int:
                return platform.get("/channels", status="online", page_size=1)["total"]

            platform.wait_for(lambda: online() == 4000, 60, "4,000 online channels")
            assert platform.get("/devices", status="online")["total"] == 1000
            sample = platform.get("/channels", page_size=1)["items"][0]
            assert sample["name"] and sample["longitude"] is not None
        finally:
            sim.send_signal(signal.SIGTERM)  # the fleet goes silent: no unregistering
            sim.wait(timeout=30)
        platform.wait_for(lambda: online() == 0, 30, "every channel offline after the keepalive window")
        assert platform.get("/devices", status="offline")["total"] == 1000
        history = platform.get(f"/channels/{sample['id']}/availability")["items"]
        assert [i["state"] for i in history] == ["online", "offline"]
        assert history[0]["until"] == history[1]["since"] and history[1]["until"] is None
        assert "offline after missed keepalives" in platform.log()


def test_stopping_the_platform_closes_presence(tmp_path):
    import sqlite3

    with running_platform(tmp_path) as platform:
        sim = start_sim(platform.sip_port, tmp_path, "--devices", "20", "--channels", "2")
        try:
            platform.wait_for(
                lambda: platform.get("/channels", status="online", page_size=1)["total"] == 40, 30, "online"
            )
        finally:
            platform.process.terminate()  # SIGTERM: a clean stop, as on Ctrl-C
            assert platform.process.wait(timeout=30) == 0
            sim.send_signal(signal.SIGTERM)
            sim.wait(timeout=30)
        with sqlite3.connect(platform.data_dir / "xueliang.db") as db:
            open_online = db.execute(
                "SELECT count(*) FROM availability WHERE kind = 'online' AND until IS NULL"
                " AND state = 'online'"
            ).fetchone()[0]
            statuses = dict(db.execute("SELECT status, count(*) FROM channel GROUP BY status").fetchall())
        assert open_online == 0 and statuses == {"offline": 40}
