"""Fragmented MP4 for Media Source Extensions (ISO/IEC 14496-12, -15), read back by FFmpeg."""

from __future__ import annotations

import io
import struct

import av
import pytest

from xueliang.media import (
    Mp4Error,
    Sample,
    VideoCodec,
    annexb_to_avcc,
    box,
    codec_string,
    full_box,
    init_segment,
    iter_boxes,
    media_segment,
    parameter_sets,
    parse_avcc_config,
)

TICKS = 3600


def children(data: bytes) -> dict[bytes, bytes]:
    return dict(iter_boxes(data))


def find(data: bytes, path: str) -> bytes:
    """The payload at a slash-separated box path (container boxes only)."""
    for name in path.split("/"):
        data = children(data)[name.encode()]
    return data


def fragments(clip, per_fragment_gop: bool = True) -> list[bytes]:
    """One media segment per GOP, samples in decode order."""
    groups: list[list] = []
    for f in clip.frames:
        if f.keyframe or not groups:
            groups.append([])
        groups[-1].append(Sample(annexb_to_avcc(f.data), TICKS, f.pts, f.dts, f.keyframe))
    return [media_segment(i + 1, g) for i, g in enumerate(groups)]


def init_for(clip) -> bytes:
    ps = parameter_sets(clip.frames[0].data, VideoCodec.H264)
    return init_segment(ps.sps[0], ps.pps[0], clip.width, clip.height)


def test_box_and_full_box_layout() -> None:
    assert box(b"free") == b"\x00\x00\x00\x08free"
    assert box(b"abcd", b"12", b"34") == b"\x00\x00\x00\x0cabcd1234"
    assert full_box(b"mfhd", 1, 0x020001, b"\x00\x00\x00\x07") == (
        b"\x00\x00\x00\x10mfhd\x01\x02\x00\x01\x00\x00\x00\x07"
    )
    with pytest.raises(Mp4Error):
        box(b"abc")
    with pytest.raises(Mp4Error):
        full_box(b"abcd", 256, 0)


def test_iter_boxes_round_trip_and_size_forms() -> None:
    data = box(b"aaaa", b"1") + box(b"bbbb") + struct.pack("!I4sQ", 1, b"cccc", 20) + b"xxxx"
    assert list(iter_boxes(data)) == [(b"aaaa", b"1"), (b"bbbb", b""), (b"cccc", b"xxxx")]
    assert list(iter_boxes(b"\x00\x00\x00\x00mdatrest")) == [(b"mdat", b"rest")]


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00",
        b"\x00\x00\x00\x09abcd",
        b"\x00\x00\x00\x07abcd",
        struct.pack("!I4s", 1, b"cccc") + b"\x00",
        struct.pack("!I4sQ", 1, b"cccc", 15) + bytes(4),
    ],
)
def test_iter_boxes_lying_sizes(data: bytes) -> None:
    with pytest.raises(Mp4Error):
        list(iter_boxes(data))


def test_init_segment_structure(h264_clip) -> None:
    ps = parameter_sets(h264_clip.frames[0].data, VideoCodec.H264)
    init = init_for(h264_clip)
    top = list(iter_boxes(init))
    assert [k for k, _ in top] == [b"ftyp", b"moov"]
    assert top[0][1][:4] == b"iso5" and b"avc1" in top[0][1]
    assert [k for k, _ in iter_boxes(find(init, "moov"))] == [b"mvhd", b"trak", b"mvex"]
    stbl = find(init, "moov/trak/mdia/minf/stbl")
    assert [k for k, _ in iter_boxes(stbl)] == [b"stsd", b"stts", b"stsc", b"stsz", b"stco"]
    stsd = children(stbl)[b"stsd"]
    ((kind, avc1),) = iter_boxes(stsd, 8)
    assert kind == b"avc1" and struct.unpack_from("!HH", avc1, 24) == (320, 240)
    config = parse_avcc_config(children(avc1[78:])[b"avcC"])
    assert config.sps == ps.sps and config.pps == ps.pps
    assert find(init, "moov/trak/mdia/hdlr")[8:12] == b"vide"
    assert struct.unpack_from("!I", find(init, "moov/trak/mdia/mdhd"), 12)[0] == 90000
    assert struct.unpack_from("!I", find(init, "moov/mvex/trex"), 4)[0] == 1


def test_media_segment_structure(h264_clip) -> None:
    seg = fragments(h264_clip)[1]
    (moof_kind, moof), (mdat_kind, mdat) = iter_boxes(seg)
    assert (moof_kind, mdat_kind) == (b"moof", b"mdat")
    assert struct.unpack_from("!I", find(seg, "moof/mfhd"), 4)[0] == 2
    traf = children(moof)[b"traf"]
    tfdt = children(traf)[b"tfdt"]
    assert tfdt[0] == 1 and struct.unpack_from("!Q", tfdt, 4)[0] == h264_clip.frames[25].dts
    trun = children(traf)[b"trun"]
    count, offset = struct.unpack_from("!Ii", trun, 4)
    assert count == 25 and offset == len(moof) + 8 + 8  # moof box, then the mdat header
    sizes = [struct.unpack_from("!I", trun, 12 + 16 * i + 4)[0] for i in range(count)]
    assert sum(sizes) == len(mdat)
    first_flags = struct.unpack_from("!I", trun, 12 + 8)[0]
    second_flags = struct.unpack_from("!I", trun, 12 + 16 + 8)[0]
    assert (first_flags, second_flags) == (0x02000000, 0x01010000)


def test_pyav_plays_the_fragmented_file(h264_clip) -> None:
    data = init_for(h264_clip) + b"".join(fragments(h264_clip))
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        pictures = list(container.decode(stream))
    assert len(pictures) == len(h264_clip.frames)
    assert {(p.width, p.height) for p in pictures} == {(320, 240)}
    assert sorted(p.pts for p in pictures) == sorted(f.pts for f in h264_clip.frames)


def test_codec_string(h264_clip) -> None:
    ps = parameter_sets(h264_clip.frames[0].data, VideoCodec.H264)
    assert codec_string(ps.sps[0]) == "avc1.64000d"  # High, level 1.3 for 320x240
    with pytest.raises(Mp4Error):
        codec_string(ps.pps[0])


def test_validation() -> None:
    with pytest.raises(Mp4Error):
        media_segment(1, [])
    with pytest.raises(Mp4Error):
        Sample(b"", -1, 0, 0, True)
    with pytest.raises(Mp4Error):
        Sample(b"", 1, 0, -1, True)
    with pytest.raises(Mp4Error):
        Sample(b"", 1, 1 << 32, 0, True)
    with pytest.raises(Mp4Error):
        init_segment(b"\x67\x64\x00\x1f", b"\x68", 0, 240)
