"""GB/T 28181 media over real loopback sockets: PsRtpSender -> RtpPsSource by UDP, TCP with
the platform passive and active; SSRC filtering, bad input, silence, port release."""

from __future__ import annotations

import asyncio
import os
import socket

import av
import pytest

from xueliang.media import (
    MediaFrame,
    NoMedia,
    PortRange,
    PsRtpSender,
    RtpPacket,
    RtpPsSource,
    SourceUnavailable,
    build_rtp,
    clip_frames,
)

SSRC = 100000001
CHANNEL = "34020000001320000001"


async def receive(source: RtpPsSource, count: int) -> list[MediaFrame]:
    frames = []
    async for frame in source:
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


async def open_pair(
    transport: str, frames: list[MediaFrame], ssrc: int = SSRC, **options: float
) -> tuple[RtpPsSource, PsRtpSender]:
    """Platform side prepared, device answering, platform started: the INVITE order."""
    source = RtpPsSource(no_media_timeout=options.pop("no_media_timeout", 5.0), **options)  # type: ignore[arg-type]
    address = await source.prepare(transport)  # type: ignore[arg-type]
    sender = PsRtpSender(frames, ssrc)
    local = await sender.start(transport, (address.ip, address.port))
    source.start(str(ssrc), remote=local if transport == "TCP-active" else None)
    return source, sender


