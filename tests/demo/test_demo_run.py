"""``xueliang demo --channels 2000`` as a newcomer runs it: headless, on free ports, checked
through the API as the person at the printed URL would check it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from tests.support.platform import free_port

from xueliang.demo.county import COUNTY_SIP_ID
from xueliang.demo.run import PER_DEVICE, DemoCity, truth

pytestmark = pytest.mark.slow

CHANNELS = 2000


@dataclass
class Demo:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    output: Path
    headers: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def get(self, path: str, **params: object) -> httpx.Response:
        response = httpx.get(f"{self.api}{path}", params=params, headers=self.headers, timeout=60)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
        return response

    def printed(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, what: str, check: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the demo exited:\n{self.printed()[-3000:]}"
            if check():  # type: ignore[operator]
                return
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}\n{self.printed()[-3000:]}")


def _start(data_dir: Path, output: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    http = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("XUELIANG_")}
    env["XUELIANG_CLIP_CACHE"] = str(data_dir.parent / "clips")
    with output.open("a") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "xueliang", "demo",
                "--channels", str(CHANNELS),
                "--data-dir", str(data_dir),
                "--http", http,
                "--sip", f"127.0.0.1:{free_port()}",
                "--rtsp", f"127.0.0.1:{free_port()}",
                *extra,
            ],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    return process, f"http://{http}"


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the demo did not stop on Ctrl-C within a minute") from None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    data_dir, output = root / "city", root / "demo.out"
    process, url = _start(data_dir, output)
    demo = Demo(process, url, data_dir, output, {})
    try:
        demo.wait_for("the printed login", lambda: "log in as" in demo.printed(), 240)
        match = re.search(r"log in as (\S+) with the password (\S+)", demo.printed())
        assert match is not None
        response = httpx.post(
            f"{demo.api}/auth/token", data={"username": match[1], "password": match[2]}, timeout=30
        )
        assert response.status_code == 200, response.text
        demo.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        yield demo
    finally:
        if process.poll() is None:
            _stop(process)


RTSP = max(4, CHANNELS // 200)
COUNTY = DemoCity(CHANNELS, RTSP, "").county_devices * PER_DEVICE


def _expected_online() -> float:
    """The share of the city the simulator keeps online: NVRs that register, the RTSP
    cameras and the county's cameras."""
    from xueliang.demo.city import city_channels

    plan = list(city_channels(CHANNELS))
    online = sum(1 for c in plan if not truth(c.gb_id, c.device_gb_id)[0]) + RTSP + COUNTY
    return online / (CHANNELS + RTSP + COUNTY)


def test_the_demo_city_comes_alive_with_indicators_near_the_truth(demo: Demo) -> None:
    expected = _expected_online()

    def county_imported() -> bool:
        downlinks = demo.get("/cascade/downlinks").json()["items"]
        return any(d["id"] == COUNTY_SIP_ID and d["channels"] == COUNTY for d in downlinks)

    demo.wait_for("the county platform's cameras at the city", county_imported, 180)

    def online_rate() -> float:
        return float(demo.get("/stats/summary").json()["online_rate"])

    demo.wait_for("the city to register", lambda: online_rate() >= expected - 0.03, 180)
    summary = demo.get("/stats/summary").json()
    assert summary["channels"] == CHANNELS + RTSP + COUNTY
    assert abs(summary["online_rate"] - expected) <= 0.03  # flapping devices come and go
    assert 0.0 < summary["annotation_rate"] < 1.0  # a few channels have no or invalid coordinates
    trend = demo.get("/stats/trend", days=30).json()
    assert len(trend["items"]) >= 28  # thirty days of history at once

    rtsp = demo.get("/channels", q="RTSP").json()["items"]
    assert rtsp and all(c["stream_url"].startswith("rtsp://127.0.0.1:") for c in rtsp)
    demo.wait_for(
        "the RTSP cameras' probe",
        lambda: any(c["status"] == "online" for c in demo.get("/channels", q="RTSP").json()["items"]),
        120,
    )
    camera = next(c for c in demo.get("/channels", q="RTSP").json()["items"] if c["status"] == "online")
    snapshot = demo.get(f"/channels/{camera['id']}/snapshot")
    assert snapshot.headers["content-type"] == "image/jpeg" and snapshot.content[:2] == b"\xff\xd8"

    report = demo.get("/reports/weekly", format="xlsx")
    assert report.content[:2] == b"PK" and "attachment" in report.headers["content-disposition"]


