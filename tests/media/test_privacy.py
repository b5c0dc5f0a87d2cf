"""Privacy masks: the pure core (polygons burned into BGR and YUV pictures), the masking
transcoder on real H.264, and the hub giving masked viewers a masked stream of their own
while unmasked viewers keep the zero-copy one; snapshots with masks burned in."""

from __future__ import annotations

import asyncio
import io
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from tests.media.conftest import Clip
from tests.media.test_hub import CH1, CH2, make_hub, take
from tests.support.media_device import ChannelMedia, LoopbackDevice

from xueliang.media import (
    CLOCK_RATE,
    LiveFrame,
    MaskError,
    MaskPolygon,
    MediaFrame,
    PrivacyMasks,
    Transcoder,
    VideoCodec,
    snapshot_jpeg,
)

# A pentagon over the upper-left buildings of the test scene, and a box inside it to measure.
PENTAGON = PrivacyMasks.of([[[0.05, 0.2], [0.5, 0.15], [0.55, 0.5], [0.3, 0.75], [0.05, 0.6]]])
BOX = (0.12, 0.25, 0.45, 0.55)  # x0, y0, x1, y1: inside the pentagon
OUTSIDE = (0.62, 0.1, 0.95, 0.5)  # nowhere near it


def region(picture: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = picture.shape[:2]
    x0, y0, x1, y1 = box
    return picture[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]


def blank(area: np.ndarray) -> bool:
    """Uniformly the mask's black (allowing for lossy coding)."""
    return float(area.std()) < 4 and float(area.mean()) < 24


def textured(area: np.ndarray) -> bool:
    return float(area.std()) > 10


# -- the pure core ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([[0, 0], [1, 1]], "3 to 64 points"),
        ([[0, 0], [1, 0], [1.2, 1]], "outside 0..1"),
        ([[0, 0], [1, 0], [float("nan"), 1]], "outside 0..1"),
        ([[0, 0], [0.5, 0.5], [1, 1]], "no area"),
        ([[0.0, 0.0]] * 65, "3 to 64 points"),
        ([[0, 0], [1, 0], ["a", 1]], "pairs of numbers"),
        ([[0, 0, 0], [1, 0, 0], [1, 1, 0]], "pairs of numbers"),
    ],
)
def test_bad_polygons_are_refused_with_the_reason(points: list, words: str) -> None:
    with pytest.raises(MaskError, match=words):
        PrivacyMasks.of([points])


def test_at_most_32_masks() -> None:
    square = [[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]]
    assert len(PrivacyMasks.of([square] * 32).polygons) == 32
    with pytest.raises(MaskError, match="at most 32"):
        PrivacyMasks.of([square] * 33)


def test_burn_fills_the_polygon_and_nothing_else() -> None:
    rng = np.random.default_rng(1)
    picture = rng.integers(40, 255, (360, 640, 3), dtype=np.uint8)
    before = picture.copy()
    PENTAGON.burn(picture)
    assert (region(picture, BOX) == 0).all()
    assert (region(picture, OUTSIDE) == region(before, OUTSIDE)).all()
    filled = (picture == 0).all(axis=2).mean()
    assert filled == pytest.approx(PENTAGON.polygons[0].area(), rel=0.03)


@pytest.mark.parametrize("size", [(320, 180), (1280, 720), (704, 576)])
def test_normalised_polygons_cover_the_same_share_at_any_resolution(size: tuple[int, int]) -> None:
    width, height = size
    picture = np.full((height, width, 3), 200, np.uint8)
    PENTAGON.burn(picture)
    assert (picture == 0).all(axis=2).mean() == pytest.approx(PENTAGON.polygons[0].area(), rel=0.05)


def test_burn_yuv420p_blackens_luma_and_greys_chroma() -> None:
    frame = av.VideoFrame.from_ndarray(np.full((240, 320, 3), 180, np.uint8), format="bgr24")
    frame = frame.reformat(format="yuv420p")
    frame.pts, frame.time_base = 9000, Fraction(1, CLOCK_RATE)
    masked = PENTAGON.burn_frame(frame)
    assert (masked.pts, masked.time_base) == (9000, Fraction(1, CLOCK_RATE))
    y = masked.to_ndarray(format="yuv420p")[:240]
    assert (region(y, BOX) == 16).all() and (region(y, OUTSIDE) != 16).all()
    bgr = masked.to_ndarray(format="bgr24")
    assert blank(region(bgr, BOX)) and not blank(region(bgr, OUTSIDE))
    assert PrivacyMasks().burn_frame(frame) is frame, "no masks: the frame itself"


def test_polygon_area_and_pixels() -> None:
    square = MaskPolygon(((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.0, 0.5)))
    assert square.area() == 0.25
    assert square.pixels(640, 360).tolist() == [[0, 0], [320, 0], [320, 180], [0, 180]]


# -- the masking transcoder on real H.264 -----------------------------------------------------------


def decode_all(frames: list[MediaFrame]) -> list[np.ndarray]:
    decoder = av.CodecContext.create("h264", "r")
    pictures = []
    for frame in frames:
        pictures += decoder.decode(av.Packet(frame.data))
    pictures += decoder.decode(None)
    return [p.to_ndarray(format="bgr24") for p in pictures]


