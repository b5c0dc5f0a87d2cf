"""``xueliang serve`` as a lower platform, against a fake upper platform on loopback built from
the project's own SIP core: refused registrations retried with back-off, a dropped TCP
connection re-registered, queries answered, live view relayed (with and without ``y=``,
UDP and TCP), PTZ relayed, unshared channels refused. A ``xueliang sim`` device behind the
lower platform provides the channels and their video."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from tests.cascade.fake_upper import FakeUpper
from tests.support.platform import RunningPlatform, running_platform

from xueliang.gb28181 import (
    CatalogQuery,
    DeviceControl,
    DeviceInfoQuery,
    DeviceStatusQuery,
    MediaDescription,
    PtzCommand,
    SessionDescription,
    parse_sdp,
)
from xueliang.media import RtpPsSource

LOWER, LOWER_DOMAIN = "34022300002000000001", "3402230000"
UPPER, UPPER_DOMAIN, PASSWORD = "34020000002000000001", "3402000000", "upper-secret"
SHARED = "34022300001320000001"  # the sim's first channel: shared explicitly
HIDDEN = "34022300001320000002"  # its second: not shared
MAPPED = "34020000001320000077"  # the ID the upper platform gives SHARED


@pytest.fixture(scope="module")
def lower(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The lower platform with one simulated NVR (two cameras) registered to it."""
    tmp = tmp_path_factory.mktemp("lower")
    with running_platform(
        tmp, sip_id=LOWER, sip_domain=LOWER_DOMAIN, inspection_interval="0", cascade_poll_interval="1"
    ) as platform:
        sim = subprocess.Popen(
            [sys.executable, "-m", "xueliang", "sim", "--platform", f"127.0.0.1:{platform.sip_port}",
             "--platform-id", LOWER, "--domain", LOWER_DOMAIN, "--devices", "1", "--channels", "2",
             "--civil-code", "340223", "--keepalive", "5"],
            stdout=subprocess.DEVNULL, stderr=(tmp / "sim.log").open("w"),
        )  # fmt: skip
        try:
            platform.wait_for(
                lambda: platform.get("/channels", status="online")["total"] == 2, 60, "the sim's two channels"
            )
            yield platform
        finally:
            sim.terminate()
            sim.wait(timeout=20)


@pytest.fixture
async def upper() -> AsyncIterator[FakeUpper]:
    async with FakeUpper(platform_id=UPPER, domain=UPPER_DOMAIN, password=PASSWORD) as fake:
        yield fake


