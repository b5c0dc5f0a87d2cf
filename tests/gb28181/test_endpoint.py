"""Two sans-I/O endpoints against each other in memory: loss, retransmission, timeouts."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from xueliang.gb28181 import (
    CONTENT_TYPE,
    Dialog,
    Keepalive,
    MalformedMessage,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    SipEndpoint,
    SipRequest,
    TransactionStateError,
    TransactionTimedOut,
    encode_manscdp,
    make_cancel,
    parse_manscdp,
    parse_message,
)
from xueliang.gb28181.events import EndpointEvent
from xueliang.gb28181.transaction import State

DATA = Path(__file__).parent / "data"
PLATFORM = ("10.0.0.1", 5060)
DEVICE = ("10.0.0.2", 5060)


class Net:
    """A lossy in-memory network between a platform and a device endpoint."""

    def __init__(self, transport: str = "UDP") -> None:
        self.platform = SipEndpoint(*PLATFORM, token="p")
        self.device = SipEndpoint(*DEVICE, token="d")
        self.transport = transport
        self.now = 0.0
        self.drop: Callable[[bytes, tuple[str, int]], bool] = lambda data, dest: False
        self.log: list[tuple[float, tuple[str, int], bytes]] = []

    def pump(self) -> None:
        for _ in range(100):
            moved = False
            for source, sender in ((PLATFORM, self.platform), (DEVICE, self.device)):
                for data, dest, transport in sender.datagrams_to_send(self.now):
                    moved = True
                    self.log.append((self.now, dest, data))
                    if self.drop(data, dest):
                        continue
                    target = self.device if dest == DEVICE else self.platform
                    assert dest in (DEVICE, PLATFORM)
                    target.receive(data, source, transport, self.now)
            if not moved:
                return

    def run_until(self, end: float) -> None:
        """Advance time timer by timer up to ``end``, delivering traffic as it goes."""
        self.pump()
        while True:
            timers = (self.platform.get_timer(), self.device.get_timer())
            deadlines = [t for t in timers if t is not None]
            if not deadlines or min(deadlines) > end:
                self.now = end
                return
            self.now = max(self.now, min(deadlines))
            self.platform.handle_timer(self.now)
            self.device.handle_timer(self.now)
            self.pump()

    def sent(self, dest: tuple[str, int], start: bytes) -> list[float]:
        return [t for t, d, data in self.log if d == dest and data.startswith(start)]


def events(endpoint: SipEndpoint) -> list[EndpointEvent]:
    out = []
    while (event := endpoint.next_event()) is not None:
        out.append(event)
    return out


def keepalive_request(net: Net) -> SipRequest:
    body = encode_manscdp(Keepalive(1, "34020000001320000001"))
    return net.device.make_request(
        "MESSAGE", "sip:34020000002000000001@3402000000",
        from_="<sip:34020000001320000001@3402000000>",
        to="<sip:34020000002000000001@3402000000>",
        transport=net.transport, body=body, content_type=CONTENT_TYPE,
    )  # fmt: skip


def test_message_round_trip_and_cleanup() -> None:
    net = Net()
    sent = net.device.send_request(keepalive_request(net), PLATFORM, "UDP", 0.0)
    net.pump()
    (event,) = events(net.platform)
    assert isinstance(event, RequestReceived) and event.addr == DEVICE
    via = event.request.top_via
    assert via.received == "10.0.0.2" and via.rport == 5060  # RFC 3581 §4: always with rport
    ka = parse_manscdp(event.request.body).command
    assert isinstance(ka, Keepalive) and ka.device_id == "34020000001320000001"
    net.platform.respond(event.request, 200, net.now)
    net.pump()
    (answer,) = events(net.device)
    assert isinstance(answer, ResponseReceived) and answer.response.status == 200
    assert answer.request == sent
    assert net.device.transaction_state(sent) is State.COMPLETED
    net.run_until(100)
    assert net.device.transaction_count == 0 and net.platform.transaction_count == 0
    assert net.platform.get_timer() is None and net.device.get_timer() is None


def test_lost_requests_are_retransmitted_and_duplicates_absorbed() -> None:
    net = Net()
    drops = iter([True, True])
    net.drop = lambda data, dest: dest == PLATFORM and next(drops, False)
    request = net.device.send_request(keepalive_request(net), PLATFORM, "UDP", 0.0)
    net.run_until(1.6)
    assert net.sent(PLATFORM, b"MESSAGE") == [0.0, 0.5, 1.5]
    (event,) = events(net.platform)
    assert isinstance(event, RequestReceived) and event.request.call_id == request.call_id
    net.run_until(3.6)  # one more retransmission reaches the server: absorbed, no response yet
    assert events(net.platform) == []
    net.platform.respond(event.request, 200, net.now)
    net.run_until(5)
    assert [type(e) for e in events(net.device)] == [ResponseReceived]


def test_lost_response_is_resent_on_request_retransmission() -> None:
    net = Net()
    drops = iter([True])
    net.drop = lambda data, dest: dest == DEVICE and next(drops, False)
    net.device.send_request(keepalive_request(net), PLATFORM, "UDP", 0.0)
    net.pump()
    (event,) = events(net.platform)
    net.platform.respond(event.request, 200, 0.0)
    net.run_until(1.0)
    assert events(net.platform) == []  # the retransmitted MESSAGE is absorbed
    assert len(net.sent(DEVICE, b"SIP/2.0 200")) == 2
    assert [type(e) for e in events(net.device)] == [ResponseReceived]


def test_timer_f_times_out_non_invite() -> None:
    net = Net()
    net.drop = lambda data, dest: True
    request = net.device.send_request(keepalive_request(net), PLATFORM, "UDP", 0.0)
    net.run_until(40)
    assert net.sent(PLATFORM, b"MESSAGE") == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5,
                                              23.5, 27.5, 31.5]  # fmt: skip
    (event,) = events(net.device)
    assert event == TransactionTimedOut(request, "F")
    assert net.device.transaction_count == 0


def test_tcp_never_retransmits_and_times_out() -> None:
    net = Net("TCP")
    net.drop = lambda data, dest: True
    request = net.device.send_request(keepalive_request(net), PLATFORM, "TCP", 0.0)
    net.run_until(40)
    assert net.sent(PLATFORM, b"MESSAGE") == [0.0]
    assert events(net.device) == [TransactionTimedOut(request, "F")]


def test_tcp_completes_without_waiting() -> None:
    net = Net("TCP")
    net.device.send_request(keepalive_request(net), PLATFORM, "TCP", 0.0)
    net.pump()
    (event,) = events(net.platform)
    net.platform.respond(event.request, 200, 0.0)
    net.run_until(0.0)  # K and J are zero on reliable transports
    assert net.device.transaction_count == 0 and net.platform.transaction_count == 0


def invite(net: Net, seq: int = 1) -> SipRequest:
    return net.platform.make_request(
        "INVITE", "sip:34020000001320000001@3402000000",
        from_="<sip:34020000002000000001@3402000000>",
        to="<sip:34020000001320000001@3402000000>",
        contact="<sip:34020000002000000001@10.0.0.1:5060>",
        headers=[("Subject", f"34020000001320000001:020000000{seq},34020000002000000001:0")],
        transport=net.transport, body=b"v=0\r\n", content_type="APPLICATION/SDP",
    )  # fmt: skip


def answer_invite(net: Net, status: int = 200) -> SipRequest:
    (event,) = events(net.device)
    assert isinstance(event, RequestReceived) and event.request.method == "INVITE"
    net.device.respond(event.request, status, net.now,
                       headers=[("Contact", "<sip:34020000001320000001@10.0.0.2:5060>")])  # fmt: skip
    return event.request


def test_invite_2xx_ack_bye_with_dialogs() -> None:
    net = Net()
    offer = net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
    net.pump()
    assert net.sent(PLATFORM, b"SIP/2.0 100 Trying")  # §17.2.1 automatic 100
    answer_invite(net)
    net.pump()
    got = events(net.platform)
    assert [e.response.status for e in got if isinstance(e, ResponseReceived)] == [100, 200]
    ok = got[-1].response  # type: ignore[union-attr]
    dialog = Dialog.from_response(offer, ok)
    net.platform.send_request(dialog.create_ack(), DEVICE, "UDP", net.now)
    net.pump()
    (ack,) = events(net.device)
    assert isinstance(ack, RequestReceived) and ack.request.method == "ACK"
    net.run_until(10)
    assert len(net.sent(PLATFORM, b"SIP/2.0 200")) == 1  # ACK stopped 2xx retransmission
    bye = net.platform.send_request(dialog.create_request("BYE"), DEVICE, "UDP", net.now)
    assert bye.cseq.number == offer.cseq.number + 1
    net.pump()
    (bye_event,) = events(net.device)
    assert isinstance(bye_event, RequestReceived) and bye_event.request.method == "BYE"
    net.device.respond(bye_event.request, 200, net.now)
    net.run_until(100)
    assert net.platform.transaction_count == 0 and net.device.transaction_count == 0


def test_lost_2xx_is_retransmitted_and_lost_ack_re_sent_automatically() -> None:
    net = Net()
    drop_200 = iter([True])
    drop_ack = iter([True])

    def drop(data: bytes, dest: tuple[str, int]) -> bool:
        if data.startswith(b"SIP/2.0 200"):
            return next(drop_200, False)
        if data.startswith(b"ACK"):
            return next(drop_ack, False)
        return False

    net.drop = drop
    offer = net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
    net.pump()
    answer_invite(net)
    net.run_until(0.6)  # timer G resends the 200
    ok = [e for e in events(net.platform) if isinstance(e, ResponseReceived)][-1].response
    assert ok.status == 200
    net.platform.send_request(Dialog.from_response(offer, ok).create_ack(), DEVICE, "UDP", net.now)
    net.run_until(5)  # ACK lost: 2xx again, endpoint re-ACKs by itself
    assert len(net.sent(DEVICE, b"ACK")) == 2
    assert [type(e) for e in events(net.device)] == [RequestReceived]
    assert events(net.platform) == []  # the user saw the 200 once


def test_invite_failure_is_acked_by_the_transaction() -> None:
    net = Net()
    drop_ack = iter([True])
    net.drop = lambda data, dest: data.startswith(b"ACK") and next(drop_ack, False)
    net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
    net.pump()
    answer_invite(net, 486)
    net.run_until(40)
    statuses = [e.response.status for e in events(net.platform) if isinstance(e, ResponseReceived)]
    assert statuses == [100, 486]
    acks = [data for _, dest, data in net.log if data.startswith(b"ACK")]
    assert len(acks) == 2 and b"CSeq: 1 ACK" in acks[0]
    ack = parse_message(acks[0])
    assert ack.to.tag is not None and ack.top_via.branch is not None
    assert events(net.device) == []  # ACK for a failure is not passed up
    assert net.platform.transaction_count == 0 and net.device.transaction_count == 0


def test_timer_b_h_l_timeouts() -> None:
    net = Net()
    net.drop = lambda data, dest: True
    offer = net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
    net.run_until(40)
    assert net.sent(DEVICE, b"INVITE") == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert events(net.platform) == [TransactionTimedOut(offer, "B")]

    for status, timer in ((480, "H"), (200, "L")):
        net = Net()
        net.drop = lambda data, dest: data.startswith(b"ACK")
        net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
        net.pump()
        request = answer_invite(net, status)
        net.run_until(40)
        assert events(net.device) == [TransactionTimedOut(request, timer)]
        assert len(net.sent(PLATFORM, f"SIP/2.0 {status}".encode())) == 11  # 1 + 10 by G


def test_cancel_pending_invite() -> None:
    net = Net()
    offer = net.platform.send_request(invite(net), DEVICE, "UDP", 0.0)
    net.pump()
    assert [e.request.method for e in events(net.device)] == ["INVITE"]  # type: ignore[union-attr]
    net.platform.send_request(make_cancel(offer), DEVICE, "UDP", net.now)
    net.run_until(1)
    (cancelled,) = events(net.device)
    assert isinstance(cancelled, RequestCancelled) and cancelled.invite.call_id == offer.call_id
    got = [(e.response.status, e.response.cseq.method) for e in events(net.platform)
           if isinstance(e, ResponseReceived)]  # fmt: skip
    assert sorted(got) == [(100, "INVITE"), (200, "CANCEL"), (487, "INVITE")]
    net.run_until(100)
    assert net.platform.transaction_count == 0 and net.device.transaction_count == 0


def test_cancel_without_invite_gets_481() -> None:
    net = Net()
    net.platform.send_request(make_cancel(invite(net)), DEVICE, "UDP", 0.0)
    net.pump()
    (event,) = events(net.platform)
    assert isinstance(event, ResponseReceived) and event.response.status == 481


def test_user_errors_raise() -> None:
    net = Net()
    net.device.send_request(keepalive_request(net), PLATFORM, "UDP", 0.0)
    net.pump()
    (event,) = events(net.platform)
    net.platform.respond(event.request, 200, 0.0)
    with pytest.raises(TransactionStateError):
        net.platform.respond(event.request, 500, 0.0)
    request = keepalive_request(net)
    net.device.send_request(request, PLATFORM, "UDP", 0.0)
    with pytest.raises(Exception, match="already in use"):
        net.device.send_request(request, PLATFORM, "UDP", 0.0)


def test_ids_and_cseq_counters() -> None:
    endpoint = SipEndpoint("10.0.0.1", 5060)
    branches = {endpoint.new_branch() for _ in range(1000)}
    assert len(branches) == 1000 and all(b.startswith("z9hG4bK") for b in branches)
    assert SipEndpoint("h", 1).new_branch() != SipEndpoint("h", 1).new_branch()
    assert [endpoint.next_cseq("a"), endpoint.next_cseq("a"), endpoint.next_cseq("b")] == [1, 2, 1]
    r1 = endpoint.make_request("REGISTER", "sip:3402000000", from_="<sip:x@3402000000>",
                               to="<sip:x@3402000000>", call_id="reg-1")  # fmt: skip
    r2 = endpoint.make_request("REGISTER", "sip:3402000000", from_="<sip:x@3402000000>",
                               to="<sip:x@3402000000>", call_id="reg-1")  # fmt: skip
    assert (r1.cseq.number, r2.cseq.number) == (1, 2)
    assert r1.from_.tag and r1.top_via.has_param("rport") and r1.max_forwards == 70
    assert parse_message(bytes(r1)).call_id == "reg-1"


def test_request_without_via_gets_ours() -> None:
    net = Net()
    bare = SipRequest("OPTIONS", "sip:d@10.0.0.2", (
        ("From", "<sip:p@h>;tag=1"), ("To", "<sip:d@h>"), ("Call-ID", "o1"),
        ("CSeq", "1 OPTIONS")))  # fmt: skip
    sent = net.platform.send_request(bare, DEVICE, "UDP", 0.0)
    assert sent.top_via.host == "10.0.0.1" and sent.top_via.is_rfc3261_branch


def test_malformed_input_never_raises() -> None:
    net = Net()
    net.platform.receive(b"\x00\xff garbage", DEVICE, "UDP", 0.0)
    (event,) = events(net.platform)
    assert isinstance(event, MalformedMessage) and not event.answered
    assert net.platform.datagrams_to_send(0.0) == []
    broken = (DATA / "hikvision_register.sip").read_bytes().replace(b"CSeq: 1", b"CSeq: x")
    net.platform.receive(broken, DEVICE, "UDP", 0.0)
    (event,) = events(net.platform)
    assert isinstance(event, MalformedMessage) and event.answered and event.raw == broken
    ((reply, dest, _),) = net.platform.datagrams_to_send(0.0)
    assert reply.startswith(b"SIP/2.0 400 Bad Request") and dest == DEVICE
    big = SipEndpoint("h", 1, max_message_size=200)
    big.receive((DATA / "hikvision_register.sip").read_bytes(), DEVICE, "UDP", 0.0)
    (event,) = events(big)
    assert isinstance(event, MalformedMessage) and event.status == 513
    rng = random.Random(1)
    seed = (DATA / "dahua_register_auth.sip").read_bytes()
    for _ in range(2000):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        net.platform.receive(bytes(data), DEVICE, "TCP", 0.0)
    assert all(isinstance(e, MalformedMessage | RequestReceived) for e in events(net.platform))


def test_stray_responses_are_dropped() -> None:
    net = Net()
    stray = (DATA / "dahua_invite_200.sip").read_bytes().replace(b"200 OK", b"404 Not Found")
    net.platform.receive(stray, DEVICE, "UDP", 0.0)
    assert events(net.platform) == []
    ok = (DATA / "dahua_invite_200.sip").read_bytes()
    net.platform.receive(ok, DEVICE, "UDP", 0.0)  # a stray 2xx to INVITE goes up for re-ACK
    (event,) = events(net.platform)
    assert isinstance(event, ResponseReceived) and event.request is None


def test_device_vectors_reach_the_user() -> None:
    net = Net()
    for name in ("hikvision_register.sip", "hikvision_register_auth.sip",
                 "dahua_register_auth.sip", "uniview_register_auth.sip",
                 "hikvision_keepalive.sip"):  # fmt: skip
        net.platform.receive((DATA / name).read_bytes(), ("192.168.1.64", 5060), "UDP", 0.0)
        (event,) = events(net.platform)
        assert isinstance(event, RequestReceived), name
    dahua = parse_message((DATA / "dahua_register_auth.sip").read_bytes())
    assert dahua.get("Route") == "<sip:34020000002000000001@10.10.0.5:5060;lr>"
    assert dahua.get("X-GB-Ver") == "3.0" and dahua.top_via.transport == "TCP"
