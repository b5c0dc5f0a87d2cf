"""MPEG-2 Program Stream (ISO/IEC 13818-1 2.5) codecs, muxer and streaming demuxer."""

from __future__ import annotations

import io
import random
import struct

import av
import pytest

from xueliang.media import (
    MediaError,
    PackHeader,
    PesPacket,
    ProgramStreamMap,
    PsDemuxer,
    PsError,
    PsFrame,
    PsmEntry,
    PsMuxer,
    StreamBound,
    StreamType,
    SystemHeader,
    VideoCodec,
    build_pack_header,
    build_pes,
    build_psm,
    build_system_header,
    crc32_mpeg2,
    parse_pack_header,
    parse_pes,
    parse_psm,
    parse_system_header,
)

STREAM_TYPES = {VideoCodec.H264: StreamType.H264, VideoCodec.H265: StreamType.H265}


def mux_clip(clip, **kwargs) -> list[bytes]:
    muxer = PsMuxer(STREAM_TYPES[clip.codec], **kwargs)
    return [muxer.mux_video(f.data, f.pts, f.dts) for f in clip.frames]


def demux(
    data: bytes, chunk: int, flush_each: list[int] | None = None, **kwargs
) -> tuple[list[PsFrame], PsDemuxer]:
    d = PsDemuxer(**kwargs)
    out: list[PsFrame] = []
    for i in range(0, len(data), chunk):
        out += d.push(data[i : i + chunk])
    out += d.flush()
    return out, d


def as_tuples(frames) -> list[tuple]:
    return [(f.data, f.pts, f.dts, f.keyframe) for f in frames]


# -- codec pairs -------------------------------------------------------------------------------


def test_crc32_mpeg2_check_value() -> None:
    assert crc32_mpeg2(b"123456789") == 0x0376E6E7  # the catalogue check value


def test_pack_header_known_bytes() -> None:
    assert build_pack_header(PackHeader(0)).hex() == "000001ba440004000401 00fffff8".replace(" ", "")


@pytest.mark.parametrize("scr", [0, 1, 3600, 0x1_2345_6789 & ((1 << 33) - 1), (1 << 33) - 1])
@pytest.mark.parametrize("stuffing", [0, 3, 7])
def test_pack_header_round_trip(scr: int, stuffing: int) -> None:
    header = PackHeader(scr, scr_ext=299, mux_rate=(1 << 22) - 1, stuffing=stuffing)
    wire = build_pack_header(header) + b"rest"
    assert parse_pack_header(wire) == (header, 14 + stuffing)
    assert len(build_pack_header(header)) == 14 + stuffing


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\x00\x00\x01\xba\x44\x00", "truncated"),
        (b"\x00\x00\x01\xbb" + bytes(10), "missing"),
        (b"\x00\x00\x01\xba\x24" + bytes(9), "not MPEG-2"),
        (bytes.fromhex("000001ba4400040004010 0fffffd".replace(" ", "")) + b"\xff", "overruns"),
    ],
)
def test_pack_header_errors(wire: bytes, reason: str) -> None:
    with pytest.raises(PsError, match=reason):
        parse_pack_header(wire)


def test_pack_header_fields_validated() -> None:
    for kwargs in (
        {"scr": 1 << 33},
        {"scr": 0, "scr_ext": 300},
        {"scr": 0, "mux_rate": 0},
        {"scr": 0, "stuffing": 8},
    ):
        with pytest.raises(PsError):
            PackHeader(**kwargs)


def test_system_header_round_trip() -> None:
    header = SystemHeader(
        rate_bound=0x3FFFFF,
        audio_bound=1,
        video_bound=1,
        streams=(StreamBound(0xE0, 1, 1024), StreamBound(0xC0, 0, 32)),
        fixed=True,
        csps=False,
        audio_lock=False,
        video_lock=True,
    )
    wire = build_system_header(header)
    assert wire[:4] == b"\x00\x00\x01\xbb" and struct.unpack("!H", wire[4:6])[0] == 12
    assert parse_system_header(wire + b"xx") == (header, len(wire))


@pytest.mark.parametrize("length", [0, 5, 7, 8, 13])
def test_system_header_length_must_be_6_plus_3n(length: int) -> None:
    wire = b"\x00\x00\x01\xbb" + struct.pack("!H", length) + bytes([0x80, 0, 1, 0, 0x20, 0x7F]) * 3
    with pytest.raises(PsError, match="header_length"):
        parse_system_header(wire)


