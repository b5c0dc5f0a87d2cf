"""Real video for the media tests: short clips encoded with PyAV (libx264, libx265)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import pytest

from xueliang.media import VideoCodec

FPS = 25
TICKS = 90000 // FPS  # 90 kHz ticks per frame


@dataclass(frozen=True)
class EncodedFrame:
    """One Annex B access unit with 90 kHz timestamps (shifted so that DTS >= 0)."""

    data: bytes
    pts: int
    dts: int
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    codec: VideoCodec
    width: int
    height: int
    frames: list[EncodedFrame]


def pattern(width: int, height: int, index: int, noise: bool = False) -> np.ndarray:
    """A moving test pattern (gradient bars plus a moving square), RGB."""
    x = np.arange(width, dtype=np.int32)
    y = np.arange(height, dtype=np.int32)[:, None]
    img = np.empty((height, width, 3), np.uint8)
    img[:, :, 0] = ((x + 4 * index) % 256)[None, :]
    img[:, :, 1] = (y * 2 + index) % 256
    img[:, :, 2] = ((x[None, :] // 16 + y // 16 + index) % 2) * 200
    side = max(8, height // 6)
    left = (index * 7) % max(1, width - side)
    img[height // 3 : height // 3 + side, left : left + side] = (255, 255, 0)
    if noise:
        rng = np.random.default_rng(index)
        img ^= rng.integers(0, 64, img.shape, dtype=np.uint8)
    return img


def encode_clip(
    encoder: str,
    width: int = 320,
    height: int = 240,
    frames: int = 50,
    options: dict[str, str] | None = None,
    profile: str | None = None,
    noise: bool = False,
    pix_fmt: str = "yuv420p",
) -> Clip:
    ctx = av.CodecContext.create(encoder, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, pix_fmt
    ctx.time_base = Fraction(1, FPS)
    ctx.framerate = Fraction(FPS)
    ctx.gop_size = FPS
    if profile:
        ctx.profile = profile
    ctx.options = (X265 if encoder == "libx265" else {}) | (options or {})
    packets = []
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(pattern(width, height, i, noise), format="rgb24")
        frame = frame.reformat(format=pix_fmt)
        frame.pts = i
        packets += ctx.encode(frame)
    packets += ctx.encode(None)
    shift = -min(p.dts for p in packets)
    out = [
        EncodedFrame(bytes(p), (p.pts + shift) * TICKS, (p.dts + shift) * TICKS, p.is_keyframe)
        for p in packets
    ]
    codec = VideoCodec.H264 if "264" in encoder else VideoCodec.H265
    return Clip(codec, width, height, out)


X265 = {"x265-params": "keyint=25:min-keyint=25:repeat-headers=1:log-level=error"}


@pytest.fixture(scope="session")
def h264_clip() -> Clip:
    """320x240, 25 fps, 2 s, GOP 25, with B-frames (so PTS != DTS)."""
    return encode_clip("libx264")


@pytest.fixture(scope="session")
def h264_big_clip() -> Clip:
    """1280x720 noisy frames: keyframes larger than one PES packet (> 64 KiB)."""
    return encode_clip("libx264", 1280, 720, frames=12, noise=True)


@pytest.fixture(scope="session")
def h265_clip() -> Clip:
    return encode_clip("libx265")


def decode_frames(codec: VideoCodec, units: list[bytes]) -> list[av.VideoFrame]:
    """Decode Annex B access units with FFmpeg's decoder, returning the pictures."""
    ctx = av.CodecContext.create(codec.value, "r")
    pictures = []
    for unit in units:
        pictures += ctx.decode(av.Packet(unit))
    pictures += ctx.decode(None)
    return pictures


@pytest.fixture(scope="session")
def encode() -> Callable[..., Clip]:
    """``encode(encoder, width, height, frames=..., options=..., pix_fmt=...) -> Clip``."""
    return encode_clip


@pytest.fixture(scope="session")
def decode() -> Callable[[VideoCodec, list[bytes]], list[av.VideoFrame]]:
    return decode_frames