async def test_transcoder_burns_masks_into_h264_and_takes_new_ones_on_the_fly(h264_clip: Clip) -> None:
    out: list[MediaFrame] = []
    errors: list[Exception] = []
    transcoder = Transcoder(out.append, errors.append, source=VideoCodec.H264, masks=PENTAGON)
    loop = asyncio.get_running_loop()
    try:
        half = len(h264_clip.frames) // 2
        for index, encoded in enumerate(h264_clip.frames):
            if index == half:  # the masks are edited mid-stream
                deadline = loop.time() + 20
                while len(out) < half - 4 and loop.time() < deadline:
                    await asyncio.sleep(0.02)
                transcoder.masks = PrivacyMasks()
                mark = len(out)
            transcoder.push(
                MediaFrame(VideoCodec.H264, encoded.pts, encoded.keyframe, encoded.data, encoded.dts)
            )
        deadline = loop.time() + 20
        while len(out) < len(h264_clip.frames) - 2 and loop.time() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await transcoder.close()
    assert not errors
    assert out[0].keyframe and all(f.codec is VideoCodec.H264 for f in out)
    pictures = decode_all(out)
    assert all(blank(region(p, BOX)) for p in pictures[: mark - 1])
    assert all(textured(region(p, OUTSIDE)) for p in pictures)
    assert all(textured(region(p, BOX)) for p in pictures[mark + 2 :]), "unmasked after the edit"


# -- the hub ---------------------------------------------------------------------------------------


def decode_fmp4(items: list[LiveFrame]) -> list[np.ndarray]:
    assert items[0].fragment is not None
    data = items[0].fragment.init.segment + b"".join(i.fragment.data for i in items if i.fragment)
    with av.open(io.BytesIO(data), format="mp4") as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


@pytest.mark.parametrize(("channel", "codec"), [(CH1, "h264"), (CH2, "h265")])
async def test_masked_viewers_share_one_masking_transcoder_beside_the_zero_copy_path(
    channel: str, codec: str
) -> None:
    device = LoopbackDevice({CH2: ChannelMedia(codec="h265")})
    hub = make_hub(device)
    try:
        plain = hub.watch(channel)
        masked = [hub.watch(channel, masks=PENTAGON) for _ in range(3)]
        batches = await asyncio.gather(take(plain, 20), *(take(v, 20) for v in masked))
        (info,) = hub.sessions()
        assert info.masking and info.viewers == 4 and device.invites == 1
        assert info.transcoding is (codec == "h265"), "the unmasked viewer's path is untouched"
        plain_items, *masked_batches = batches
        for batch in masked_batches[1:]:  # one transcoder: the very same fragments
            assert [i.fragment for i in batch] == [i.fragment for i in masked_batches[0]]
        assert masked_batches[0][0].fragment is not plain_items[0].fragment
        for picture in decode_fmp4(masked_batches[0]):
            assert picture.shape == (360, 640, 3)
            assert blank(region(picture, BOX)) and textured(region(picture, OUTSIDE))
        for picture in decode_fmp4(plain_items):
            assert textured(region(picture, BOX))
        assert hub.codec_string(channel, masked=True) == masked_batches[0][0].fragment.init.codec  # type: ignore[union-attr]
        for viewer in masked:
            viewer.close()
        assert not hub.sessions()[0].masking, "the masking transcoder stops with its last viewer"
        await take(plain, 5)
    finally:
        await hub.close()


async def test_edited_masks_reach_masked_viewers_at_once() -> None:
    device = LoopbackDevice()
    hub = make_hub(device)
    moved = PrivacyMasks.of([[[0.6, 0.05], [0.97, 0.05], [0.97, 0.55], [0.6, 0.55]]])
    try:
        viewer = hub.watch(CH1, masks=PENTAGON)
        before = await take(viewer, 10)
        hub.update_masks(CH1, moved)
        keyframes = 0
        while keyframes < 2:  # past what was already on its way when the masks changed
            item = await viewer.get(10)
            keyframes += item.keyframe
        after = [item, *await take(viewer, 9)]
        for picture in decode_fmp4(before):
            assert blank(region(picture, BOX)) and textured(region(picture, OUTSIDE))
        for picture in decode_fmp4(after):
            assert textured(region(picture, BOX)) and blank(region(picture, OUTSIDE))
    finally:
        await hub.close()


async def test_masked_snapshot_is_blank_where_masked_and_unmasked_is_not() -> None:
    device = LoopbackDevice({CH2: ChannelMedia(codec="h265")})
    hub = make_hub(device)
    try:
        for channel in (CH1, CH2):
            masked = await snapshot_jpeg(hub, channel, timeout=5, masks=PENTAGON)
            plain = await snapshot_jpeg(hub, channel, timeout=5)
            masked_picture = cv2.imdecode(np.frombuffer(masked, np.uint8), cv2.IMREAD_COLOR)
            plain_picture = cv2.imdecode(np.frombuffer(plain, np.uint8), cv2.IMREAD_COLOR)
            assert blank(region(masked_picture, BOX)) and textured(region(masked_picture, OUTSIDE))
            assert textured(region(plain_picture, BOX))
    finally:
        await hub.close()
