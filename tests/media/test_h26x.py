"""H.264/H.265 bitstream helpers, checked against FFmpeg's decoders."""

from __future__ import annotations

import contextlib
import random

import av
import pytest

from xueliang.media import (
    BitReader,
    BitstreamError,
    H264NalType,
    H265NalType,
    VideoCodec,
    annexb_to_avcc,
    avcc_to_annexb,
    build_avcc_config,
    build_hvcc_config,
    escape_rbsp,
    guess_codec,
    is_keyframe,
    iter_nal_units,
    nal_type,
    parameter_sets,
    parse_avcc_config,
    parse_h264_sps,
    parse_h265_sps,
    split_annexb,
    unescape_rbsp,
)

# -- Annex B -----------------------------------------------------------------------------------


def test_split_annexb_three_and_four_byte_start_codes() -> None:
    data = b"junk\x00\x00\x00\x01\x67AB\x00\x00\x01\x68CD\x00\x00\x00\x00\x01\x65EF\x00\x00"
    assert split_annexb(data) == [b"\x67AB", b"\x68CD", b"\x65EF"]
    assert split_annexb(b"") == [] and split_annexb(b"\x00\x00\x01") == []
    assert list(iter_nal_units(b"\x00\x00\x01\x09\xf0")) == [b"\x09\xf0"]


def test_nal_types_and_keyframes_match_the_encoder(h264_clip, h265_clip) -> None:
    for clip in (h264_clip, h265_clip):
        assert [is_keyframe(f.data, clip.codec) for f in clip.frames] == [f.keyframe for f in clip.frames]
    first264 = [nal_type(n, VideoCodec.H264) for n in split_annexb(h264_clip.frames[0].data)]
    assert first264[:2] == [H264NalType.SPS, H264NalType.PPS]
    assert H264NalType.IDR in first264
    first265 = [nal_type(n, VideoCodec.H265) for n in split_annexb(h265_clip.frames[0].data)]
    assert first265[:3] == [H265NalType.VPS, H265NalType.SPS, H265NalType.PPS]
    assert {H265NalType.IDR_W_RADL, H265NalType.IDR_N_LP} & set(first265)
    with pytest.raises(BitstreamError):
        nal_type(b"", VideoCodec.H264)


def test_guess_codec_on_real_streams(h264_clip, h265_clip) -> None:
    for clip in (h264_clip, h265_clip):
        guesses = [guess_codec(f.data) for f in clip.frames]
        assert set(guesses) <= {clip.codec, None}
        assert all(g is clip.codec for g, f in zip(guesses, clip.frames, strict=True) if f.keyframe)
        assert guesses.count(clip.codec) >= len(guesses) * 0.9
    assert guess_codec(b"\x00\x00\x01\xff") is None
    assert guess_codec(b"no start code") is None


def test_parameter_sets(h264_clip, h265_clip) -> None:
    ps = parameter_sets(h264_clip.frames[0].data, VideoCodec.H264)
    assert len(ps.sps) == 1 and len(ps.pps) == 1 and ps.vps == ()
    assert parameter_sets(h264_clip.frames[1].data, VideoCodec.H264).sps == ()
    ps = parameter_sets(h265_clip.frames[0].data, VideoCodec.H265)
    assert (len(ps.vps), len(ps.sps), len(ps.pps)) == (1, 1, 1)


def test_annexb_avcc_round_trip(h264_clip) -> None:
    for f in h264_clip.frames:
        avcc = annexb_to_avcc(f.data)
        assert split_annexb(avcc_to_annexb(avcc)) == split_annexb(f.data)
    small = annexb_to_avcc(b"\x00\x00\x01\x09\xf0\x00\x00\x01\x41xyz", length_size=2)
    assert small == b"\x00\x02\x09\xf0\x00\x04\x41xyz"
    assert avcc_to_annexb(small, 2) == b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x41xyz"


@pytest.mark.parametrize(
    ("data", "size"),
    [(b"\x00\x00\x00\x09abc", 4), (b"\x00\x00", 4), (b"\x05ab", 1), (b"", 3)],
)
def test_avcc_lying_lengths(data: bytes, size: int) -> None:
    with pytest.raises(BitstreamError):
        avcc_to_annexb(data, size)


