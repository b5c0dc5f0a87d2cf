"""RTP codec, packetiser and receiver (RFC 3550)."""

from __future__ import annotations

import contextlib
import random
import struct
from dataclasses import replace

import pytest

from xueliang.media import (
    MediaError,
    RtpError,
    RtpFrame,
    RtpHeaderExtension,
    RtpPacket,
    RtpPacketizer,
    RtpReceiver,
    build_rtp,
    parse_rtp,
)

SSRC = 0x0102_0304


# -- codec -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(96, 0, 0, 0),
        RtpPacket(96, 65535, 0xFFFFFFFF, 0xFFFFFFFF, b"payload", marker=True),
        RtpPacket(0, 1, 2, 3, b"x" * 1388, csrcs=(1, 2, 0xFFFFFFFF)),
        RtpPacket(127, 7, 8, 9, b"abc", extension=RtpHeaderExtension(0xBEDE, b"\1\2\3\4" * 3)),
        RtpPacket(96, 7, 8, 9, b"", extension=RtpHeaderExtension(0x1000)),
        RtpPacket(96, 7, 8, 9, b"abc", padding=1),
        RtpPacket(96, 7, 8, 9, b"abc", padding=255, csrcs=tuple(range(15)), marker=True),
    ],
)
def test_round_trip(packet: RtpPacket) -> None:
    wire = build_rtp(packet)
    assert parse_rtp(wire) == packet
    assert build_rtp(parse_rtp(wire)) == wire


def test_wire_layout_matches_rfc3550_figure() -> None:
    wire = build_rtp(RtpPacket(96, 0x1234, 0x89ABCDEF, SSRC, b"\xaa", marker=True))
    assert wire == bytes.fromhex("80e0123489abcdef01020304aa")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "shorter"),
        (bytes.fromhex("8060000100000002000000"), "shorter"),  # 11 bytes
        (bytes.fromhex("4060000100000002000000030000"), "version"),
        (bytes.fromhex("8f60000100000002000000030000"), "CSRC count 15"),  # lying CC
        (bytes.fromhex("8260000100000002000000030000000a"), "CSRC count 2"),
        (bytes.fromhex("9060000100000002000000030000"), "extension"),  # no ext header
        (bytes.fromhex("906000010000000200000003bede0002aabbccdd"), "extension of 2"),
        (bytes.fromhex("a06000010000000200000003aa00"), "padding count 0"),
        (bytes.fromhex("a06000010000000200000003aa05"), "padding count 5"),
        (bytes.fromhex("a0600001000000020000000300"), "padding"),
    ],
)
def test_malformed_packets_raise_rtp_error(wire: bytes, reason: str) -> None:
    with pytest.raises(RtpError, match=reason):
        parse_rtp(wire)


def test_every_truncation_of_a_rich_packet_is_an_rtp_error_never_index_error() -> None:
    wire = build_rtp(RtpPacket(96, 1, 2, 3, b"payload", True, (5, 6), RtpHeaderExtension(1, b"abcd"), 4))
    for cut in range(len(wire)):
        try:
            parse_rtp(wire[:cut])
        except RtpError:
            continue


def test_random_bytes_only_raise_rtp_error() -> None:
    rng = random.Random(3550)
    for _ in range(3000):
        data = bytes([0x80 | rng.randrange(64)]) + rng.randbytes(rng.randrange(40))
        with contextlib.suppress(RtpError):
            parse_rtp(data)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"payload_type": 128},
        {"sequence_number": 65536},
        {"timestamp": -1},
        {"ssrc": 1 << 32},
        {"csrcs": tuple(range(16))},
        {"padding": 256},
    ],
)
def test_packet_fields_are_validated(kwargs: dict) -> None:
    base = {"payload_type": 96, "sequence_number": 0, "timestamp": 0, "ssrc": 0}
    with pytest.raises(RtpError):
        RtpPacket(**(base | kwargs))


def test_extension_data_must_be_whole_words() -> None:
    with pytest.raises(RtpError):
        RtpHeaderExtension(1, b"abc")
    assert issubclass(RtpError, MediaError)


# -- packetiser --------------------------------------------------------------------------------


def test_packetizer_splits_marks_last_and_wraps_sequence() -> None:
    p = RtpPacketizer(SSRC, sequence_number=65534, max_packet_size=112)
    payload = bytes(range(256)) * 2  # 512 bytes -> 100-byte chunks -> 6 packets
    packets = [parse_rtp(w) for w in p.packetize(payload, 90000)]
    assert [x.sequence_number for x in packets] == [65534, 65535, 0, 1, 2, 3]
    assert [x.marker for x in packets] == [False] * 5 + [True]
    assert all(len(build_rtp(x)) <= 112 for x in packets)
    assert b"".join(x.payload for x in packets) == payload
    assert {(x.timestamp, x.ssrc, x.payload_type) for x in packets} == {(90000, SSRC, 96)}
    assert p.sequence_number == 4
    (empty,) = p.packetize(b"", 1)
    assert parse_rtp(empty).marker and parse_rtp(empty).payload == b""