def test_system_header_overrun_and_markers() -> None:
    wire = build_system_header(SystemHeader(100, 0, 1, (StreamBound(0xE0, 1, 1024),)))
    with pytest.raises(PsError, match="overruns"):
        parse_system_header(wire[:-1])
    broken = bytearray(wire)
    broken[6] &= 0x7F
    with pytest.raises(PsError, match="marker"):
        parse_system_header(bytes(broken))


def test_psm_round_trip_with_descriptors_and_crc() -> None:
    psm = ProgramStreamMap(
        (PsmEntry(StreamType.H265, 0xE0, b"\x0a\x04chi\x00"), PsmEntry(StreamType.G711A, 0xC0)),
        version=5,
        info=b"\x40\x0ehikvision-ish!",
    )
    wire = build_psm(psm)
    assert parse_psm(wire) == (psm, len(wire))
    assert crc32_mpeg2(wire) == 0  # the CRC covers the whole section (Annex A)
    assert psm.stream_types() == {0xE0: 0x24, 0xC0: 0x90}


def _psm_with(
    psm_length: int | None = None,
    info_len: int | None = None,
    es_len: int | None = None,
    entry_info: int | None = None,
) -> bytes:
    wire = bytearray(build_psm(ProgramStreamMap((PsmEntry(0x1B, 0xE0, b"ab"),))))
    if psm_length is not None:
        wire[4:6] = struct.pack("!H", psm_length)
    if info_len is not None:
        wire[8:10] = struct.pack("!H", info_len)
    if es_len is not None:
        wire[10:12] = struct.pack("!H", es_len)
    if entry_info is not None:
        wire[14:16] = struct.pack("!H", entry_info)
    return bytes(wire)


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (_psm_with(psm_length=0x3FB), "program_stream_map_length"),
        (_psm_with(psm_length=4), "program_stream_map_length"),
        (_psm_with(psm_length=40), "overruns the data"),
        (_psm_with(info_len=30), "program_stream_info_length"),
        (_psm_with(es_len=9), "elementary_stream_map_length"),
        (_psm_with(es_len=3), "truncated elementary"),
        (_psm_with(entry_info=3), "elementary_stream_info_length"),
        (b"\x00\x00\x01\xbc\x00", "truncated"),
    ],
)
def test_psm_lying_lengths(wire: bytes, reason: str) -> None:
    with pytest.raises(PsError, match=reason):
        parse_psm(wire)


@pytest.mark.parametrize(
    "pes",
    [
        PesPacket(0xE0, b"\x00\x00\x00\x01\x65abc", pts=0, dts=None, data_alignment=True),
        PesPacket(0xE0, b"x" * 65522, pts=(1 << 33) - 1, dts=12345),
        PesPacket(0xEF, b"y" * 65532),
        PesPacket(0xC0, b"\xd5" * 160, pts=90000),
    ],
)
def test_pes_round_trip(pes: PesPacket) -> None:
    wire = build_pes(pes)
    assert parse_pes(wire + b"\x00\x00\x01\xba") == (pes, len(wire))


def test_pes_timestamp_bytes_follow_table_2_21() -> None:
    wire = build_pes(PesPacket(0xE0, b"", pts=0x1_0000_0001, dts=2))
    assert wire[6:9] == bytes((0x80, 0xC0, 10))
    assert wire[9:14].hex() == "3900010003"  # '0011' PTS[32..30] 1 ...
    assert wire[14:19].hex() == "1100010005"  # '0001' DTS ...


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"\x00\x00\x01\xe0\x00\x10\x80\x80\x05" + bytes(5), "overruns"),
        (b"\x00\x00\x01\xe0\x00\x02\x80\x00\x00", "too short"),
        (b"\x00\x00\x01\xe0\x00\x05\x80\x80\x05" + bytes(2), "exceeds PES_packet_length"),
        (b"\x00\x00\x01\xe0\x00\x05\x80\x80\x02" + bytes(2), "PES_header_data_length < 5"),
        (b"\x00\x00\x01\xe0\x00\x08\x80\xc0\x05" + bytes(5), "< 10"),
        (b"\x00\x00\x01\xe0\x00\x03\x80\x40\x00", "forbidden"),
        (b"\x00\x00\x01\xe0\x00\x03\x0f\x00\x00", "not MPEG-2"),
        (b"\x00\x00\x01\xbd\x00\x03\x80\x00\x00", "not an audio or video"),
        (b"\x00\x00\x01\xe0\x00", "truncated"),
    ],
)
def test_pes_errors(wire: bytes, reason: str) -> None:
    with pytest.raises(PsError, match=reason):
        parse_pes(wire)
    assert issubclass(PsError, MediaError)


