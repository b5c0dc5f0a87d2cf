"""RTP over TCP framing (RFC 4571)."""

from __future__ import annotations

import random

import pytest

from xueliang.media import (
    FramingError,
    Rfc4571Deframer,
    RtpPacketizer,
    frame_packet,
    parse_rtp,
)

PACKETS = [b"\x80" + bytes([i]) * (i * 7 % 300 + 11) for i in range(12)] + [b"x" * 65535]
STREAM = b"".join(frame_packet(p) for p in PACKETS)


def test_frame_packet_prefixes_big_endian_length() -> None:
    assert frame_packet(b"abc") == b"\x00\x03abc"
    assert frame_packet(b"y" * 300)[:2] == b"\x01\x2c"
    with pytest.raises(FramingError):
        frame_packet(b"z" * 65536)


@pytest.mark.parametrize("split", range(0, 40))
def test_one_split_anywhere_in_the_head(split: int) -> None:
    d = Rfc4571Deframer()
    assert d.push(STREAM[:split]) + d.push(STREAM[split:]) == PACKETS
    assert d.pending == 0


def test_every_split_position() -> None:
    small = b"".join(frame_packet(p) for p in PACKETS[:6])
    for split in range(len(small) + 1):
        d = Rfc4571Deframer()
        assert d.push(small[:split]) + d.push(small[split:]) == PACKETS[:6], split


def test_every_pair_of_split_positions_on_a_short_stream() -> None:
    packets = [b"ab", b"", b"cde", b"f"]
    data = b"".join(frame_packet(p) for p in packets)
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            d = Rfc4571Deframer()
            got = d.push(data[:i]) + d.push(data[i:j]) + d.push(data[j:])
            assert got == [b"ab", b"cde", b"f"]  # the zero-length frame carries nothing


def test_byte_at_a_time_and_random_chunks() -> None:
    d = Rfc4571Deframer()
    got = []
    for b in STREAM:
        got += d.push(bytes([b]))
    assert got == PACKETS
    rng = random.Random(4571)
    for _ in range(50):
        d = Rfc4571Deframer()
        got, pos = [], 0
        while pos < len(STREAM):
            step = rng.randrange(1, 5000)
            got += d.push(memoryview(STREAM)[pos : pos + step])
            pos += step
        assert got == PACKETS


def test_real_rtp_packets_survive_the_tcp_path() -> None:
    packets = RtpPacketizer(5, max_packet_size=1400).packetize(bytes(range(256)) * 40, 0)
    d = Rfc4571Deframer(max_frame=1500)
    got = d.push(b"".join(frame_packet(p) for p in packets))
    assert got == packets and parse_rtp(got[-1]).marker


def test_max_frame_limit_is_a_framing_error() -> None:
    d = Rfc4571Deframer(max_frame=1500)
    assert d.push(frame_packet(b"a" * 1500)) == [b"a" * 1500]
    with pytest.raises(FramingError, match="1501"):
        d.push(b"\x05\xdd")
    with pytest.raises(FramingError):
        Rfc4571Deframer(max_frame=0)


def test_partial_frame_is_bounded_by_the_frame_size() -> None:
    d = Rfc4571Deframer()
    d.push(b"\xff\xff" + b"q" * 65000)
    assert d.pending == 65002
    assert d.push(b"q" * 535 + b"\x00") == [b"q" * 65535]
    assert d.pending == 1