def test_annexb_to_avcc_rejects_nal_too_long_for_the_length_size() -> None:
    with pytest.raises(BitstreamError):
        annexb_to_avcc(b"\x00\x00\x01" + b"\x41" * 300, length_size=1)


# -- RBSP, bit reader --------------------------------------------------------------------------


def test_emulation_prevention_round_trip() -> None:
    assert escape_rbsp(b"\x00\x00\x00\x00\x01\x00\x00\x04") == (b"\x00\x00\x03\x00\x00\x03\x01\x00\x00\x04")
    rng = random.Random(264)
    for _ in range(500):
        raw = bytes(rng.choice([0, 0, 0, 1, 2, 3, 4, 255]) for _ in range(rng.randrange(64)))
        escaped = escape_rbsp(raw)
        assert b"\x00\x00\x00" not in escaped and b"\x00\x00\x01" not in escaped
        assert unescape_rbsp(escaped) == raw


def test_bit_reader_exp_golomb() -> None:
    # bits: 1 | 010 | 011 | 00100 | 00101 | 1 -> ue 0,1,2,3,4 ; then u(1)
    r = BitReader(bytes([0b10100110, 0b01000010, 0b11000000]))
    assert [r.ue() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert r.u(1) == 1
    r = BitReader(bytes([0b01001100, 0b10000000]))  # 010 011 00100 -> se +1, -1, +2
    assert [r.se(), r.se(), r.se()] == [1, -1, 2]
    with pytest.raises(BitstreamError):
        BitReader(b"\x00" * 5).ue()
    with pytest.raises(BitstreamError):
        BitReader(b"\xff").u(9)
    r = BitReader(b"\xff")
    r.skip(8)
    assert r.remaining == 0
    with pytest.raises(BitstreamError):
        r.skip(1)


# -- SPS against FFmpeg ------------------------------------------------------------------------

SPS_CASES = [
    ("libx264", 320, 240, "yuv420p", None, 100, 1, True),
    ("libx264", 640, 360, "yuv420p", {"profile": "baseline"}, 66, 1, True),  # cropped 368->360
    ("libx264", 1280, 720, "yuv420p", {"profile": "main", "x264-params": "sar=4/3"}, 77, 1, True),
    ("libx264", 1920, 1080, "yuv420p", None, 100, 1, True),  # cropped 1088->1080
    ("libx264", 320, 240, "yuv422p", None, 122, 2, True),
    ("libx264", 320, 240, "yuv444p", None, 244, 3, True),
    ("libx264", 352, 288, "yuv420p", {"x264-params": "interlaced=1"}, 100, 1, False),
    ("libx264", 330, 186, "yuv420p", None, 100, 1, True),  # odd crop on both axes
]


@pytest.mark.parametrize(
    ("encoder", "width", "height", "pix_fmt", "options", "profile", "chroma", "frame_mbs"),
    SPS_CASES,
)
def test_h264_sps_matches_ffmpeg(
    encoder: str,
    width: int,
    height: int,
    pix_fmt: str,
    options: dict | None,
    profile: int,
    chroma: int,
    frame_mbs: bool,
    encode,
    decode,
) -> None:
    clip = encode(encoder, width, height, frames=2, options=options, pix_fmt=pix_fmt)
    sps = parse_h264_sps(parameter_sets(clip.frames[0].data, VideoCodec.H264).sps[0])
    picture = decode(VideoCodec.H264, [f.data for f in clip.frames])[0]
    assert (sps.width, sps.height) == (picture.width, picture.height) == (width, height)
    assert (sps.profile_idc, sps.chroma_format_idc, sps.frame_mbs_only) == (profile, chroma, frame_mbs)
    assert sps.bit_depth_luma == 8 and sps.fps == 25.0


@pytest.mark.parametrize(
    ("width", "height", "pix_fmt", "profile", "chroma"),
    [
        (320, 240, "yuv420p", 1, 1),
        (322, 242, "yuv420p", 1, 1),
        (1920, 1080, "yuv420p", 1, 1),
        (320, 240, "yuv444p", 4, 3),
    ],
)
def test_h265_sps_matches_ffmpeg(
    width: int,
    height: int,
    pix_fmt: str,
    profile: int,
    chroma: int,
    encode,
    decode,
) -> None:
    clip = encode("libx265", width, height, frames=2, pix_fmt=pix_fmt)
    sps = parse_h265_sps(parameter_sets(clip.frames[0].data, VideoCodec.H265).sps[0])
    picture = decode(VideoCodec.H265, [f.data for f in clip.frames])[0]
    assert (sps.width, sps.height) == (picture.width, picture.height) == (width, height)
    assert (sps.profile_idc, sps.chroma_format_idc, sps.max_sub_layers) == (profile, chroma, 1)


def test_truncated_and_wrong_sps(h264_clip, h265_clip) -> None:
    sps264 = parameter_sets(h264_clip.frames[0].data, VideoCodec.H264).sps[0]
    sps265 = parameter_sets(h265_clip.frames[0].data, VideoCodec.H265).sps[0]
    for parse, sps in ((parse_h264_sps, sps264), (parse_h265_sps, sps265)):
        for cut in range(len(sps)):
            with contextlib.suppress(BitstreamError):
                parse(sps[:cut])
    with pytest.raises(BitstreamError, match="not an H.264 SPS"):
        parse_h264_sps(sps265)
    with pytest.raises(BitstreamError, match="not an H.265 SPS"):
        parse_h265_sps(sps264)
    rng = random.Random(265)
    for _ in range(2000):
        junk = bytearray(sps264)
        junk[rng.randrange(1, len(junk))] = rng.randrange(256)
        with contextlib.suppress(BitstreamError):
            parse_h264_sps(bytes(junk))


# -- decoder configuration records -------------------------------------------------------------


def test_avcc_config_round_trip_and_ffmpeg_decodes_with_it(h264_clip) -> None:
    ps = parameter_sets(h264_clip.frames[0].data, VideoCodec.H264)
    record = build_avcc_config(ps.sps, ps.pps)
    config = parse_avcc_config(record)
    assert (config.sps, config.pps, config.length_size) == (ps.sps, ps.pps, 4)
    assert (config.profile_idc, config.level_idc) == (ps.sps[0][1], ps.sps[0][3])
    assert record[-4:] == bytes((0xFD, 0xF8, 0xF8, 0))  # high profile: 4:2:0, 8 bit, no ext
    ctx = av.CodecContext.create("h264", "r")
    ctx.extradata = record
    pictures = []
    for f in h264_clip.frames:  # length-prefixed samples, no in-band start codes
        pictures += ctx.decode(av.Packet(annexb_to_avcc(f.data)))
    pictures += ctx.decode(None)
    assert len(pictures) == len(h264_clip.frames)
    assert {(p.width, p.height) for p in pictures} == {(320, 240)}


@pytest.mark.parametrize(
    "record",
    [
        b"",
        b"\x02" + bytes(10),
        bytes.fromhex("0164001fffe1"),
        bytes.fromhex("0164001fffe10010abcd"),
        bytes.fromhex("0164001fffe1000267640102ff"),
    ],
)
def test_avcc_config_lying_lengths(record: bytes) -> None:
    with pytest.raises(BitstreamError):
        parse_avcc_config(record)


def test_avcc_config_needs_parameter_sets() -> None:
    with pytest.raises(BitstreamError):
        build_avcc_config([], [b"\x68"])
    with pytest.raises(BitstreamError):
        build_avcc_config([b"\x67"], [b"\x68"])


def test_hvcc_config_ffmpeg_decodes_with_it(h265_clip) -> None:
    ps = parameter_sets(h265_clip.frames[0].data, VideoCodec.H265)
    record = build_hvcc_config(ps.vps, ps.sps, ps.pps)
    assert record[0] == 1 and record[22] == 3  # version, three arrays
    ctx = av.CodecContext.create("hevc", "r")
    ctx.extradata = record
    pictures = []
    for f in h265_clip.frames:
        pictures += ctx.decode(av.Packet(annexb_to_avcc(f.data)))
    pictures += ctx.decode(None)
    assert len(pictures) == len(h265_clip.frames)
    assert {(p.width, p.height) for p in pictures} == {(320, 240)}
    with pytest.raises(BitstreamError):
        build_hvcc_config([], ps.sps, ps.pps)