def decode_all(frames: list[MediaFrame]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create(frames[0].codec.value, "r")
    pictures = []
    for f in frames:
        pictures += decoder.decode(av.Packet(f.data))
    return pictures + decoder.decode(None)


@pytest.mark.parametrize("transport", ["UDP", "TCP-passive", "TCP-active"])
async def test_frames_arrive_in_order_and_decode(transport: str) -> None:
    clip = clip_frames(CHANNEL, "normal", "h264", seconds=1)
    source, sender = await open_pair(transport, clip)
    try:
        frames = await receive(source, 30)  # more than the clip: it loops
    finally:
        await sender.stop()
        await source.close()
    assert frames[0].keyframe and frames[0].data == clip[0].data
    assert [f.data for f in frames[: len(clip)]] == [f.data for f in clip]
    steps = {b.pts - a.pts for a, b in zip(frames, frames[1:], strict=False)}
    assert steps == {3600}, "timestamps continue across the loop of the clip"
    pictures = decode_all(frames)
    assert len(pictures) == 30 and pictures[0].width == 640 and pictures[0].height == 360
    assert source.receiver is not None and source.receiver.stats.lost == 0


@pytest.mark.parametrize("transport", ["UDP", "TCP-passive"])
async def test_skip_drops_packets_unread_and_resumes_at_a_keyframe(transport: str) -> None:
    """Asked to skip 1.5 s after the first keyframe, the receiver drops those packets before
    reassembly; what it yields next is the keyframe 2 s after the first, decodable."""
    clip = clip_frames(CHANNEL, "normal", "h264", seconds=1)  # one keyframe a second
    source, sender = await open_pair(transport, clip)
    try:
        frames = source.frames()
        first = await anext(frames)
        source.skip(1.5)
        queued = []  # what was received before the skip was asked for
        while not (frame := await anext(frames)).keyframe:
            queued.append(frame)
        later = [frame, await anext(frames), await anext(frames)]
    finally:
        await sender.stop()
        await source.close()
    assert first.keyframe and all(f.pts - first.pts < 1.5 * 90_000 for f in queued)
    assert later[0].pts - first.pts == 2 * 90_000, "the skip ended before the keyframe due at +2 s"
    assert [f.pts - later[0].pts for f in later] == [0, 3600, 7200]
    assert source.stats.skipped_unread > 10
    assert len(decode_all(later)) == 3


async def test_h265_frames_pass_through() -> None:
    clip = clip_frames(CHANNEL, "normal", "h265", seconds=1)
    source, sender = await open_pair("UDP", clip)
    try:
        frames = await receive(source, 10)
    finally:
        await sender.stop()
        await source.close()
    assert frames[0].codec.value == "hevc" and frames[0].keyframe
    assert len(decode_all(frames)) == 10


async def test_only_the_answered_ssrc_is_taken() -> None:
    """Two devices' streams on one port (GB/T 28181 Appendix C: filter by SSRC)."""
    mine = clip_frames(CHANNEL, "normal", "h264", seconds=1)
    other = clip_frames("34020000001320000002", "noise", "h264", seconds=1)
    source = RtpPsSource(no_media_timeout=5)
    address = await source.prepare("UDP")
    senders = [PsRtpSender(other, 7), PsRtpSender(mine, SSRC)]
    for s in senders:
        await s.start("UDP", (address.ip, address.port))
    source.start(SSRC)
    try:
        frames = await receive(source, 25)
    finally:
        for s in senders:
            await s.stop()
        await source.close()
    mine_data = {f.data for f in mine}
    assert all(f.data in mine_data for f in frames)
    assert source.receiver is not None and source.receiver.stats.foreign_ssrc > 0


async def test_packets_before_start_are_kept() -> None:
    """Media can beat the 200 OK's processing: it is held until start()."""
    clip = clip_frames(CHANNEL, "normal", "h264", seconds=1)
    source = RtpPsSource(no_media_timeout=5)
    address = await source.prepare("UDP")
    sender = PsRtpSender(clip, SSRC)
    await sender.start("UDP", (address.ip, address.port))
    await asyncio.sleep(0.3)
    source.start(SSRC)
    try:
        frames = await receive(source, 3)
    finally:
        await sender.stop()
        await source.close()
    assert frames[0].data == clip[0].data


@pytest.mark.parametrize("transport", ["UDP", "TCP-passive"])
async def test_garbage_and_truncated_rtp_mid_stream_then_recovery(transport: str) -> None:
    clip = clip_frames(CHANNEL, "normal", "h264", seconds=1)
    source, sender = await open_pair(transport, clip)
    try:
        before = await receive(source, 10)
        # junk datagrams, an RTP header cut short, and RTP of our SSRC carrying garbage PS
        sender.inject(os.urandom(300))
        sender.inject(b"\x80\x60\x00")
        seq = sender.pacer.packetizer.sequence_number
        for i in range(3):
            packet = RtpPacket(96, (seq + i) & 0xFFFF, 12345, SSRC, payload=os.urandom(900), marker=i == 2)
            sender.inject(build_rtp(packet))
        after = await receive(source, 40)
    finally:
        await sender.stop()
        await source.close()
    assert before and len(after) == 40
    assert source.receiver is not None
    damaged = source.receiver.stats.invalid + source.demuxer.stats.errors + source.receiver.stats.duplicates
    assert damaged > 0, "the junk was seen"
    assert source.stats.skipped_until_keyframe > 0, "frames after the damage waited for a keyframe"
    resumed = next(i for i, f in enumerate(after) if f.keyframe)
    assert len(decode_all(after[resumed:])) == len(after) - resumed


async def test_silence_is_a_typed_timeout() -> None:
    source = RtpPsSource(no_media_timeout=0.5)
    await source.prepare("UDP")
    source.start(SSRC)
    with pytest.raises(NoMedia, match="no media within 0.5 s"):
        await receive(source, 1)
    await source.close()


@pytest.mark.parametrize("transport", ["UDP", "TCP-passive"])
async def test_close_releases_the_port(transport: str) -> None:
    source = RtpPsSource()
    address = await source.prepare(transport)  # type: ignore[arg-type]
    await source.close()
    kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", address.port))


async def test_port_range_is_used_and_exhausted() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    ports = PortRange(base + 1, base + 2)
    sources = [RtpPsSource(ports=ports) for _ in range(3)]
    try:
        got = [(await s.prepare("UDP")).port for s in sources[:2]]
        assert sorted(got) == [base + 1, base + 2]
        with pytest.raises(SourceUnavailable, match="no free media port"):
            await sources[2].prepare("UDP")
    finally:
        for s in sources:
            await s.close()


async def test_device_closing_tcp_ends_the_stream() -> None:
    clip = clip_frames(CHANNEL, "normal", "h264", seconds=1)
    source, sender = await open_pair("TCP-passive", clip)
    try:
        await receive(source, 5)
        await sender.stop()
        with pytest.raises(Exception, match="closed the media connection"):
            await receive(source, 1000)
    finally:
        await source.close()
