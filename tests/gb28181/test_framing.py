"""TCP framing: every split point, keepalives, framing errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from xueliang.gb28181 import FramingError, SipStreamFramer, parse_message

DATA = Path(__file__).parent / "data"


def _messages() -> list[bytes]:
    return [
        (DATA / "hikvision_register.sip").read_bytes(),
        (DATA / "hikvision_keepalive.sip").read_bytes(),
        (DATA / "dahua_invite_200.sip").read_bytes(),
        (DATA / "uniview_register_auth.sip").read_bytes(),  # bare LF line ends
    ]


def test_every_split_point_of_a_joined_stream() -> None:
    messages = _messages()
    stream = b"\r\n\r\n".join(messages) + b"\r\n"  # keepalives between messages
    for cut in range(len(stream) + 1):
        framer = SipStreamFramer()
        got = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert got == messages, cut
        assert framer.buffered == 0


def test_every_pair_of_split_points_on_one_message() -> None:
    message = _messages()[1]
    for a in range(0, len(message), 7):
        for b in range(a, len(message) + 1, 5):
            framer = SipStreamFramer()
            got = framer.feed(message[:a]) + framer.feed(message[a:b]) + framer.feed(message[b:])
            assert got == [message]


def test_byte_by_byte() -> None:
    messages = _messages()
    framer = SipStreamFramer()
    got: list[bytes] = []
    for byte in b"".join(messages):
        got += framer.feed(bytes([byte]))
    assert got == messages
    assert all(parse_message(m) for m in got)


def test_keepalives_are_counted_and_skipped() -> None:
    framer = SipStreamFramer()
    assert framer.feed(b"\r\n\r\n") == []
    assert framer.feed(b"\r\n\r\n\r\n\r\n") == []
    assert framer.keepalives == 3 and framer.buffered == 0


def test_missing_content_length_means_empty_body() -> None:
    msg = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n"
    assert SipStreamFramer().feed(msg + msg) == [msg, msg]


@pytest.mark.parametrize("value", [b"-1", b"abc", b"1 2", b""])
def test_bad_content_length_is_a_framing_error(value: bytes) -> None:
    with pytest.raises(FramingError):
        SipStreamFramer().feed(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: " + value + b"\r\n\r\n")


def test_conflicting_content_length_and_folded_value() -> None:
    with pytest.raises(FramingError):
        SipStreamFramer().feed(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n")
    folded = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length:\r\n 3\r\n\r\nabc"
    assert SipStreamFramer().feed(folded) == [folded]


def test_oversize_header_block_and_message() -> None:
    framer = SipStreamFramer(max_header_size=100)
    with pytest.raises(FramingError):
        framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\nX: " + b"a" * 200)
    with pytest.raises(FramingError):
        SipStreamFramer(max_message_size=200).feed(
            b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 500\r\n\r\n"
        )


def test_waits_for_the_body() -> None:
    framer = SipStreamFramer()
    head = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\n"
    assert framer.feed(head + b"abc") == []
    assert framer.feed(b"de" + head) == [head + b"abcde"]
    assert framer.buffered == len(head)