def configure(lower: RunningPlatform, upper: FakeUpper, **fields: object) -> dict:
    body = {
        "sip_id": UPPER,
        "domain": UPPER_DOMAIN,
        "host": "127.0.0.1",
        "port": upper.address[1],
        "password": PASSWORD,
        "keepalive_interval": 1,
        "channels": [SHARED],
        "id_map": {SHARED: MAPPED},
        **fields,
    }
    response = httpx.post(f"{lower.api}/cascade/uplinks", json=body, headers=lower.headers, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def uplink(lower: RunningPlatform) -> Iterator[None]:
    """Whatever a test configures is removed afterwards (the lower platform is shared)."""
    yield
    httpx.delete(f"{lower.api}/cascade/uplinks/{UPPER}", headers=lower.headers, timeout=10)


def status(lower: RunningPlatform) -> dict:
    return lower.get(f"/cascade/uplinks/{UPPER}")["status"]


async def test_refused_registration_is_retried_with_backoff_then_recovers(lower, upper, uplink):
    upper.stub.refuse_with = 404
    configure(lower, upper)
    await upper.until(lambda: status(lower)["failures"] >= 2, 30, "two refused attempts")
    state = status(lower)
    assert state["state"] == "failing" and "404" in state["last_error"] and state["next_attempt_at"]
    attempts = len(upper.stub.register_requests)
    assert attempts == state["failures"]  # one REGISTER an attempt: no hammering in between
    upper.stub.refuse_with = 403
    await upper.until(lambda: "403" in (status(lower)["last_error"] or ""), 30, "a 403")
    assert status(lower)["failures"] > attempts
    upper.stub.refuse_with = None
    await upper.until(lambda: status(lower)["state"] == "registered", 40, "registration once accepted")
    state = status(lower)
    assert state["failures"] == 0 and state["last_error"] is None and state["expires"] == 3600
    await upper.until(lambda: upper.stub.keepalives[LOWER] >= 2, 10, "keepalives")
    assert lower.get(f"/cascade/uplinks/{UPPER}")["shared"] == 1


async def test_a_dropped_tcp_connection_is_registered_again(lower, upper, uplink):
    configure(lower, upper, transport="tcp")
    await upper.until(lambda: status(lower)["state"] == "registered", 20, "registration over TCP")
    assert upper.stub.registered[LOWER].transport == "TCP"
    first = upper.stub.registered[LOWER].addr
    assert upper.drop_connections() == 1
    await upper.until(lambda: status(lower)["state"] == "failing", 10, "the drop noticed")
    assert "dropped" in status(lower)["last_error"]
    await upper.until(
        lambda: status(lower)["state"] == "registered" and upper.stub.registered[LOWER].addr != first,
        30,
        "registration on a new connection",
    )
    await upper.until(lambda: upper.stub.keepalives[LOWER] >= 1, 10, "keepalives on it")


def offer(receiver_ip: str, port: int, *, transport: str = "UDP", ssrc: str | None = None) -> bytes:
    if transport == "UDP":
        media = MediaDescription(port=port)
    else:
        setup = "passive" if transport == "TCP-passive" else "active"
        media = MediaDescription(port=port, transport="TCP/RTP/AVP", setup=setup, connection="new")
    return SessionDescription(UPPER, receiver_ip, (media,), session_name="Play", ssrc=ssrc).to_bytes()


async def watch(upper: FakeUpper, channel: str, transport: str, ssrc: str | None) -> None:
    """INVITE ``channel`` with a real receiver, check frames arrive with the answered SSRC, BYE."""
    source = RtpPsSource(no_media_timeout=15)
    try:
        address = await source.prepare(transport)  # type: ignore[arg-type]
        invite, response = await upper.invite(
            LOWER, channel, offer(address.ip, address.port, transport=transport, ssrc=ssrc)
        )
        assert response.status == 200, response.reason
        answer = parse_sdp(response.body)
        assert answer.ssrc and (ssrc is None or answer.ssrc == ssrc) and answer.video.direction == "sendonly"
        dialog = upper.ack(invite, response, LOWER)
        remote = (answer.connection_address, answer.video.port) if transport == "TCP-active" else None
        source.start(answer.ssrc, remote)
        frames = source.frames()
        first = await anext(frames)
        assert first.keyframe and len(first.data) > 1000
        bye = await upper.bye(dialog, LOWER)
        assert bye.status == 200
    finally:
        await source.close()


async def test_queries_live_view_and_ptz_from_the_upper_platform(lower, upper, uplink):
    configure(lower, upper)
    await upper.until(lambda: LOWER in upper.stub.registered, 20, "registration")

    sn = upper.stub.next_sn()
    assert (await upper.message(LOWER, CatalogQuery(sn, LOWER))).status == 200
    await upper.until(lambda: upper.stub.catalog(LOWER, sn)["total"] == 4, 10, "the catalog")
    items = upper.stub.catalog(LOWER, sn)["items"]
    assert list(items) == ["34", "3402", "340223", MAPPED]  # only the shared channel, by its mapped ID
    assert items[MAPPED].parent_id == "340223" and items[MAPPED].status == "ON"

    sn = upper.stub.next_sn()
    await upper.message(LOWER, DeviceInfoQuery(sn, LOWER))
    await upper.until(lambda: LOWER in upper.stub.infos, 10, "DeviceInfo")
    assert upper.stub.infos[LOWER].channel == 1 and upper.stub.infos[LOWER].result == "OK"
    await upper.message(LOWER, DeviceStatusQuery(upper.stub.next_sn(), LOWER))
    await upper.until(lambda: LOWER in upper.stub.statuses, 10, "DeviceStatus")
    assert upper.stub.statuses[LOWER].online == "ONLINE"

    # PTZ: relayed for the shared channel (by the ID the upper platform knows), refused otherwise
    left = PtzCommand.from_hex("A50F01021F0000D6")
    assert (
        await upper.message(LOWER, DeviceControl(upper.stub.next_sn(), MAPPED, left), to=MAPPED)
    ).status == 200
    assert (
        await upper.message(LOWER, DeviceControl(upper.stub.next_sn(), HIDDEN, left), to=HIDDEN)
    ).status == 404

    # live view: not shared → 404; a recording → 488; without y= → an SSRC chosen and used
    _, refused = await upper.invite(LOWER, HIDDEN, offer("127.0.0.1", 40000, ssrc="0340200001"))
    assert refused.status == 404
    _, refused = await upper.invite(LOWER, SHARED, offer("127.0.0.1", 40000, ssrc="0340200001"))
    assert refused.status == 404  # its own ID is not the one this upper platform uses
    playback = SessionDescription(
        UPPER, "127.0.0.1", (MediaDescription(port=40000),), session_name="Playback"
    )
    _, refused = await upper.invite(LOWER, MAPPED, playback.to_bytes())
    assert refused.status == 488
    _, cancelled = await upper.invite(
        LOWER, MAPPED, offer("127.0.0.1", 40000, ssrc="0340200009"), cancel=True
    )
    assert cancelled.status == 487  # cancelled while the channel was still being opened
    await upper.until(lambda: "cancelled the live view of" in lower.log(), 10, "the relay given up")
    await watch(upper, MAPPED, "UDP", None)
    await watch(upper, MAPPED, "TCP-passive", "0340200002")
    await watch(upper, MAPPED, "TCP-active", "0340200003")
    await upper.until(
        lambda: lower.get(f"/cascade/uplinks/{UPPER}")["relays"] == 0, 10, "relays ended by BYE"
    )
    assert "no usable y= SSRC" in lower.log()
