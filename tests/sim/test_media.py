"""Live view in the pure simulator: INVITE / ACK / BYE, SDP answers and media actions,
a SimDevice paired in memory with the stub platform (no sockets, explicit clock)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.sim.stub_platform import DOMAIN, PLATFORM_ID, Wire
from tests.sim.test_device import make, registered

from xueliang.gb28181.dialog import Dialog
from xueliang.gb28181.message import SipRequest, SipResponse
from xueliang.gb28181.sdp import MediaDescription, SessionDescription, parse_sdp
from xueliang.media.clips import FaultPattern
from xueliang.sim import SimDevice
from xueliang.sim.media import StartMedia, StopMedia, VideoFaultSpec, channel_codec, negotiate

MEDIA = ("127.0.0.1", 30000)


def offer(
    transport: str = "UDP",
    *,
    ssrc: str | None = "0200001234",
    address: str = MEDIA[0],
    port: int = MEDIA[1],
    session: str = "Play",
) -> bytes:
    if transport == "UDP":
        media = MediaDescription(port=port)
    else:
        setup = "passive" if transport == "TCP-passive" else "active"
        media = MediaDescription(port=port, transport="TCP/RTP/AVP", setup=setup, connection="new")
    return SessionDescription(
        origin_user=PLATFORM_ID, connection_address=address, media=(media,), session_name=session, ssrc=ssrc
    ).to_bytes()


def invite(
    wire: Wire, device: SimDevice, target: str, body: bytes, *, subject: str | None = None
) -> SipRequest:
    """The platform INVITEs ``target`` (a channel or device ID) on ``device``'s address."""
    platform = wire.platform
    registration = platform.registered[device.device_id]
    addr = registration.addr
    channel = subject or target
    request = platform.endpoint.make_request(
        "INVITE",
        f"sip:{target}@{addr[0]}:{addr[1]}",
        from_=f"<sip:{PLATFORM_ID}@{DOMAIN}>",
        to=f"<sip:{target}@{DOMAIN}>",
        contact=f"<sip:{PLATFORM_ID}@127.0.0.1:5060>",
        headers=(("Subject", f"{channel}:0200001234,{PLATFORM_ID}:0"),),
        body=body,
        content_type="application/sdp",
    )
    sent = platform.endpoint.send_request(request, addr, registration.transport, wire.now)
    wire.pump()
    return sent


def final(wire: Wire, request: SipRequest) -> SipResponse | None:
    return next((r for sent, r in wire.platform.responses if sent is request), None)


def ack(wire: Wire, device: SimDevice, request: SipRequest, response: SipResponse) -> Dialog:
    dialog = Dialog.from_response(request, response)
    registration = wire.platform.registered[device.device_id]
    wire.platform.endpoint.send_request(dialog.create_ack(), registration.addr, "UDP", wire.now)
    wire.pump()
    return dialog


def bye(wire: Wire, device: SimDevice, dialog: Dialog) -> SipRequest:
    registration = wire.platform.registered[device.device_id]
    sent = wire.platform.endpoint.send_request(
        dialog.create_request("BYE"), registration.addr, "UDP", wire.now
    )
    wire.pump()
    return sent


def setup(**config: Any) -> tuple[Wire, SimDevice, Any]:
    config.setdefault("channels", 4)
    wire, [device], ctx = make(**config)
    registered(wire, [device])
    return wire, device, ctx


def actions(ctx: Any) -> list[Any]:
    out = list(ctx.media.actions)
    ctx.media.actions.clear()
    return out


# ---------------------------------------------------------------------- INVITE → 200 → ACK → BYE