def test_packetizer_exact_multiple() -> None:
    p = RtpPacketizer(SSRC, max_packet_size=1400)
    packets = p.packetize(b"z" * 1388 * 3, 0)
    assert len(packets) == 3 and all(len(x) == 1400 for x in packets)


def test_packetizer_rejects_bad_arguments() -> None:
    with pytest.raises(RtpError):
        RtpPacketizer(SSRC, max_packet_size=12)
    with pytest.raises(RtpError):
        RtpPacketizer(1 << 32)
    with pytest.raises(RtpError):
        RtpPacketizer(SSRC).packetize(b"x", 1 << 32)


# -- receiver ----------------------------------------------------------------------------------


def stream(frames: int, size: int = 3000, seq: int = 0, ssrc: int = SSRC) -> tuple[list[bytes], list[bytes]]:
    """``frames`` payloads of ``size`` bytes, packetised at 1000 bytes; (payloads, packets)."""
    p = RtpPacketizer(ssrc, sequence_number=seq, max_packet_size=1012)
    payloads = [bytes([i % 256]) * size + i.to_bytes(4, "big") for i in range(frames)]
    packets = [w for i, pl in enumerate(payloads) for w in p.packetize(pl, 3600 * i)]
    return payloads, packets


def feed(rx: RtpReceiver, packets: list[bytes], step: float = 0.001) -> list[RtpFrame]:
    out: list[RtpFrame] = []
    for i, w in enumerate(packets):
        out += rx.push(w, i * step)
    return out + rx.flush()


def test_in_order_stream_assembles_frames() -> None:
    payloads, packets = stream(10)
    rx = RtpReceiver(SSRC)
    frames = feed(rx, packets)
    assert [f.payload for f in frames] == payloads
    assert [f.timestamp for f in frames] == [3600 * i for i in range(10)]
    assert all(f.complete for f in frames)
    assert rx.stats.received == len(packets) and rx.stats.lost == 0
    assert rx.stats.frames == 10


def test_frames_are_released_once_the_startup_hold_ends() -> None:
    payloads, packets = stream(40)
    rx = RtpReceiver(SSRC, reorder_window=8, max_delay=10.0)
    out = []
    for w in packets[:7]:
        out += rx.push(w, 0.0)
    assert out == []  # still holding for startup reordering
    out += rx.push(packets[7], 0.0)
    assert [f.payload for f in out] == payloads[:2]
    for w in packets[8:12]:  # steady state: in-order packets flow straight through
        out += rx.push(w, 0.0)
    assert [f.payload for f in out] == payloads[:3]


def test_packets_with_csrcs_extension_or_padding_assemble_like_plain_ones() -> None:
    """Plain packets take the receiver's short way (fixed header only); the others are
    parsed in full. Both give the same frames."""
    payloads, packets = stream(6)
    rich = []
    for i, wire in enumerate(packets):
        p = parse_rtp(wire)
        extras = [
            {"csrcs": (7, 8)},
            {"extension": RtpHeaderExtension(0xBEDE, b"\x10\x01\x00\x00")},
            {"padding": 4},
        ][i % 3]
        rich.append(build_rtp(replace(p, **extras)))
    assert [f.payload for f in feed(RtpReceiver(SSRC), rich)] == payloads


def test_sequence_wrap_and_reordering() -> None:
    payloads, packets = stream(30, seq=65500)
    rng = random.Random(7)
    shuffled = packets[:]
    for i in range(0, len(shuffled) - 5, 5):  # local reordering, including at the start
        block = shuffled[i : i + 5]
        rng.shuffle(block)
        shuffled[i : i + 5] = block
    rx = RtpReceiver(SSRC)
    frames = feed(rx, shuffled)
    assert [f.payload for f in frames] == payloads
    assert all(f.complete for f in frames)
    assert rx.stats.reordered > 0 and rx.stats.lost == 0


def test_duplicates_and_foreign_ssrc_are_dropped_and_counted() -> None:
    payloads, packets = stream(5)
    _, foreign = stream(3, ssrc=0xDEAD)
    mixed = []
    for i, w in enumerate(packets):
        mixed.append(w)
        if i % 3 == 0:
            mixed.append(w)
        if i < len(foreign):
            mixed.append(foreign[i])
    rx = RtpReceiver(SSRC)
    frames = feed(rx, mixed)
    assert [f.payload for f in frames] == payloads
    assert rx.stats.duplicates == len(packets[::3])
    assert rx.stats.foreign_ssrc == len(foreign)


def test_ssrc_none_locks_onto_the_first_stream() -> None:
    payloads, packets = stream(3)
    _, foreign = stream(3, ssrc=0xDEAD)
    rx = RtpReceiver()
    frames = feed(rx, packets[:1] + foreign + packets[1:])
    assert rx.ssrc == SSRC and [f.payload for f in frames] == payloads