def test_inspection_finds_the_injected_faults(demo: Demo) -> None:
    database = create_engine(f"sqlite:///{demo.data_dir / 'xueliang.db'}")

    def named() -> set[str]:
        with database.connect() as connection:
            rows = connection.execute(
                text(
                    "select c.gb_id, f.defects from inspection_finding f"
                    " join channel c on c.id = f.channel_id"
                )
            ).all()
        found = set()
        for gb_id, defects in rows:
            _, defect = truth(gb_id, None)
            if defect is not None and f'"{defect}"' in defects:
                found.add(defect)
        return found

    demo.wait_for("inspection to name at least three injected faults", lambda: len(named()) >= 3, 240)
    database.dispose()


async def test_the_map_shows_the_city_and_a_click_plays_live_video(demo: Demo) -> None:
    """The newcomer's first minute in Chromium: log in with the printed login, see the city on
    the map, open a camera and watch it play."""
    from playwright.async_api import async_playwright
    from tests.support.browser import ARGS, CHROMIUM

    match = re.search(r"log in as (\S+) with the password (\S+)", demo.printed())
    assert match is not None
    points = demo.get("/map/points").json()
    healthy = next(
        p[0]
        for p in points["points"]
        if points["states"][p[3]] == "online" and truth(p[0], None) == (False, None) and "RTSP" not in p[0]
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 768})
            outside: list[str] = []

            async def guard(route):  # type: ignore[no-untyped-def]
                url = route.request.url
                if url.startswith(("http://127.", "ws://127.", "blob:", "data:")):
                    await route.continue_()
                else:
                    outside.append(url)
                    await route.abort()

            await page.route("**/*", guard)
            await page.goto(f"{demo.url}/login")
            await page.fill("#login-username", match[1])
            await page.fill("#login-password", match[2])
            await page.keyboard.press("Enter")
            await page.wait_for_url(f"{demo.url}/")
            await page.wait_for_function("() => window.xueliangMap && window.xueliangMap.renderedAt > 0")
            shown = await page.evaluate("window.xueliangMap")
            assert shown["points"] == len(points["points"]) > CHANNELS * 0.9 and shown["clusters"] > 0
            await page.fill("#map-search", healthy)
            await page.get_by_text(f"· {healthy}").click()
            panel = page.locator("[data-testid=channel-panel]")
            await panel.wait_for()
            await page.wait_for_function(
                "() => { const v = document.querySelector('[data-testid=channel-panel] video');"
                " return v && v.currentTime > 0.5; }",
                timeout=60_000,
            )
            assert not outside, f"requests left the machine: {outside}"
        finally:
            await browser.close()


def test_ctrl_c_stops_cleanly_and_a_second_run_resumes(demo: Demo, tmp_path: Path) -> None:
    assert _stop(demo.process) == 0
    assert "demo stopped" in demo.printed()
    process, url = _start(demo.data_dir, demo.output)
    try:
        deadline = time.monotonic() + 120
        while (
            "resuming the city" not in demo.printed()
            or "log in as" not in demo.printed().split("resuming")[-1]
        ):
            assert process.poll() is None and time.monotonic() < deadline, demo.printed()[-3000:]
            time.sleep(1)
        login = re.findall(r"log in as (\S+) with the password (\S+)", demo.printed())
        assert login[0] == login[-1]  # the same administrator, the same password
    finally:
        _stop(process)
