"""The live-view path end to end on real video: PS mux -> RTP (UDP, impaired, or RFC 4571
over TCP) -> RtpReceiver -> PsDemuxer -> frames, decoded by FFmpeg and wrapped as fMP4."""

from __future__ import annotations

import io
import random

import av
import pytest

from xueliang.media import (
    PsDemuxer,
    PsFrame,
    PsMuxer,
    Rfc4571Deframer,
    RtpFrame,
    RtpPacketizer,
    RtpReceiver,
    Sample,
    StreamType,
    VideoCodec,
    annexb_to_avcc,
    frame_packet,
    init_segment,
    media_segment,
    parameter_sets,
    parse_h264_sps,
    parse_rtp,
)

SSRC = 0x1234_5678
FOREIGN = 0x0BAD_F00D
STREAM_TYPES = {VideoCodec.H264: StreamType.H264, VideoCodec.H265: StreamType.H265}


def send(clip, ssrc: int = SSRC, seq: int = 65000) -> list[list[bytes]]:
    """RTP packets (<= 1400 bytes) per frame, as a GB/T 28181 device sends them."""
    muxer = PsMuxer(STREAM_TYPES[clip.codec])
    packetizer = RtpPacketizer(ssrc, sequence_number=seq, max_packet_size=1400)
    return [
        packetizer.packetize(muxer.mux_video(f.data, f.pts, f.dts), f.dts & 0xFFFFFFFF) for f in clip.frames
    ]


class Viewer:
    """What the media session does with each assembled RTP frame."""

    def __init__(self, ssrc: int = SSRC) -> None:
        self.receiver = RtpReceiver(ssrc)
        self.demuxer = PsDemuxer()
        self.frames: list[PsFrame] = []

    def _take(self, rtp_frames: list[RtpFrame]) -> None:
        for rf in rtp_frames:
            if rf.complete:
                self.frames += self.demuxer.push(rf.payload)
                self.frames += self.demuxer.flush()
            else:
                self.demuxer.reset()

    def datagram(self, data: bytes, now: float) -> None:
        self._take(self.receiver.push(data, now))

    def close(self) -> list[PsFrame]:
        self._take(self.receiver.flush())
        self.frames += self.demuxer.flush()
        return self.frames


def impair(
    packets: list[bytes], rng: random.Random, drop: float, foreign: list[bytes]
) -> tuple[list[bytes], set[int]]:
    """Reorder locally, duplicate some, drop some, interleave a foreign SSRC."""
    out = packets[:]
    for i in range(len(out) - 1):  # local reordering by up to 6 places
        if rng.random() < 0.3:
            j = min(len(out) - 1, i + rng.randrange(1, 7))
            out[i], out[j] = out[j], out[i]
    dropped = {i for i in range(len(out)) if rng.random() < drop}
    dropped_seqs = {parse_rtp(out[i]).sequence_number for i in dropped}
    result = []
    foreign_iter = iter(foreign)
    for i, p in enumerate(out):
        if i in dropped:
            continue
        result.append(p)
        if rng.random() < 0.05:
            result.append(p)  # duplicate
        if rng.random() < 0.1:
            result.append(next(foreign_iter, p))
    return result, dropped_seqs


def run_udp(clip, rng: random.Random, drop: float, foreign_clip) -> tuple[list[PsFrame], Viewer, set[int]]:
    per_frame = send(clip)
    packets = [p for frame in per_frame for p in frame]
    foreign = [p for frame in send(foreign_clip, FOREIGN, 7) for p in frame]
    arrivals, dropped = impair(packets, rng, drop, foreign)
    viewer = Viewer()
    for i, p in enumerate(arrivals):
        viewer.datagram(p, i * 0.001)
    return viewer.close(), viewer, dropped


@pytest.mark.parametrize("codec_clip", ["h264_clip", "h265_clip", "h264_big_clip"])
def test_udp_reordered_duplicated_foreign_but_lossless_is_bit_exact(
    codec_clip: str,
    request,
    decode,
) -> None:
    clip = request.getfixturevalue(codec_clip)
    frames, viewer, _ = run_udp(clip, random.Random(1), 0.0, request.getfixturevalue("h264_clip"))
    stats = viewer.receiver.stats
    assert stats.reordered > 0 and stats.duplicates > 0 and stats.foreign_ssrc > 0
    assert stats.lost == 0 and stats.incomplete_frames == 0
    assert [(f.data, f.pts, f.dts, f.keyframe) for f in frames] == [
        (f.data, f.pts, f.dts, f.keyframe) for f in clip.frames
    ]
    assert {f.stream_type for f in frames} == {STREAM_TYPES[clip.codec]}
    pictures = decode(clip.codec, [f.data for f in frames])
    assert len(pictures) == len(clip.frames)
    assert {(p.width, p.height) for p in pictures} == {(clip.width, clip.height)}
    assert pictures[0].to_ndarray().std() > 10  # a real picture, not a grey concealment


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_udp_with_loss_yields_only_exact_frames(h264_clip, h265_clip, seed: int) -> None:
    for clip in (h264_clip, h265_clip):
        frames, viewer, dropped = run_udp(clip, random.Random(seed), 0.03, h264_clip)
        assert dropped and viewer.receiver.stats.lost >= len(dropped)
        originals = {f.pts: f.data for f in clip.frames}
        for f in frames:  # nothing damaged gets through
            assert originals[f.pts] == f.data
        # frames hit by loss: those owning a dropped packet, plus the one after each gap
        per_frame = send(clip)
        hit = set()
        for index, packets in enumerate(per_frame):
            seqs = {parse_rtp(p).sequence_number for p in packets}
            if seqs & dropped:
                hit |= {index, index + 1}
        expected = {clip.frames[i].pts for i in range(len(clip.frames)) if i not in hit}
        assert expected <= {f.pts for f in frames}


def test_tcp_rfc4571_path_any_chunking(h264_clip, decode) -> None:
    stream = b"".join(frame_packet(p) for frame in send(h264_clip) for p in frame)
    rng = random.Random(4571)
    for _ in range(5):
        deframer, viewer = Rfc4571Deframer(max_frame=1500), Viewer()
        pos = 0
        while pos < len(stream):
            step = rng.choice([1, 2, 3, 100, 1402, 5000])
            for packet in deframer.push(stream[pos : pos + step]):
                viewer.datagram(packet, pos * 1e-6)
            pos += step
        frames = viewer.close()
        assert [f.data for f in frames] == [f.data for f in h264_clip.frames]
    assert len(decode(VideoCodec.H264, [f.data for f in frames])) == len(h264_clip.frames)


def test_live_view_fmp4_from_demuxed_frames(h264_clip) -> None:
    frames, _, _ = run_udp(h264_clip, random.Random(9), 0.0, h264_clip)
    sps_nal = parameter_sets(frames[0].data, VideoCodec.H264)
    info = parse_h264_sps(sps_nal.sps[0])
    out = [init_segment(sps_nal.sps[0], sps_nal.pps[0], info.width, info.height)]
    for n, i in enumerate(range(0, len(frames), 10)):
        group = frames[i : i + 10]
        out.append(
            media_segment(
                n + 1, [Sample(annexb_to_avcc(f.data), 3600, f.pts, f.dts, f.keyframe) for f in group]
            )
        )
    with av.open(io.BytesIO(b"".join(out))) as container:
        pictures = list(container.decode(video=0))
    assert len(pictures) == len(h264_clip.frames)
    assert {(p.width, p.height) for p in pictures} == {(320, 240)}