def test_loss_marks_the_affected_frames_incomplete() -> None:
    payloads, packets = stream(6)  # 4 packets per frame
    lost = {5, 14, 15}  # frame 1 middle; frame 3's last two packets (with the marker)
    rx = RtpReceiver(SSRC, reorder_window=4)
    frames = feed(rx, [w for i, w in enumerate(packets) if i not in lost])
    by_ts = {f.timestamp // 3600: f for f in frames}
    assert by_ts[0].complete and by_ts[0].payload == payloads[0]
    assert not by_ts[1].complete
    assert not by_ts[3].complete  # lost its last two packets (the marker too)
    assert not by_ts[4].complete  # a gap right before its first packet: conservatively damaged
    assert by_ts[2].complete and by_ts[5].complete
    assert by_ts[5].payload == payloads[5]
    assert rx.stats.lost == 3
    for f in frames:
        if f.complete:
            assert f.payload == payloads[f.timestamp // 3600]


def test_gap_is_given_up_on_after_max_delay_via_poll() -> None:
    payloads, packets = stream(3)
    rx = RtpReceiver(SSRC, reorder_window=100, max_delay=0.05)
    out = []
    for w in packets[:4]:
        out += rx.push(w, 0.0)
    out += rx.poll(0.06)  # startup hold ends
    assert [f.payload for f in out] == payloads[:1]
    out += rx.push(packets[5], 1.0)  # packet 4 missing
    assert rx.deadline() == pytest.approx(1.05)
    assert rx.poll(1.01) == []
    for w in packets[6:]:
        out += rx.push(w, 1.02)
    out += rx.poll(1.2)
    assert rx.deadline() is None
    assert [f.complete for f in out] == [True, False, True]
    assert out[2].payload == payloads[2]
    assert rx.stats.lost == 1
    rx.push(packets[4], 1.3)  # the straggler arrives after we gave up
    assert rx.stats.late == 1


def test_gap_is_given_up_on_when_the_window_fills() -> None:
    payloads, packets = stream(10)
    rx = RtpReceiver(SSRC, reorder_window=4, max_delay=100.0)
    frames = feed(rx, packets[:9] + packets[10:])
    assert rx.stats.lost == 1
    assert [f.complete for f in frames].count(False) == 1


def test_timestamp_change_completes_a_frame_without_marker() -> None:
    rx = RtpReceiver(SSRC, reorder_window=1)
    wires = [build_rtp(RtpPacket(96, i, 1000 * (i // 2), SSRC, bytes([i]))) for i in range(6)]
    frames = feed(rx, wires)
    assert [(f.timestamp, f.payload) for f in frames] == [(0, b"\0\1"), (1000, b"\2\3"), (2000, b"\4\5")]


def test_sequence_restart_needs_two_consecutive_packets() -> None:
    payloads, packets = stream(3)
    _, restart = stream(2, seq=40000)
    rx = RtpReceiver(SSRC, reorder_window=1)
    frames = feed(rx, packets + restart[:1] + packets[-1:] + restart[1:])
    assert rx.stats.restarts == 1
    assert [f.payload for f in frames[:3]] == payloads
    assert len(frames) == 5


def test_invalid_packets_are_counted_not_raised() -> None:
    rx = RtpReceiver(SSRC)
    assert rx.push(b"\x80\x60", 0.0) == []
    assert rx.push(b"\x00" * 20, 0.0) == []
    assert rx.stats.invalid == 2


def test_oversized_frames_are_dropped() -> None:
    payloads, packets = stream(3, size=5000)
    rx = RtpReceiver(SSRC, max_frame_size=4000)
    assert feed(rx, packets) == []
    assert rx.stats.oversized_frames == 3


def test_receiver_arguments_are_validated() -> None:
    with pytest.raises(RtpError):
        RtpReceiver(reorder_window=0)
    with pytest.raises(RtpError):
        RtpReceiver(ssrc=-1)


def test_random_garbage_never_breaks_the_receiver() -> None:
    rng = random.Random(1)
    _, packets = stream(20)
    rx = RtpReceiver(SSRC)
    for i in range(3000):
        w = bytearray(rng.choice(packets))
        for _ in range(rng.randrange(4)):
            w[rng.randrange(len(w))] = rng.randrange(256)
        if rng.random() < 0.2:
            w = w[: rng.randrange(len(w))]
        rx.push(bytes(w), i * 0.001)
    rx.flush()
    s = rx.stats
    assert s.received + s.invalid + s.foreign_ssrc + s.duplicates + s.late > 0


def test_header_struct_is_network_order() -> None:
    wire = build_rtp(RtpPacket(96, 258, 16909060, 84281096))
    assert struct.unpack("!HII", wire[2:12]) == (258, 16909060, 84281096)
