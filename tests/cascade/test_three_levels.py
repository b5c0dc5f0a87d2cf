"""County → city → province: three ``xueliang serve`` processes on one machine, cascaded over
GB/T 28181 and configured through the API, with a ``xueliang sim`` fleet under the county.

The county shares its district with the city (SIP over UDP); the city shares with the
province (SIP over TCP) only its 天网 channels plus one more under an ID the province
chose. The province sees exactly those, in the right tree; a snapshot asked of the
province travels down the chain to a simulated camera and comes back as a real JPEG; the
province inspects and reports on them like on its own; stopping the county turns its
channels offline at the city and at the province."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from tests.support.platform import RunningPlatform, running_platform

pytestmark = pytest.mark.slow

PROVINCE = ("34000000002000000001", "3400000000")
CITY = ("34020000002000000001", "3402000000")
COUNTY = ("34022300002000000001", "3402230000")
CHANNELS = [f"3402230000132{n:07d}" for n in range(1, 7)]  # the sim's 2 NVRs × 3 cameras
SKYNET = CHANNELS[:3]  # the city puts these under 天网 and shares them by that rule
LISTED = CHANNELS[4]  # shared explicitly, under the ID the province gave it
PROVINCE_ID_OF_LISTED = "34000000001310000001"
COMMON = {"inspection_interval": "0", "cascade_poll_interval": "1", "keepalive_interval": "5"}


def cli(platform: RunningPlatform, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xueliang", *args, "--data-dir", str(platform.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def uplink(platform: RunningPlatform, upper: RunningPlatform, sip: tuple[str, str], **fields: object) -> None:
    body = {"sip_id": sip[0], "domain": sip[1], "host": "127.0.0.1", "port": upper.sip_port, **fields}
    response = httpx.post(f"{platform.api}/cascade/uplinks", json=body, headers=platform.headers, timeout=10)
    assert response.status_code == 201, response.text


def channels(platform: RunningPlatform, **filters: str) -> dict[str, dict]:
    return {c["id"]: c for c in platform.get("/channels", page_size=1000, **filters)["items"]}


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[RunningPlatform, RunningPlatform, RunningPlatform]]:
    with ExitStack() as stack:
        levels = []
        for name, (sip_id, domain), extra in (
            ("province", PROVINCE, {"media_transport": "TCP-passive"}),
            ("city", CITY, {}),
            ("county", COUNTY, {}),
        ):
            (tmp_path / name).mkdir()
            levels.append(
                stack.enter_context(
                    running_platform(tmp_path / name, sip_id=sip_id, sip_domain=domain, **COMMON, **extra)
                )
            )
        province, city, county = levels
        regions = tmp_path / "regions.csv"
        regions.write_text("civil_code,name\n34,安徽省\n3402,芜湖市\n340223,南陵县\n", encoding="utf-8")
        cli(county, "import", "regions", str(regions))
        sim = subprocess.Popen(
            [sys.executable, "-m", "xueliang", "sim", "--platform", f"127.0.0.1:{county.sip_port}",
             "--platform-id", COUNTY[0], "--domain", COUNTY[1], "--devices", "2", "--channels", "3",
             "--civil-code", "340223", "--keepalive", "5"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "sim.log").open("w"),
        )  # fmt: skip
        stack.callback(sim.wait, 20)
        stack.callback(sim.terminate)
        yield province, city, county


def test_province_sees_what_the_city_shares_and_views_it_down_the_chain(chain):
    province, city, county = chain
    county.wait_for(
        lambda: len(channels(county, status="online")) == 6, 60, "the sim's cameras at the county"
    )

    # county → city: the whole district, over UDP
    uplink(county, city, CITY, password="12345678", keepalive_interval=1, rules=[{"region": "340223"}])
    city.wait_for(lambda: len(channels(city, status="online")) == 6, 30, "the county's cameras at the city")
    assert {c["device_id"] for c in channels(city).values()} == {COUNTY[0]}
    assert city.get(f"/devices/{COUNTY[0]}")["kind"] == "platform"
    assert {r["civil_code"]: r["name"] for r in city.get("/regions")["items"]}["340223"] == "南陵县"

    # the city files three of them under 天网, then shares 天网 and one more with the province over TCP
    rows = "".join(f"{gb},路口{gb[-1]},340223,天网,1\n" for gb in SKYNET)
    csv = city.data_dir.parent / "skynet.csv"
    csv.write_text("gb_id,name,civil_code,organization,point_class\n" + rows, encoding="utf-8")
    cli(city, "import", "channels", str(csv))
    uplink(
        city,
        province,
        PROVINCE,
        transport="tcp",
        password="12345678",
        keepalive_interval=1,
        rules=[{"organization": "天网"}],
        channels=[LISTED],
        id_map={LISTED: PROVINCE_ID_OF_LISTED},
    )
    expected = {*SKYNET, PROVINCE_ID_OF_LISTED}
    province.wait_for(lambda: set(channels(province)) == expected, 30, "the city's share at the province")
    seen = channels(province)
    assert all(c["status"] == "online" and c["device_id"] == CITY[0] for c in seen.values())
    assert seen[PROVINCE_ID_OF_LISTED]["civil_code"] == "340223"
    assert city.get(f"/cascade/uplinks/{PROVINCE[0]}")["status"]["state"] == "registered"

    # the tree: 安徽省 / 芜湖市 / 南陵县 holding the listed camera; 共享资源 / 天网 holding the rest
    tree = province.get(f"/cascade/downlinks/{CITY[0]}/tree", channels="true")
    assert tree["repairs"]["counts"] == {"duplicates": 0, "orphans": 0, "cycles": 0}
    by_id = {root["id"]: root for root in tree["roots"]}
    assert set(by_id) == {"34", "34020000002150000001"}
    county_node = by_id["34"]["children"][0]["children"][0]
    assert (by_id["34"]["name"], county_node["id"], county_node["name"]) == ("安徽省", "340223", "南陵县")
    assert [c["id"] for c in county_node["children"]] == [PROVINCE_ID_OF_LISTED]
    [skynet] = by_id["34020000002150000001"]["children"]
    assert skynet["name"] == "天网" and skynet["kind"] == "virtual_org"
    assert sorted(c["id"] for c in skynet["children"]) == SKYNET

    # a snapshot at the province: INVITE province → city → county → camera, PS over RTP back up
    response = httpx.get(
        f"{province.api}/channels/{PROVINCE_ID_OF_LISTED}/snapshot",
        params={"timeout": 30},
        headers=province.headers,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape[0] >= 240 and picture.std() > 5
    assert "opens a live view of 34022300001320000005 (as 34000000001310000001)" in city.log()
    assert "opens a live view of 34022300001320000005" in county.log()

    # inspectable and reportable like any other channel
    finding = httpx.post(
        f"{province.api}/channels/{PROVINCE_ID_OF_LISTED}/inspect", headers=province.headers, timeout=60
    ).json()
    assert finding["output"] == "ok", finding
    assert province.get("/stats/summary", region="340223")["channels"] == 4

    # stopping the county: offline at the city, and (notified) at the province
    county.process.terminate()
    county.process.wait(timeout=30)
    city.wait_for(lambda: not channels(city, status="online"), 30, "the county's cameras offline at the city")
    province.wait_for(lambda: not channels(province, status="online"), 30, "and at the province")
    assert set(channels(province, status="offline")) == expected