def test_udp_invite_answer_ack_starts_media_and_bye_stops_it() -> None:
    wire, device, ctx = setup(video_faults="blur=1.0")
    channel = ctx.plan.channel_id(0, 1)
    request = invite(wire, device, channel, offer())
    response = final(wire, request)
    assert response is not None and response.status == 200
    assert response.get("Content-Type") == "application/sdp"
    assert response.contact is not None and response.contact.uri.user == channel
    answer = parse_sdp(response.body)
    assert answer.session_name == "Play" and answer.connection_address == "127.0.0.1"
    assert answer.origin_user == channel and answer.ssrc == "0200001234"
    video = answer.video
    assert video is not None and video.direction == "sendonly" and video.transport == "RTP/AVP"
    assert video.payloads == (96,) and video.encoding(96) == "PS/90000" and video.port > 0
    assert answer.media_format is not None and answer.media_format.video_codec == 2  # H.264
    assert response.body.rstrip().splitlines()[-1] == b"y=0200001234"
    assert actions(ctx) == []  # nothing flows before the ACK
    assert ctx.stats.streams_active == 1

    dialog = ack(wire, device, request, response)
    [start] = actions(ctx)
    assert start == StartMedia(
        device.device_id, request.call_id, channel, "UDP", MEDIA, 200001234, FaultPattern.BLUR, "h264"
    )
    assert ctx.stats.streams_started == 1

    sent = bye(wire, device, dialog)
    assert final(wire, sent).status == 200
    assert actions(ctx) == [StopMedia(device.device_id, request.call_id, "BYE")]
    assert ctx.stats.streams_active == 0 and ctx.media.active == 0 and device.sessions is None
    again = bye(wire, device, Dialog.from_response(request, response))
    assert final(wire, again).status == 481  # the dialog is gone


def test_tcp_passive_offer_means_we_connect() -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer("TCP-passive"))
    response = final(wire, request)
    assert response is not None and response.status == 200
    video = parse_sdp(response.body).video
    assert video is not None and video.transport == "TCP/RTP/AVP"
    assert video.setup == "active" and video.connection == "new"
    ack(wire, device, request, response)
    [start] = actions(ctx)
    assert start.transport == "TCP-passive" and start.remote == MEDIA


def test_tcp_active_offer_listens_first_and_answers_with_our_port() -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer("TCP-active", port=9))
    [start] = actions(ctx)  # listening must come before the answer that names the port
    assert start.transport == "TCP-active"
    assert final(wire, request) is None
    device.on_media_started(request.call_id, 45678, wire.now)
    wire.pump()
    response = final(wire, request)
    assert response is not None and response.status == 200
    video = parse_sdp(response.body).video
    assert video is not None and video.port == 45678 and video.setup == "passive"
    ack(wire, device, request, response)
    assert actions(ctx) == []  # already started
    assert ctx.stats.streams_started == 1


def test_tcp_active_listen_failure_is_a_500() -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer("TCP-active"))
    actions(ctx)
    device.on_media_failed(request.call_id, wire.now)
    wire.pump()
    assert final(wire, request).status == 500
    assert ctx.media.active == 0 and ctx.stats.media_failures == 1


def test_offer_without_y_gets_an_ssrc_we_chose() -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer(ssrc=None))
    response = final(wire, request)
    assert response is not None and response.status == 200
    ssrc = parse_sdp(response.body).ssrc
    assert ssrc is not None and len(ssrc) == 10 and ssrc.startswith("0" + DOMAIN[3:8])
    ack(wire, device, request, response)
    [start] = actions(ctx)
    assert start.ssrc == int(ssrc)


def test_subject_names_the_channel_when_the_uri_names_the_device() -> None:
    wire, device, ctx = setup()
    channel = ctx.plan.channel_id(0, 3)
    request = invite(wire, device, device.device_id, offer(), subject=channel)
    response = final(wire, request)
    assert response is not None and response.status == 200
    assert parse_sdp(response.body).origin_user == channel


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (offer(address="192.168.1.20"), 488),  # never send media off this machine
        (offer(address="10.0.0.1", ssrc=None), 488),
        (offer(session="Playback"), 488),  # no recordings here
        (offer(port=0), 488),
        (b"v=0\r\nthis is not SDP\r\n", 488),
    ],
)
def test_offers_we_will_not_serve(body: bytes, status: int) -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 0), body)
    assert final(wire, request).status == status
    assert actions(ctx) == [] and ctx.media.active == 0 and device.sessions is None


def test_unknown_channel_is_404() -> None:
    wire, device, ctx = setup(devices=1)
    other = ctx.plan.channel_id(0, 0)[:13] + "9999999"  # not in this fleet
    request = invite(wire, device, device.device_id, offer(), subject=other)
    assert final(wire, request).status == 404
    nothing = invite(wire, device, device.device_id, offer(), subject="not-an-id")
    assert final(wire, nothing).status == 404


