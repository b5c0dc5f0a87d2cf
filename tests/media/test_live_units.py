"""The pure parts of the live runtime: frame queue, timestamp rebasing, fMP4 packaging,
Annex B conversion, the PS/RTP pacer, test clips and RTSP URL credentials."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from xueliang.media import (
    AnnexBConverter,
    FaultPattern,
    Fmp4Packager,
    FrameQueue,
    MediaFrame,
    NoMedia,
    PsDemuxer,
    PsRtpPacer,
    RtpReceiver,
    SourceClosed,
    TimestampRebaser,
    VideoCodec,
    annexb_to_avcc,
    build_avcc_config,
    clip_frames,
    iter_boxes,
    parameter_sets,
    render_picture,
    url_with_credentials,
)

H264 = VideoCodec.H264


def frame(pts: int, key: bool = False, size: int = 10) -> MediaFrame:
    return MediaFrame(H264, pts, key, bytes(size))


async def test_queue_starts_on_a_keyframe_and_overflow_skips_to_the_next() -> None:
    queue: FrameQueue[MediaFrame] = FrameQueue(max_items=3)
    queue.put(frame(0))
    assert len(queue) == 0 and queue.dropped == 1
    for i in range(1, 4):
        queue.put(frame(i, key=i == 1))
    queue.put(frame(4))  # overflow: everything goes, wait for a keyframe
    queue.put(frame(5))
    assert len(queue) == 0 and queue.overflows == 1
    queue.put(frame(6, key=True))
    assert (await queue.get()).pts == 6


async def test_queue_timeout_and_close() -> None:
    queue: FrameQueue[MediaFrame] = FrameQueue()
    with pytest.raises(NoMedia):
        await queue.get(0.05)
    queue.put(frame(1, key=True))
    queue.close(SourceClosed("gone"))
    assert (await queue.get()).pts == 1, "queued items are read before the error"
    with pytest.raises(SourceClosed, match="gone"):
        await queue.get()


async def test_queue_wakes_a_waiting_reader() -> None:
    queue: FrameQueue[MediaFrame] = FrameQueue()
    reader = asyncio.ensure_future(queue.get(5))
    await asyncio.sleep(0)
    queue.put(frame(7, key=True))
    assert (await reader).pts == 7


def test_rebaser_keeps_one_increasing_timeline() -> None:
    rebaser = TimestampRebaser()
    out = [rebaser.map(t, t) for t in (900000, 903600, 907200)]
    assert [d for _, d in out] == [0, 3600, 7200]
    rebaser.new_segment()  # a reconnect: the camera's clock restarts anywhere
    assert rebaser.map(5, 5) == (10800, 10800)
    assert rebaser.map(3605, 3605)[1] == 14400
    assert rebaser.map(0, 0)[1] == 18000, "a backwards jump continues one frame later"
    assert rebaser.map(3600 + 90000 * 60, 3600 + 90000 * 60)[1] == 21600, "so does a huge jump"
    assert rebaser.discontinuities == 2


def test_pts_offsets_of_b_frames_are_kept() -> None:
    rebaser = TimestampRebaser()
    assert rebaser.map(7200, 0) == (7200, 0)
    assert rebaser.map(3600, 3600) == (3600, 3600)


def test_packager_makes_init_from_the_keyframe_and_one_fragment_per_frame() -> None:
    clip = clip_frames("34020000001320000001", "normal", "h264", seconds=1)
    packager = Fmp4Packager()
    fragments = [packager.package(f) for f in clip]
    assert all(fragments)
    init = fragments[0].init  # type: ignore[union-attr]
    assert (init.width, init.height) == (640, 360) and init.codec.startswith("avc1.4d")
    assert [k for k, _ in iter_boxes(init.segment)] == [b"ftyp", b"moov"]
    assert [k for k, _ in iter_boxes(fragments[1].data)] == [b"moof", b"mdat"]  # type: ignore[union-attr]
    assert all(f.init is init for f in fragments)  # type: ignore[union-attr]
    data = init.segment + b"".join(f.data for f in fragments)  # type: ignore[union-attr]
    import io

    with av.open(io.BytesIO(data), format="mp4") as container:
        assert len(list(container.decode(video=0))) == len(clip)


def test_packager_waits_for_a_keyframe_with_parameter_sets() -> None:
    clip = clip_frames("34020000001320000001", "normal", "h264", seconds=1)
    packager = Fmp4Packager()
    assert packager.package(clip[1]) is None
    assert packager.package(clip[0]) is not None


def test_avcc_packets_become_annexb_with_parameter_sets_on_keyframes() -> None:
    clip = clip_frames("34020000001320000001", "normal", "h264", seconds=1)
    sets = parameter_sets(clip[0].data, H264)
    extradata = build_avcc_config(sets.sps, sets.pps)
    converter = AnnexBConverter(H264, extradata)
    bare_key = annexb_to_avcc(b"".join(b"\x00\x00\x00\x01" + n for n in _slices(clip[0].data)))
    data, key = converter.convert(bare_key)
    assert key and parameter_sets(data, H264).sps == sets.sps
    data, key = converter.convert(annexb_to_avcc(clip[1].data))
    assert not key and data.startswith(b"\x00\x00\x00\x01")


def _slices(access_unit: bytes) -> list[bytes]:
    from xueliang.media import iter_nal_units

    return [n for n in iter_nal_units(access_unit) if n[0] & 0x1F in (1, 5)]


def test_pacer_loops_with_continuous_timestamps_and_sequence_numbers() -> None:
    clip = clip_frames("34020000001320000001", "normal", "h265", seconds=1)
    pacer = PsRtpPacer(clip, 1234, first_sequence=65530)
    receiver = RtpReceiver(1234)
    demuxer = PsDemuxer()
    dues, frames = [], []
    for _ in range(len(clip) * 2 + 5):
        due, packets = pacer.next()  # type: ignore[misc]
        dues.append(due)
        for p in packets:
            for rtp_frame in receiver.push(p, 0.0):
                frames += demuxer.push(rtp_frame.payload) + demuxer.flush()
    frames += [f for rf in receiver.flush() for f in demuxer.push(rf.payload) + demuxer.flush()]
    assert np.allclose(np.diff(dues), 0.04)
    assert len(frames) == len(clip) * 2 + 5 and receiver.stats.lost == 0
    assert all(b.pts - a.pts == 3600 for a, b in zip(frames, frames[1:], strict=False))


@pytest.mark.parametrize("fault", list(FaultPattern))
def test_every_fault_renders_with_its_label(fault: FaultPattern) -> None:
    normal = render_picture("34020000001320000001", "normal", 10, 320, 180, 25).astype(float)
    picture = render_picture("34020000001320000001", fault, 10, 320, 180, 25).astype(float)
    assert picture.shape == (180, 320, 3)
    if fault is FaultPattern.NORMAL:
        return
    if fault is FaultPattern.FROZEN:
        later = render_picture("34020000001320000001", fault, 20, 320, 180, 25)
        assert np.array_equal(
            later[60:], render_picture("34020000001320000001", fault, 30, 320, 180, 25)[60:]
        )
        return
    assert np.abs(picture - normal).mean() > 3, f"{fault} looks like the normal picture"
    assert picture[:40, :].max() > 200, "the white OSD label is drawn over every fault"


def test_fault_aliases() -> None:
    assert FaultPattern.parse("blurred") is FaultPattern.BLUR
    assert FaultPattern.parse("black screen") is FaultPattern.SIGNAL_LOSS
    assert FaultPattern.parse("occluded") is FaultPattern.OCCLUSION


def test_clips_are_cached_on_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = clip_frames("34020000001320000042", "noise", "h264", 320, 180, seconds=0.4, cache_dir=tmp_path)
    (path,) = tmp_path.iterdir()
    assert first[0].keyframe and len(first) == 10
    from xueliang.media.clips import _load

    assert [f.data for f in _load(path, H264) or []] == [f.data for f in first]


@pytest.mark.parametrize("fault", ["frozen", "normal"])
def test_looped_clip_keyframes_look_like_a_running_camera(tmp_path, fault: str) -> None:  # type: ignore[no-untyped-def]
    """Every pair of keyframes two seconds apart, across the loop too, is frozen on a frozen
    clip and never on a normal one: no IDR from a cold encoder re-quantises the picture."""
    from xueliang.quality import DefectKind, diagnose

    clip = clip_frames("34020000001320000042", fault, "h264", seconds=4, cache_dir=tmp_path)
    decoder = av.CodecContext.create("h264", "r")
    keys = []
    for f in clip:
        pictures = decoder.decode(av.Packet(f.data))
        if f.keyframe:
            keys += [p.to_ndarray(format="bgr24") for p in pictures]
    assert clip[0].keyframe and len(keys) == 4
    frozen = [DefectKind.FROZEN in diagnose(keys[(i + 2) % 4], previous=keys[i]).kinds for i in range(4)]
    assert frozen == [fault == "frozen"] * 4


def test_credentials_are_put_into_the_url_encoded() -> None:
    url = url_with_credentials("rtsp://10.0.0.5:554/Streaming/Channels/101", "admin", "p@ss:w/rd")
    assert url == "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:554/Streaming/Channels/101"
    assert url_with_credentials("rtsp://h/x", None, None) == "rtsp://h/x"