def test_pes_fields_validated() -> None:
    with pytest.raises(PsError, match="DTS without a PTS"):
        PesPacket(0xE0, b"", dts=1)
    with pytest.raises(PsError, match="exceeds"):
        PesPacket(0xE0, b"x" * 65523, pts=1, dts=0)
    with pytest.raises(PsError):
        PesPacket(0xBD, b"")


# -- muxer -------------------------------------------------------------------------------------


def test_muxer_pack_layout(h264_clip) -> None:
    packs = mux_clip(h264_clip)
    key, inter = packs[0], packs[1]
    assert key.startswith(b"\x00\x00\x01\xba")
    assert key[14:18] == b"\x00\x00\x01\xbb"  # system header right after the pack header
    system, end = parse_system_header(key, 14)
    psm, end = parse_psm(key, end)
    assert psm.stream_types() == {0xE0: StreamType.H264}
    assert {s.stream_id for s in system.streams} == {0xE0}
    pes, end = parse_pes(key, end)
    assert end == len(key) and pes.data_alignment
    assert (pes.pts, pes.dts, pes.payload) == (
        h264_clip.frames[0].pts,
        h264_clip.frames[0].dts,
        h264_clip.frames[0].data,
    )
    assert inter[14:18] == b"\x00\x00\x01\xe0"  # no headers on a non-keyframe
    assert parse_pack_header(inter)[0].scr == h264_clip.frames[1].dts


def test_muxer_splits_large_frames_into_pes_packets_of_at_most_65535(h264_big_clip) -> None:
    frame = h264_big_clip.frames[0]
    assert len(frame.data) > 3 * 65535
    pack = PsMuxer().mux_video(frame.data, frame.pts, frame.dts)
    pos = parse_psm(pack, parse_system_header(pack, 14)[1])[1]
    pieces = []
    while pos < len(pack):
        pes, pos = parse_pes(pack, pos)
        assert len(build_pes(pes)) - 6 <= 65535
        pieces.append(pes)
    assert len(pieces) >= 4 and pieces[0].pts == frame.pts
    assert all(p.pts is None for p in pieces[1:])
    assert b"".join(p.payload for p in pieces) == frame.data


def test_ffmpeg_reads_our_program_stream(h264_clip) -> None:
    data = b"".join(mux_clip(h264_clip))
    with av.open(io.BytesIO(data), format="mpeg") as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        packets = [p for p in container.demux(stream) if p.size]
    assert b"".join(bytes(p) for p in packets) == b"".join(f.data for f in h264_clip.frames)
    assert sorted(p.pts for p in packets) == sorted(f.pts for f in h264_clip.frames)


def test_ffmpeg_reads_our_h265_program_stream(h265_clip) -> None:
    data = b"".join(mux_clip(h265_clip))
    with av.open(io.BytesIO(data), format="mpeg") as container:
        assert container.streams.video[0].codec_context.name == "hevc"


def test_muxer_validation() -> None:
    with pytest.raises(PsError):
        PsMuxer(max_pes_payload=65523)
    with pytest.raises(PsError, match="no audio"):
        PsMuxer().mux_audio(b"x", 0)
    with pytest.raises(PsError):
        PsMuxer().mux_video(b"x", 1 << 33)


# -- demuxer: round trips ----------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 188, 1388, 4096, 1 << 20])
def test_demux_round_trip_h264_any_chunking(h264_clip, chunk: int) -> None:
    frames, d = demux(b"".join(mux_clip(h264_clip)), chunk)
    assert as_tuples(frames) == [(f.data, f.pts, f.dts, f.keyframe) for f in h264_clip.frames]
    assert {f.stream_type for f in frames} == {StreamType.H264}
    assert {f.codec for f in frames} == {"h264"}
    assert all(f.is_video and not f.is_audio and f.stream_id == 0xE0 for f in frames)
    assert d.stats.errors == 0 and d.stats.psms == 2 and d.stats.packs == len(frames)
    assert d.buffered == 0