def test_beyond_max_streams_is_486_busy() -> None:
    wire, device, ctx = setup(max_streams=1)
    first = invite(wire, device, ctx.plan.channel_id(0, 0), offer())
    response = final(wire, first)
    assert response.status == 200
    busy = invite(wire, device, ctx.plan.channel_id(0, 1), offer())
    assert final(wire, busy).status == 486 and ctx.stats.invites_busy == 1
    bye(wire, device, ack(wire, device, first, response))
    later = invite(wire, device, ctx.plan.channel_id(0, 1), offer())
    assert final(wire, later).status == 200


def test_an_answer_never_acked_ends_without_media() -> None:
    wire, device, ctx = setup(ack_timeout=5.0)
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer())
    assert final(wire, request).status == 200
    wire.advance(wire.now + 6)
    assert device.sessions is None and ctx.media.active == 0 and ctx.stats.acks_missed == 1
    assert actions(ctx) == []  # it never started


def test_a_tcp_active_answer_never_acked_stops_the_listener() -> None:
    wire, device, ctx = setup(ack_timeout=5.0)
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer("TCP-active"))
    actions(ctx)
    device.on_media_started(request.call_id, 45678, wire.now)
    wire.advance(wire.now + 6)
    assert actions(ctx) == [StopMedia(device.device_id, request.call_id, "no ACK")]


def test_stopping_with_a_session_open_sends_our_bye() -> None:
    wire, device, ctx = setup()
    request = invite(wire, device, ctx.plan.channel_id(0, 2), offer())
    ack(wire, device, request, final(wire, request))
    actions(ctx)
    device.stop(wire.now)
    wire.pump()
    [their_bye] = wire.platform.byes
    assert their_bye.call_id == request.call_id and their_bye.from_.uri.user == ctx.plan.channel_id(0, 2)
    assert their_bye.to.uri.user == PLATFORM_ID and their_bye.cseq.method == "BYE"
    assert actions(ctx) == [StopMedia(device.device_id, request.call_id, "stopped")]
    assert ctx.stats.byes_sent == 1 and ctx.stats.byes_answered == 1


def test_h265_channels_say_so_in_f() -> None:
    wire, device, ctx = setup(h265=1.0)
    request = invite(wire, device, ctx.plan.channel_id(0, 0), offer())
    answer = parse_sdp(final(wire, request).body)
    assert answer.media_format is not None and answer.media_format.video_codec == 5
    ack(wire, device, request, final(wire, request))
    assert actions(ctx)[0].codec == "h265"


# ---------------------------------------------------------------------- who shows what


def test_video_faults_and_codecs_are_deterministic_and_near_their_fractions() -> None:
    spec = VideoFaultSpec.parse(
        "blur=0.05,too_dark=0.03,occlusion=0.03,color_cast=0.02,frozen=0.02,noise=0.02,stripes=0.01,"
        "signal_loss=0.01"
    )
    n = 20_000
    faults = [spec.fault_for(7, i) for i in range(n)]
    assert faults == [spec.fault_for(7, i) for i in range(n)]
    assert faults != [spec.fault_for(8, i) for i in range(n)]
    for fault, fraction in spec.fractions:
        assert abs(faults.count(fault) / n - fraction) < 0.006, fault
    assert abs(faults.count(FaultPattern.NORMAL) / n - 0.81) < 0.01
    h265 = sum(channel_codec(7, i, 0.3) == "h265" for i in range(n)) / n
    assert abs(h265 - 0.3) < 0.02
    assert str(VideoFaultSpec.parse("blur=0.5")) == "blur=0.5"


@pytest.mark.parametrize(
    "text", ["bogus=0.1", "blur", "blur=x", "blur=2", "blur=0.6,noise=0.6", "normal=0.1"]
)
def test_bad_video_fault_specs_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        VideoFaultSpec.parse(text)


def test_negotiate_is_pure() -> None:
    got = negotiate(offer("TCP-active", ssrc=None), domain=DOMAIN, sequence=12)
    assert not isinstance(got, int)
    assert got.transport == "TCP-active" and got.ssrc == f"0{DOMAIN[3:8]}0012"
    assert negotiate(offer(address="8.8.8.8"), domain=DOMAIN, sequence=1) == 488
