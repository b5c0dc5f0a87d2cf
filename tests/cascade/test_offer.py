"""An upper platform's live-view INVITE: what the relay reads from it and answers."""

import pytest

from xueliang.cascade import OfferRejected, answer_sdp, invited_channel, read_offer
from xueliang.gb28181 import MediaDescription, SessionDescription, SipRequest, parse_sdp

CHANNEL = "34022300001320000001"


def offer(
    *, transport="RTP/AVP", setup=None, ssrc="0340200001", name="Play", payloads=(96, 98, 97), port=30000
):
    media = MediaDescription(port=port, transport=transport, payloads=payloads, setup=setup)
    return SessionDescription(
        "34000000002000000001", "10.1.2.3", (media,), session_name=name, ssrc=ssrc
    ).to_bytes()


def test_udp_offer_and_answer():
    read = read_offer(offer(), domain="3402230000", sequence=1)
    assert (read.transport, read.remote, read.ssrc, read.ssrc_chosen) == (
        "UDP",
        ("10.1.2.3", 30000),
        "0340200001",
        False,
    )
    answer = parse_sdp(answer_sdp(read, origin=CHANNEL, host="127.0.0.1", port=40000, codec="h265"))
    video = answer.video
    assert (answer.ssrc, answer.connection_address, video.port, video.direction) == (
        "0340200001",
        "127.0.0.1",
        40000,
        "sendonly",
    )
    assert answer.media_format.video_codec == 5 and video.payloads == (96,)
    assert answer_sdp(read, origin=CHANNEL, host="h", port=1, codec="h264").rstrip().endswith(b"y=0340200001")


@pytest.mark.parametrize(
    ("setup", "transport", "answer_setup", "answer_port"),
    [
        ("passive", "TCP-passive", "active", 9),
        (None, "TCP-passive", "active", 9),
        ("active", "TCP-active", "passive", 40000),
    ],
)
def test_tcp_roles(setup, transport, answer_setup, answer_port):
    read = read_offer(offer(transport="TCP/RTP/AVP", setup=setup), domain="3402230000", sequence=1)
    assert read.transport == transport
    video = parse_sdp(answer_sdp(read, origin=CHANNEL, host="127.0.0.1", port=40000, codec="h264")).video
    assert (video.setup, video.connection, video.port, video.transport) == (
        answer_setup,
        "new",
        answer_port,
        "TCP/RTP/AVP",
    )


def test_missing_ssrc_is_chosen_from_our_domain():
    read = read_offer(offer(ssrc=None), domain="3402230000", sequence=42)
    assert (read.ssrc, read.ssrc_chosen) == ("0223000042", True)
    assert read_offer(offer(ssrc=None), domain="hik", sequence=7).ssrc == "0000000007"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (offer(name="Playback"), "only live view"),
        (offer(payloads=(98,)), "payload 96"),
        (offer(port=0), "port is 0"),
        (b"v=0\r\nm=video", "unreadable"),
    ],
)
def test_offers_refused_with_488(body, words):
    with pytest.raises(OfferRejected, match=words) as caught:
        read_offer(body, domain="3402230000", sequence=1)
    assert caught.value.status == 488


def test_the_channel_asked_for():
    def invite(uri, subject=None):
        headers = [("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx"), ("From", "<sip:a@b>;tag=1"),
                   ("To", "<sip:c@d>"), ("Call-ID", "x"), ("CSeq", "1 INVITE")]  # fmt: skip
        if subject:
            headers.append(("Subject", subject))
        return SipRequest("INVITE", uri, tuple(headers))

    assert invited_channel(invite(f"sip:{CHANNEL}@3402230000")) == CHANNEL
    assert (
        invited_channel(invite("sip:3402230000", f"{CHANNEL}:0340200001,34000000002000000001:0")) == CHANNEL
    )
    assert invited_channel(invite("sip:3402230000")) is None
