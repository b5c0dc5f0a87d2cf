"""SimDevice driven with an explicit clock, paired in memory with a stub platform."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sim.stub_platform import DOMAIN, PLATFORM_ID, StubPlatform, Wire

from xueliang.gb28181 import (
    CatalogQuery,
    CatalogResponse,
    DeviceControl,
    DeviceInfoQuery,
    DeviceStatusQuery,
    Keepalive,
    RecordInfoQuery,
    encode_manscdp,
    parse_authorization,
    parse_manscdp,
    verify_response,
)
from xueliang.sim import DeviceState, Fault, SimConfig, SimContext, SimDevice, SimPort

PLATFORM = ("127.0.0.1", 5060)
T0 = 1000.0


def make(
    faults: Fault = Fault.NONE, *, devices: int = 1, platform: StubPlatform | None = None, **config: Any
) -> tuple[Wire, list[SimDevice], SimContext]:
    settings: dict[str, Any] = {"platform": PLATFORM, "devices": devices, "channels": 10, **config}
    ctx = SimContext.create(SimConfig(**settings))
    port = SimPort(ctx, "127.0.0.1", 40000, PLATFORM, token="dev")
    wire = Wire(port, platform or StubPlatform(), now=T0)
    devices = [SimDevice(ctx, i, faults) for i in range(devices)]
    for device in devices:
        port.add(device)
        port.start(device, wire.now)
    return wire, devices, ctx


def registered(wire: Wire, devices: list[SimDevice]) -> None:
    wire.advance(wire.now + 1)
    assert all(d.state is DeviceState.REGISTERED for d in devices)


# ---------------------------------------------------------------------- registration (9.1)


def test_registers_with_digest_challenge() -> None:
    wire, [device], ctx = make()
    wire.advance(T0 + 1)
    first, second = wire.platform.register_requests
    assert first.get("Authorization") is None
    assert first.uri == f"sip:{PLATFORM_ID}@{DOMAIN}"
    assert first.from_.uri.user == first.to.uri.user == device.device_id
    assert str(first.to.uri) == f"sip:{device.device_id}@{DOMAIN}"
    assert str(first.contact.uri) == f"sip:{device.device_id}@127.0.0.1:40000"
    assert first.expires == 3600 and first.get("X-GB-ver") == "3.0"
    # the second carries credentials the real digest module accepts, on the same Call-ID
    credentials = parse_authorization(second.require_header("Authorization"))
    assert credentials.username == device.device_id and credentials.realm == DOMAIN
    assert verify_response(credentials, method="REGISTER", password="12345678")
    assert second.call_id == first.call_id and second.cseq.number == first.cseq.number + 1
    assert device.device_id in wire.platform.registered
    assert device.state is DeviceState.REGISTERED
    stats = ctx.stats.as_dict()
    assert stats["registered"] == stats["online"] == 1
    assert stats["registers_sent"] == 2 and stats["challenges"] == 1
    assert stats["register_p50_ms"] is not None


def test_device_ids_follow_the_city_plan() -> None:
    from xueliang.demo.city import city_channels

    wire, devices, ctx = make(devices=3, channels=4)
    city = list(city_channels(12, per_device=4))
    assert [d.device_id for d in devices] == [c.device_gb_id for c in city[::4]]
    assert [i.device_id for i in ctx.plan.catalog(1)] == [c.gb_id for c in city[4:8]]
    for index in range(3):
        assert ctx.plan.index_of(ctx.plan.device_id(index)) == index
        assert ctx.plan.index_of(ctx.plan.channel_id(index, 3)) == index
    assert ctx.plan.index_of("34020000001180009999") is None


def test_civil_code_puts_every_device_in_one_district() -> None:
    _, devices, ctx = make(devices=5, civil_code="340207")
    assert {d.device_id[:6] for d in devices} == {"340207"}
    assert {i.civil_code for i in ctx.plan.catalog(3)} == {"340207"}
    with pytest.raises(ValueError, match="unknown civil code"):
        make(civil_code="999999")


def test_wrong_password_is_refused_and_retried_no_sooner_than_the_retry_interval() -> None:
    wire, [device], ctx = make(Fault.WRONG_PASSWORD, register_retry=60)
    wire.advance(T0 + 1)
    assert wire.platform.rejected[device.device_id] == 1
    assert device.state is DeviceState.IDLE and ctx.stats.register_failures == 1
    assert ctx.stats.registered == 0
    sent = len(wire.platform.register_requests)
    wire.advance(T0 + 59)
    assert len(wire.platform.register_requests) == sent  # GB/T 28181 9.1: wait ≥ 60 s
    wire.advance(T0 + 62)
    assert len(wire.platform.register_requests) == sent + 2
    assert wire.platform.rejected[device.device_id] == 2


def test_registration_time_out_is_retried_later() -> None:
    wire, [device], ctx = make(register_retry=60)
    wire.drop_to_platform = True
    wire.advance(T0 + 40)  # timer F: 64 × T1 = 32 s
    assert device.state is DeviceState.IDLE and ctx.stats.register_failures == 1
    wire.drop_to_platform = False
    wire.advance(T0 + 100)
    assert device.state is DeviceState.REGISTERED


def test_refreshes_the_registration_before_it_expires() -> None:
    wire, [device], ctx = make(register_expires=120, keepalive=30)
    wire.advance(T0 + 1)
    assert len(wire.platform.register_requests) == 2
    wire.advance(T0 + 89)
    assert len(wire.platform.register_requests) == 2
    wire.advance(T0 + 91)  # refreshed at 120 - 30 s
    requests = wire.platform.register_requests
    assert len(requests) == 4
    assert len({r.call_id for r in requests}) == 1  # same Call-ID, rising CSeq (RFC 3261 §10.2.4)
    assert [r.cseq.number for r in requests] == [1, 2, 3, 4]
    assert device.state is DeviceState.REGISTERED and ctx.stats.registered == 1
    assert ctx.stats.registrations == 2
    wire.advance(T0 + 300)
    assert wire.platform.keepalives[device.device_id] >= 9  # keepalives went on throughout


def test_offline_devices_never_register() -> None:
    wire, [device], _ = make(Fault.OFFLINE)
    wire.advance(T0 + 600)
    assert wire.platform.register_requests == [] and device.state is DeviceState.IDLE
    assert device.deadline is None


def test_unregisters_on_stop_when_asked() -> None:
    wire, [device], ctx = make()
    registered(wire, [device])
    device.stop(wire.now, unregister=True)
    wire.port.reschedule(device)
    wire.advance(wire.now + 1)
    last = wire.platform.register_requests[-1]
    assert last.expires == 0 and last.get("Authorization") is not None
    assert wire.platform.unregistered[device.device_id] == 1
    assert device.state is DeviceState.STOPPED
    assert ctx.stats.unregistrations == 1 and ctx.stats.registered == 0


def test_stops_silently_by_default() -> None:
    wire, [device], _ = make()
    registered(wire, [device])
    sent = len(wire.platform.register_requests)
    device.stop(wire.now)
    wire.advance(wire.now + 300)
    assert len(wire.platform.register_requests) == sent and device.state is DeviceState.STOPPED
    assert device.device_id in wire.platform.registered  # the platform sees it drop by itself


# ---------------------------------------------------------------------- keepalive (9.6)


def test_keepalives_start_at_a_random_phase_then_every_interval() -> None:
    wire, devices, _ = make(devices=20, keepalive=60)
    wire.advance(T0 + 1)
    wire.advance(T0 + 400)
    firsts = []
    for device in devices:
        times = wire.platform.keepalive_times[device.device_id]
        assert 0 < times[0] - T0 <= 61
        assert all(b - a == pytest.approx(60) for a, b in zip(times, times[1:], strict=False))
        firsts.append(times[0])
    assert len({round(t) for t in firsts}) > 10  # spread over the interval, not in one second
    request = next(m for m in wire.platform.messages if b"Keepalive" in m.body)
    assert request.uri == f"sip:{PLATFORM_ID}@{DOMAIN}"
    assert request.get("Content-Type") == "Application/MANSCDP+xml"
    command = parse_manscdp(request.body).command
    assert isinstance(command, Keepalive) and command.status == "OK"
    assert command.device_id == request.from_.uri.user


def test_refused_keepalive_means_register_again() -> None:
    wire, [device], ctx = make(keepalive=10)
    registered(wire, [device])
    wire.platform.registered.clear()  # the platform restarted and forgot the device
    wire.advance(wire.now + 11)
    assert ctx.stats.keepalive_failures == 1
    assert device.state is DeviceState.REGISTERED
    assert device.device_id in wire.platform.registered
    assert len(wire.platform.register_requests) == 4


def test_unanswered_keepalives_three_times_mean_register_again() -> None:
    wire, [device], ctx = make(keepalive=60, register_retry=5)
    registered(wire, [device])
    wire.drop_to_platform = True
    wire.advance(wire.now + 60 * 3 + 40)
    assert ctx.stats.keepalive_failures == 3
    assert device.state in (DeviceState.REGISTERING, DeviceState.IDLE)
    assert not device.online and ctx.stats.online == 0
    wire.drop_to_platform = False
    wire.advance(wire.now + 60)
    assert device.state is DeviceState.REGISTERED and ctx.stats.online == 1


# ---------------------------------------------------------------------- catalog (9.5, Appendix M)


def test_catalog_in_parts_each_after_the_previous_200() -> None:
    platform = StubPlatform(hold_parts=True)
    wire, [device], ctx = make(platform=platform, channels=10)
    registered(wire, [device])
    query = platform.query(device.device_id, CatalogQuery(77, device.device_id), wire.now)
    wire.pump()
    assert (query, 200) in platform.answers  # 200 to the query first
    received: list[CatalogResponse] = []
    for _ in range(3):
        parts = platform.parts[(device.device_id, 77)]
        assert len(parts) == len(received) + 1  # one part in flight, no more
        wire.advance(wire.now + 5)  # waiting does not release the next part
        assert len(platform.parts[(device.device_id, 77)]) == len(received) + 1
        command = parts[-1].command
        assert isinstance(command, CatalogResponse)
        received.append(command)
        platform.answer_held(wire.now)
        wire.pump()
    assert [len(p.items) for p in received] == [4, 4, 2]  # 4 items a UDP message (≈ 2.5 KB)
    assert [p.num for p in received] == [4, 4, 2]
    assert {p.sum_num for p in received} == {10} and {p.sn for p in received} == {77}
    ids = [i.device_id for p in received for i in p.items]
    assert ids == [ctx.plan.channel_id(0, k) for k in range(10)]
    item = received[0].items[0]
    assert item.parent_id == device.device_id and item.civil_code == device.device_id[:6]
    assert item.name and item.status == "ON"
    assert ctx.stats.catalogs_done == 1 and device.job is None
    assert all(len(m.raw) < 4000 for m in platform.parts[(device.device_id, 77)])


def test_catalog_part_size_is_configurable() -> None:
    wire, [device], _ = make(channels=10, catalog_part_size=100)
    registered(wire, [device])
    wire.platform.query(device.device_id, CatalogQuery(5, device.device_id), wire.now)
    wire.pump()
    assert [len(m.command.items) for m in wire.platform.parts[(device.device_id, 5)]] == [10]


def test_catalog_of_no_channels_is_one_empty_part() -> None:
    wire, [device], _ = make(channels=0)
    registered(wire, [device])
    wire.platform.query(device.device_id, CatalogQuery(5, device.device_id), wire.now)
    wire.pump()
    [part] = wire.platform.parts[(device.device_id, 5)]
    assert part.command.sum_num == 0 and part.command.items == ()


def test_fragmented_catalog_is_tiny_out_of_order_and_has_a_duplicate() -> None:
    wire, [device], ctx = make(Fault.FRAGMENTED, channels=8)
    registered(wire, [device])
    wire.platform.query(device.device_id, CatalogQuery(9, device.device_id), wire.now)
    wire.pump()
    parts = [m.command for m in wire.platform.parts[(device.device_id, 9)]]
    assert all(len(p.items) == 1 for p in parts)
    ids = [p.items[0].device_id for p in parts]
    assert len(ids) == 9 and len(set(ids)) == 8  # every channel, one of them twice
    assert ids != sorted(ids)  # out of order
    assert set(ids) == {ctx.plan.channel_id(0, k) for k in range(8)}
    assert {p.sum_num for p in parts} == {8}
    assert wire.platform.catalog(device.device_id, 9)["total"] == 8


def test_slow_catalog_waits_between_parts() -> None:
    wire, [device], _ = make(Fault.SLOW_CATALOG, channels=10, slow_catalog_delay=3.0)
    registered(wire, [device])
    wire.platform.query(device.device_id, CatalogQuery(9, device.device_id), wire.now)
    wire.advance(wire.now + 20)
    times = wire.platform.part_times[(device.device_id, 9)]
    assert len(times) == 3
    assert all(b - a >= 3.0 for a, b in zip(times, times[1:], strict=False))
    assert len(wire.platform.catalog(device.device_id, 9)["items"]) == 10


def test_catalog_aborted_when_a_part_is_refused() -> None:
    platform = StubPlatform(hold_parts=True)
    wire, [device], ctx = make(platform=platform, channels=10)
    registered(wire, [device])
    platform.query(device.device_id, CatalogQuery(3, device.device_id), wire.now)
    wire.pump()
    platform.answer_held(wire.now, status=400)
    wire.advance(wire.now + 10)
    assert len(platform.parts[(device.device_id, 3)]) == 1
    assert ctx.stats.catalogs_aborted == 1 and device.job is None


# ---------------------------------------------------------------------- charset (6.10)


def test_gb2312_devices_send_gb2312_bodies() -> None:
    wire, [gb, utf] = make(devices=2)[:2]
    gb.faults = Fault.GB2312
    registered(wire, [gb, utf])
    for device in (gb, utf):
        wire.platform.query(device.device_id, CatalogQuery(4, device.device_id), wire.now)
    wire.advance(wire.now + 120)
    raw_gb = wire.platform.parts[(gb.device_id, 4)][0].raw
    raw_utf = wire.platform.parts[(utf.device_id, 4)][0].raw
    assert raw_gb.startswith(b'<?xml version="1.0" encoding="GB2312"?>')
    assert raw_utf.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    name = wire.platform.parts[(gb.device_id, 4)][0].command.items[0].name
    assert name.encode("gb2312") in raw_gb and name.encode("utf-8") not in raw_gb
    assert wire.platform.parts[(gb.device_id, 4)][0].encoding == "gb18030"  # read as GB
    keepalive = next(
        m for m in wire.platform.messages if b"Keepalive" in m.body and m.from_.uri.user == gb.device_id
    )
    assert b'encoding="GB2312"' in keepalive.body


# ---------------------------------------------------------------------- flapping


def test_flapping_device_goes_silent_then_registers_afresh() -> None:
    wire, [device], ctx = make(Fault.FLAPPING, keepalive=30, flap_period=400, flap_silence=200)
    registered(wire, [device])
    while device.state is not DeviceState.SILENT:  # the first flap comes within 200–600 s
        assert wire.now < T0 + 700
        wire.advance(wire.now + 5)
    assert ctx.stats.flaps == 1
    assert ctx.stats.registered == 0
    silent_since = wire.now
    keepalives = wire.platform.keepalives[device.device_id]
    registers = len(wire.platform.register_requests)
    query = wire.platform.query(device.device_id, DeviceInfoQuery(8, device.device_id), wire.now)
    wire.advance(silent_since + 60)
    assert wire.platform.keepalives[device.device_id] == keepalives  # no keepalives
    assert all(request is not query for request, _ in wire.platform.answers)  # nothing answered
    assert device.device_id not in wire.platform.infos
    wire.advance(silent_since + 201)
    assert len(wire.platform.register_requests) > registers  # back, registering afresh
    assert device.state is DeviceState.REGISTERED
    wire.advance(wire.now + 60)
    assert wire.platform.keepalives[device.device_id] > keepalives


# ---------------------------------------------------------------------- other requests


def test_device_info_and_status_answers() -> None:
    wire, [device], ctx = make(channels=10)
    registered(wire, [device])
    wire.platform.query(device.device_id, DeviceInfoQuery(11, device.device_id), wire.now)
    wire.platform.query(device.device_id, DeviceStatusQuery(12, device.device_id), wire.now)
    wire.pump()
    info = wire.platform.infos[device.device_id]
    plan = ctx.plan.device(0)
    assert info.sn == 11 and info.result == "OK" and info.channel == 10
    assert (info.device_name, info.manufacturer, info.model, info.firmware) == (
        plan.name,
        plan.manufacturer,
        plan.model,
        plan.firmware,
    )
    status = wire.platform.statuses[device.device_id]
    assert status.sn == 12 and status.online == "ONLINE" and status.status == "OK"
    assert status.encode == "ON" and status.record == "OFF" and status.device_time


def _status_of(wire: Wire, request: Any) -> int | None:
    return next((status for sent, status in wire.platform.answers if sent is request), None)


def test_requests_the_device_does_not_implement() -> None:
    wire, [device], ctx = make()
    registered(wire, [device])
    platform = wire.platform
    record = platform.query(
        device.device_id,
        RecordInfoQuery(1, device.device_id, "2024-01-01T00:00:00", "2024-01-02T00:00:00"),
        wire.now,
    )
    control = platform.query(device.device_id, DeviceControl(2, device.device_id), wire.now)
    bad = platform.send_raw(
        "MESSAGE", device.device_id, wire.now, body=b"<Query><oops", content_type="Application/MANSCDP+xml"
    )
    unknown = platform.send_raw(
        "MESSAGE",
        device.device_id,
        wire.now,
        body=b'<?xml version="1.0"?><Notify><CmdType>Alarm</CmdType><SN>1</SN>'
        b"<DeviceID>x</DeviceID></Notify>",
    )
    invite = platform.send_raw(
        "INVITE", device.device_id, wire.now, body=b"v=0\r\n", content_type="application/sdp"
    )
    subscribe = platform.send_raw("SUBSCRIBE", device.device_id, wire.now)
    options = platform.send_raw("OPTIONS", device.device_id, wire.now)
    messages = len(platform.messages)
    wire.advance(wire.now + 40)
    assert _status_of(wire, record) == 200  # unimplemented command: 200, then nothing
    assert _status_of(wire, unknown) == 200
    assert _status_of(wire, control) == 200
    assert _status_of(wire, bad) == 400
    assert _status_of(wire, invite) == 404  # live view: a device ID with no Subject names no channel
    assert _status_of(wire, subscribe) == 501
    assert _status_of(wire, options) == 200
    assert not [m for m in platform.messages[messages:] if b"Keepalive" not in m.body]


def test_a_channel_id_reaches_its_device_and_an_unknown_id_gets_404() -> None:
    wire, [device], ctx = make(channels=4)
    registered(wire, [device])
    channel = ctx.plan.channel_id(0, 2)
    wire.platform.query(device.device_id, DeviceStatusQuery(3, channel), wire.now, to=channel)
    wire.pump()
    assert wire.platform.statuses[device.device_id].device_id == channel
    stranger = "34020000001180009999"
    request = wire.platform.query(device.device_id, DeviceStatusQuery(4, stranger), wire.now, to=stranger)
    wire.pump()
    assert _status_of(wire, request) == 404


def test_only_the_platform_is_heard_and_spoken_to() -> None:
    wire, [device], ctx = make()
    registered(wire, [device])
    body = encode_manscdp(DeviceInfoQuery(5, device.device_id), "GB2312")
    forged = (
        f"MESSAGE sip:{device.device_id}@127.0.0.1:40000 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bKforged\r\n"
        f"From: <sip:{PLATFORM_ID}@{DOMAIN}>;tag=x\r\nTo: <sip:{device.device_id}@{DOMAIN}>\r\n"
        "Call-ID: forged@10.9.9.9\r\nCSeq: 1 MESSAGE\r\nContact: <sip:x@10.9.9.9:5070>\r\n"
        f"Content-Type: Application/MANSCDP+xml\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    wire.port.receive(forged, ("127.0.0.2", 5060), wire.now)  # not the platform: ignored
    assert ctx.stats.dropped_foreign == 1 and wire.port.datagrams_to_send(wire.now) == []
    wire.port.receive(forged, PLATFORM, wire.now)  # from the platform, but Via names 10.9.9.9
    out = wire.port.datagrams_to_send(wire.now)
    assert out and all(addr == PLATFORM for _, addr in out)


def test_fault_selection_is_deterministic_and_close_to_the_fractions() -> None:
    from xueliang.sim import FaultSpec

    spec = FaultSpec.parse("offline=0.1, gb2312=0.3,wrong-password=0.01")
    picks = [spec.faults_for(7, i) for i in range(20_000)]
    assert picks == [spec.faults_for(7, i) for i in range(20_000)]
    assert picks != [spec.faults_for(8, i) for i in range(20_000)]
    share = {f: sum(bool(p & f) for p in picks) / len(picks) for f in (Fault.OFFLINE, Fault.GB2312)}
    assert share[Fault.OFFLINE] == pytest.approx(0.1, abs=0.01)
    assert share[Fault.GB2312] == pytest.approx(0.3, abs=0.015)
    assert str(FaultSpec.parse("")) == ""
    for bad in ("nosuch=0.1", "offline", "offline=2", "offline=x"):
        with pytest.raises(ValueError):
            FaultSpec.parse(bad)


def test_stop_while_registering_still_unregisters() -> None:
    wire, [device], _ = make()
    wire.port.handle_timer(wire.now)  # the first REGISTER leaves ...
    wire.platform.receive(wire.port.datagrams_to_send(wire.now)[0][0], ("127.0.0.1", 40000), "UDP", wire.now)
    wire.port.receive(wire.platform.datagrams_to_send(wire.now)[0][0], PLATFORM, wire.now)  # ... 401
    assert device.state is DeviceState.CHALLENGED  # the authorised REGISTER is in flight
    device.stop(wire.now, unregister=True)
    wire.advance(wire.now + 1)
    assert device.state is DeviceState.STOPPED
    assert wire.platform.unregistered[device.device_id] == 1
    assert device.device_id not in wire.platform.registered
