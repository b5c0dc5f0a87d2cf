"""GB/T 28181 SDP build and parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from xueliang.gb28181 import (
    MediaDescription,
    MediaFormat,
    SdpError,
    SessionDescription,
    make_ssrc,
    parse_message,
    parse_sdp,
    parse_ssrc,
)

DATA = Path(__file__).parent / "data"


def test_make_ssrc() -> None:
    assert make_ssrc("3402000000", 1) == "0200000001"
    assert make_ssrc("3402000000", 12345, history=True) == "1200002345"
    assert make_ssrc("4401060000", 7) == "0106000007"
    assert parse_ssrc("1200002345") == (True, "20000", 2345)
    with pytest.raises(SdpError):
        make_ssrc("34a2", 1)
    with pytest.raises(SdpError):
        parse_ssrc("2200002345")


def test_build_live_udp_offer() -> None:
    sdp = SessionDescription(
        origin_user="34020000002000000001",
        connection_address="10.10.0.5",
        media=(MediaDescription(port=30000),),
        ssrc=make_ssrc("3402000000", 1),
    )
    text = sdp.to_bytes().decode()
    assert text == (
        "v=0\r\no=34020000002000000001 0 0 IN IP4 10.10.0.5\r\ns=Play\r\nc=IN IP4 10.10.0.5\r\n"
        "t=0 0\r\nm=video 30000 RTP/AVP 96 98 97\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\n"
        "a=rtpmap:98 H264/90000\r\na=rtpmap:97 MPEG4/90000\r\ny=0200000001\r\n"
    )
    assert parse_sdp(sdp.to_bytes()) == sdp


def test_build_playback_tcp_passive_with_f_line() -> None:
    sdp = SessionDescription(
        origin_user="34020000002000000001",
        connection_address="10.10.0.5",
        media=(MediaDescription(port=30002, transport="TCP/RTP/AVP", payloads=(96,),
                                rtpmap=((96, "PS/90000"),), setup="passive",
                                connection="new"),),  # fmt: skip
        session_name="Playback",
        uri="34020000001320000001:0",
        start_time=1714521600,
        stop_time=1714525200,
        ssrc=make_ssrc("3402000000", 2, history=True),
        media_format=MediaFormat(2, 6, 25, 1, 4096),
    )
    lines = sdp.to_bytes().decode().split("\r\n")
    assert lines[-2] == "y=1200000002" and lines[-1] == ""  # y= is the last line
    assert "u=34020000001320000001:0" in lines and "t=1714521600 1714525200" in lines
    assert "a=setup:passive" in lines and "a=connection:new" in lines
    assert "f=v/2/6/25/1/4096a///" in lines
    again = parse_sdp(sdp.to_bytes())
    assert again == sdp and again.video is not None and again.video.is_tcp


def test_parse_device_answer() -> None:
    response = parse_message((DATA / "dahua_invite_200.sip").read_bytes())
    sdp = parse_sdp(response.body)
    assert sdp.ssrc == "0200000123" and sdp.ssrc_value == 200000123
    assert sdp.connection_address == "10.10.2.18" and sdp.origin_user == "34020000001320000003"
    video = sdp.video
    assert video is not None and video.port == 15060 and video.direction == "sendonly"
    assert video.encoding(96) == "PS/90000" and video.encoding(98) is None
    assert sdp.media_format == MediaFormat(2, 6, 25, 1, 4096)


def test_parse_tolerates_missing_y_lf_and_unknown_lines() -> None:
    text = ("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=Play\nc=IN IP4 1.2.3.4\nt=0 0\nb=AS:4096\n"
            "m=video 6000 RTP/AVP 96\na=rtpmap:96 PS/90000\na=downloadspeed:4\nf=\n")  # fmt: skip
    sdp = parse_sdp(text)
    assert sdp.ssrc is None and sdp.media_format is None and sdp.extra == ("b=AS:4096",)
    assert sdp.media[0].attributes == ("downloadspeed:4",) and sdp.media[0].direction is None


@pytest.mark.parametrize(
    "text",
    [
        "v=0\ns=Play\nc=IN IP4 1.2.3.4\nm=video 1 RTP/AVP 96\n",  # no o=
        "v=0\no=- 1 1 IN IP4 h\ns=Play\nc=IN IP4 h\nt=0 0\n",  # no m=
        "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nm=video x RTP/AVP 96\n",
        "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nm=video 1 RTP/SAVP 96\n",
        "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nm=video 1 RTP/AVP 96\ny=abc\n",
        "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nm=video 1 RTP/AVP 96\nf=v/x/a///\n",
        "v=0\no=- 1 1 IN IP4 h\nc=IN IP4 h\nt=a b\nm=video 1 RTP/AVP 96\n",
        "garbage line\n",
    ],
)
def test_parse_errors(text: str) -> None:
    with pytest.raises(SdpError) as info:
        parse_sdp(text)
    assert info.value.status == 488


def test_media_format_round_trip() -> None:
    for text in ("v/2/6/25/1/4096a/1/8/1", "v/5////a///", "v/////a///"):
        assert str(MediaFormat.parse(text)) == text