@pytest.mark.parametrize("chunk", [1, 1388, 1 << 20])
def test_demux_round_trip_h265(h265_clip, chunk: int) -> None:
    frames, d = demux(b"".join(mux_clip(h265_clip)), chunk)
    assert as_tuples(frames) == [(f.data, f.pts, f.dts, f.keyframe) for f in h265_clip.frames]
    assert {f.stream_type for f in frames} == {StreamType.H265}
    assert {f.codec for f in frames} == {"hevc"}
    assert [f.keyframe for f in frames].count(True) == 2  # GOP 25 over 50 frames


def test_demux_frames_spread_over_many_pes(h264_big_clip) -> None:
    data = b"".join(mux_clip(h264_big_clip, max_pes_payload=1000))
    frames, d = demux(data, 1388)
    assert as_tuples(frames) == [(f.data, f.pts, f.dts, f.keyframe) for f in h264_big_clip.frames]
    assert d.stats.pes_packets > 10 * len(frames)


def test_flush_after_each_pack_emits_each_frame_without_waiting(h264_clip) -> None:
    d = PsDemuxer()
    for pack, frame in zip(mux_clip(h264_clip), h264_clip.frames, strict=True):
        got = []
        for i in range(0, len(pack), 1388):
            got += d.push(pack[i : i + 1388])
        assert got == []  # the frame could still continue
        (out,) = d.flush()
        assert out.data == frame.data and out.pts == frame.pts


def test_demux_without_psm_guesses_the_codec(h264_clip, h265_clip) -> None:
    for clip, expected in ((h264_clip, StreamType.H264), (h265_clip, StreamType.H265)):
        muxer = PsMuxer(STREAM_TYPES[clip.codec], headers_on_keyframes=False)
        data = b"".join(muxer.mux_video(f.data, f.pts, f.dts) for f in clip.frames)
        frames, d = demux(data, 1388)
        assert d.stats.psms == 0
        assert {f.stream_type for f in frames} == {expected}
        assert [f.keyframe for f in frames] == [f.keyframe for f in clip.frames]


def test_frame_spanning_packs_and_pes_with_repeated_pts() -> None:
    au = b"\x00\x00\x00\x01\x65" + b"A" * 3000
    nxt = b"\x00\x00\x00\x01\x41" + b"B" * 100
    pack = build_pack_header(PackHeader(0))
    data = (
        pack
        + build_pes(PesPacket(0xE0, au[:1000], pts=3600))
        + pack
        + build_pes(PesPacket(0xE0, au[1000:2000]))  # continuation in a new pack
        + build_pes(PesPacket(0xE0, au[2000:], pts=3600))  # same PTS again: same frame
        + pack
        + build_pes(PesPacket(0xE0, nxt, pts=7200))
        + b"\x00\x00\x01\xb9"  # MPEG_program_end_code
    )
    frames, d = demux(data, 333)
    assert [(f.data, f.pts, f.dts, f.stream_type) for f in frames] == [
        (au, 3600, 3600, StreamType.H264),
        (nxt, 7200, 7200, StreamType.H264),
    ]
    assert frames[0].keyframe and not frames[1].keyframe
    assert d.stats.errors == 0


def test_audio_frames(h264_clip) -> None:
    muxer = PsMuxer(StreamType.H264, StreamType.G711A)
    data = b""
    for i, f in enumerate(h264_clip.frames[:10]):
        data += muxer.mux_video(f.data, f.pts, f.dts)
        data += muxer.mux_audio(bytes([0xD5 ^ i]) * 320, f.dts)
    frames, d = demux(data, 1000)
    audio = [f for f in frames if f.is_audio]
    video = [f for f in frames if f.is_video]
    assert [a.data for a in audio] == [bytes([0xD5 ^ i]) * 320 for i in range(10)]
    assert {a.stream_type for a in audio} == {StreamType.G711A}
    assert {a.codec for a in audio} == {"pcm_alaw"}
    assert [v.data for v in video] == [f.data for f in h264_clip.frames[:10]]


def test_pack_stuffing_zero_padding_private_streams_and_mpeg1_packs() -> None:
    au = b"\x00\x00\x00\x01\x65" + b"S" * 50
    pes = build_pes(PesPacket(0xE0, au, pts=3600))
    padding = b"\x00\x00\x01\xbe\x00\x08" + b"\xff" * 8
    private = b"\x00\x00\x01\xbd\x00\x04abcd"
    mpeg1_pack = b"\x00\x00\x01\xba\x21\x00\x01\x00\x01\x80\x00\x01"
    data = (
        build_pack_header(PackHeader(0, stuffing=7))
        + padding
        + pes
        + b"\x00\x00\x00"
        + mpeg1_pack
        + private
        + build_pes(PesPacket(0xE0, au, pts=7200))
    )
    frames, d = demux(data, 5)
    assert [f.pts for f in frames] == [3600, 7200]
    assert d.stats.errors == 0 and d.stats.skipped_packets == 2 and d.stats.packs == 2


def test_reset_drops_the_partial_frame(h264_clip) -> None:
    packs = mux_clip(h264_clip)
    d = PsDemuxer()
    d.push(packs[0][: len(packs[0]) // 2])
    d.reset()
    out = []
    for p in packs[1:5]:
        out += d.push(p)
    out += d.flush()
    assert [f.data for f in out] == [f.data for f in h264_clip.frames[1:5]]
    assert d.stats.errors == 0


# -- demuxer: bad input ------------------------------------------------------------------------


def originals(clip) -> dict[int, bytes]:
    return {f.pts: f.data for f in clip.frames}


def assert_only_original_frames(frames, clip) -> None:
    known = originals(clip)
    for f in frames:
        assert known[f.pts] == f.data


def test_junk_between_packs_drops_one_frame_and_resyncs(h264_clip) -> None:
    packs = mux_clip(h264_clip)
    packs[10] += b"\x17junk junk junk\x00\x00\x01\x02 more junk"
    frames, d = demux(b"".join(packs), 1388)
    assert d.stats.errors == 1 and d.stats.junk_bytes > 20
    assert "junk" in (d.last_error or "")
    assert [f.pts for f in frames] == [f.pts for i, f in enumerate(h264_clip.frames) if i != 10]
    assert_only_original_frames(frames, h264_clip)


@pytest.mark.parametrize("delta", [-1, -100, +1, +300, +20000])
def test_lying_pes_length(h264_clip, delta: int) -> None:
    packs = mux_clip(h264_clip)
    target = bytearray(packs[12])
    pos = target.find(b"\x00\x00\x01\xe0")
    length = struct.unpack_from("!H", target, pos + 4)[0]
    struct.pack_into("!H", target, pos + 4, max(0, min(0xFFFF, length + delta)))
    packs[12] = bytes(target)
    for chunk in (1388, 1 << 20):
        frames, d = demux(b"".join(packs), chunk)
        assert d.stats.errors >= 1
        assert_only_original_frames(frames, h264_clip)
        got = {f.pts for f in frames}
        assert h264_clip.frames[12].pts not in got
        if delta < 1000:  # (a lie of 20000 bytes swallows most of this small clip)
            assert {f.pts for f in h264_clip.frames[20:]} <= got  # resynchronised


@pytest.mark.parametrize("psm_length", [11, 30, 0x3FA, 0xFFFF])
def test_lying_psm_length(h264_clip, psm_length: int) -> None:
    packs = mux_clip(h264_clip)
    key = bytearray(packs[25])
    pos = key.find(b"\x00\x00\x01\xbc")
    struct.pack_into("!H", key, pos + 4, psm_length)
    packs[25] = bytes(key)
    frames, d = demux(b"".join(packs), 1388)
    assert d.stats.errors >= 1
    assert_only_original_frames(frames, h264_clip)
    assert h264_clip.frames[25].pts not in {f.pts for f in frames}
    assert {f.pts for f in h264_clip.frames[30:]} <= {f.pts for f in frames}


@pytest.mark.parametrize("keep", [4, 5, 9, 13])
def test_truncated_pack_header(h264_clip, keep: int) -> None:
    packs = mux_clip(h264_clip)
    packs.insert(5, packs[5][:keep])
    frames, d = demux(b"".join(packs), 1388)
    assert_only_original_frames(frames, h264_clip)
    assert {f.pts for f in h264_clip.frames[10:]} <= {f.pts for f in frames}


def test_truncated_stream_end_emits_no_partial_frame(h264_clip) -> None:
    data = b"".join(mux_clip(h264_clip)[:5])
    frames, d = demux(data[:-10], 1388)
    assert [f.data for f in frames] == [f.data for f in h264_clip.frames[:4]]


def test_strict_mode_raises_at_the_boundary(h264_clip) -> None:
    packs = mux_clip(h264_clip)
    d = PsDemuxer(strict=True)
    d.push(packs[0])
    with pytest.raises(PsError, match="junk"):
        d.push(b"\x01\x02\x03\x04" + packs[1])
    assert d.push(packs[2]) == []  # hunting for a pack header: the next one starts fine
    assert [f.pts for f in d.push(packs[3]) + d.flush()] == [h264_clip.frames[2].pts, h264_clip.frames[3].pts]


def test_junk_is_never_buffered_unboundedly() -> None:
    rng = random.Random(13818)
    d = PsDemuxer()
    for _ in range(2000):
        assert d.push(rng.randbytes(1388).replace(b"\x00\x00\x01", b"\x00\x10\x01")) == []
        assert d.buffered <= 3
    assert d.stats.junk_bytes >= 2000 * 1388 - 3
    au = b"\x00\x00\x00\x01\x65" + b"Z" * 10
    good = build_pack_header(PackHeader(0)) + build_pes(PesPacket(0xE0, au, pts=1))
    assert [f.data for f in d.push(good) + d.flush()] == [au]


def test_oversized_frame_is_dropped() -> None:
    d = PsDemuxer(max_frame_size=5000)
    muxer = PsMuxer(max_pes_payload=1000)
    big = b"\x00\x00\x00\x01\x65" + b"x" * 6000
    small = b"\x00\x00\x00\x01\x41" + b"y" * 100
    out = d.push(muxer.mux_video(big, 3600)) + d.push(muxer.mux_video(small, 7200)) + d.flush()
    assert [f.data for f in out] == [small]
    assert d.stats.errors == 1 and "exceeds" in (d.last_error or "")


def test_non_system_start_code_is_an_error() -> None:
    d = PsDemuxer()
    d.push(b"\x00\x00\x01\x09\xf0")  # an H.264 AUD start code where a PS packet belongs
    assert d.stats.errors == 1


def test_demuxer_rejects_bad_arguments() -> None:
    with pytest.raises(PsError):
        PsDemuxer(max_frame_size=0)


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        op = rng.randrange(6)
        i = rng.randrange(len(b))
        if op == 0:
            b[i] = rng.randrange(256)
        elif op == 1:
            del b[i : i + rng.randrange(1, 64)]
        elif op == 2:
            b[i:i] = rng.randbytes(rng.randrange(1, 64))
        elif op == 3:
            j = rng.randrange(len(b))
            b[i:i] = b[j : j + rng.randrange(1, 200)]
        elif op == 4:
            b = b[:i]
            if not b:
                b = bytearray(b"\x00")
        else:  # a start code where none belongs, or a length byte flipped
            b[i:i] = rng.choice(
                [
                    b"\x00\x00\x01\xba",
                    b"\x00\x00\x01\xe0\xff\xff",
                    b"\x00\x00\x01\xbc\x03\xfa",
                    b"\x00\x00\x01\xbb\x00\x07",
                ]
            )
    return bytes(b)


def test_fuzz_mutated_real_program_streams(h264_clip, h265_clip) -> None:
    rng = random.Random(28181)
    sources = [b"".join(mux_clip(clip)[:6]) for clip in (h264_clip, h265_clip)]
    for round_ in range(3000):
        data = _mutate(rng, rng.choice(sources))
        strict = round_ % 5 == 0
        d = PsDemuxer(strict=strict, max_frame_size=1 << 16)
        chunk = rng.choice([1, 13, 188, 1388, 1 << 20])
        frames: list[PsFrame] = []
        for i in range(0, len(data), chunk):
            try:
                frames += d.push(data[i : i + chunk])
            except PsError:
                assert strict
            assert d.buffered <= (1 << 16) * 2 + 1100
        frames += d.flush()
        assert len(frames) <= len(data) // 9 + 1
        for f in frames:
            assert isinstance(f, PsFrame) and isinstance(f.data, bytes)
            assert 0 <= f.pts < 1 << 33 and 0xC0 <= f.stream_id <= 0xEF
