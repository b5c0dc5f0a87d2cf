"""Short test clips for simulated cameras: a synthetic street scene with the channel's ID
and a running clock drawn on every frame (cv2.putText), optionally with a picture fault
(the VQD defect names), encoded once with PyAV (libx264 / libx265) and cached on disk.

``clip_frames(label, fault, codec)`` returns Annex B :class:`MediaFrame` values at 90 kHz,
a keyframe every second (SPS/PPS, and VPS for H.265, repeated on each), no B-frames, as
cameras send them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np

from xueliang.media.frames import CLOCK_RATE, MediaFrame, as_codec
from xueliang.media.h26x import VideoCodec

__all__ = ["FaultPattern", "clip_cache_dir", "clip_frames", "render_picture"]

_FORMAT = b"XLCLIP1\n"
_RECORD = struct.Struct("!BqqI")  # keyframe, pts, dts, size
WARM_UP_GOPS = 3  # seconds of the loop the encoder runs through before the clip is kept


class FaultPattern(StrEnum):
    """Picture faults a simulated camera can show; values are the VQD defect names."""

    NORMAL = "normal"
    BLUR = "blur"
    TOO_DARK = "too_dark"
    COLOR_CAST = "color_cast"
    NOISE = "noise"
    FROZEN = "frozen"
    OCCLUSION = "occlusion"
    SIGNAL_LOSS = "signal_loss"
    STRIPES = "stripes"

    @classmethod
    def parse(cls, value: str | FaultPattern) -> FaultPattern:
        if isinstance(value, FaultPattern):
            return value
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        return cls(_ALIASES.get(key, key))


_ALIASES = {
    "": "normal",
    "none": "normal",
    "blurred": "blur",
    "dark": "too_dark",
    "colour_cast": "color_cast",
    "cast": "color_cast",
    "occluded": "occlusion",
    "black": "signal_loss",
    "black_screen": "signal_loss",
    "freeze": "frozen",
}


def clip_cache_dir() -> Path:
    """``$XUELIANG_CLIP_CACHE``, else ``$XDG_CACHE_HOME/xueliang/clips`` (``~/.cache``)."""
    explicit = os.environ.get("XUELIANG_CLIP_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xueliang" / "clips"


@lru_cache(maxsize=8)
def _scene(width: int, height: int) -> np.ndarray:
    """A static street: sky, buildings with lit windows, a road with lane marks (BGR)."""
    rng = np.random.default_rng(28181)
    img = np.zeros((height, width, 3), np.uint8)
    horizon = height * 11 // 20
    sky = np.linspace(0, 1, horizon, dtype=np.float32)[:, None, None]
    img[:horizon] = (np.array([200, 150, 90]) * (1 - sky) + np.array([230, 210, 190]) * sky).astype(np.uint8)
    x = 0
    while x < width:
        w = int(rng.integers(width // 14, width // 6))
        top = int(rng.integers(height // 8, horizon - height // 10))
        shade = int(rng.integers(60, 150))
        cv2.rectangle(img, (x, top), (x + w, horizon), (shade, shade, shade + 10), -1)
        for wy in range(top + 6, horizon - 6, max(6, height // 36)):
            for wx in range(x + 4, x + w - 6, max(6, width // 64)):
                lit = rng.random() < 0.4
                cv2.rectangle(img, (wx, wy), (wx + 3, wy + 3), (80, 200, 240) if lit else (40, 40, 50), -1)
        x += w + int(rng.integers(2, 10))
    img[horizon:] = (70, 72, 75)
    for lane in range(0, width, width // 8):
        cv2.line(img, (lane, height * 4 // 5), (lane + width // 16, height * 4 // 5), (230, 230, 230), 3)
    grain = rng.normal(0, 4, img.shape)
    return np.clip(img + grain, 0, 255).astype(np.uint8)


def _draw_traffic(img: np.ndarray, index: int, fps: int) -> None:
    h, w = img.shape[:2]
    for lane, (speed, colour) in enumerate(((5, (40, 40, 200)), (-3, (200, 120, 30)), (7, (30, 180, 60)))):
        car_w, car_h = w // 9, h // 14
        x = (index * speed * w // (fps * 40) + lane * w // 3) % (w + car_w) - car_w
        y = h * 11 // 20 + 6 + lane * (car_h + 6)
        cv2.rectangle(img, (x, y), (x + car_w, y + car_h), colour, -1)
        cv2.rectangle(img, (x + car_w // 5, y - car_h // 3), (x + car_w * 4 // 5, y), colour, -1)


def _label(img: np.ndarray, label: str, seconds: float) -> None:
    h, w = img.shape[:2]
    scale = max(0.4, w / 900)
    thick = max(1, round(scale * 2))
    whole = int(seconds)
    clock = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int(seconds * 100) % 100:02d}"
    for text, row in ((label, 1), (clock, 2)):
        org = (int(10 * scale), int(30 * scale * row))
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)


def _apply_fault(img: np.ndarray, fault: FaultPattern, index: int) -> np.ndarray:
    h, w = img.shape[:2]
    rng = np.random.default_rng(index)
    if fault is FaultPattern.BLUR:
        return cv2.GaussianBlur(img, (0, 0), 4.0)
    if fault is FaultPattern.TOO_DARK:
        return (img.astype(np.float32) * 0.22).astype(np.uint8)
    if fault is FaultPattern.COLOR_CAST:
        gains = np.array([0.55, 0.85, 1.45], np.float32)  # B, G, R: a strong warm cast
        return np.clip(img.astype(np.float32) * gains, 0, 255).astype(np.uint8)
    if fault is FaultPattern.NOISE:
        return np.clip(img + rng.normal(0, 22, img.shape), 0, 255).astype(np.uint8)
    if fault is FaultPattern.OCCLUSION:
        out = img.copy()
        cv2.rectangle(out, (0, 0), (w * 4 // 5, h * 4 // 5), (25, 25, 25), -1)
        return out
    if fault is FaultPattern.SIGNAL_LOSS:
        return np.zeros_like(img)
    if fault is FaultPattern.STRIPES:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        wave = 35 * np.sin(2 * np.pi * (xx * 0.5 + yy * 0.87) / 16.0)
        return np.clip(img + wave[..., None], 0, 255).astype(np.uint8)
    return img


def render_picture(
    label: str, fault: str | FaultPattern, index: int, width: int, height: int, fps: int
) -> np.ndarray:
    """Picture ``index`` of a clip (BGR): the scene, its fault, then the label and clock
    (a frozen camera keeps its on-screen clock ticking, as real ones do)."""
    fault = FaultPattern.parse(fault)
    img = _scene(width, height).copy()
    _draw_traffic(img, 0 if fault is FaultPattern.FROZEN else index, fps)
    img = _apply_fault(img, fault, index)
    _label(img, label, index / fps)
    return img


def _encode(
    label: str,
    fault: FaultPattern,
    codec: VideoCodec,
    width: int,
    height: int,
    fps: int,
    count: int,
    bitrate: int | None,
) -> list[MediaFrame]:
    encoder = "libx264" if codec is VideoCodec.H264 else "libx265"
    ctx = av.CodecContext.create(encoder, "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, fps)
    ctx.framerate = Fraction(fps)
    ctx.gop_size = fps
    ctx.max_b_frames = 0
    if bitrate:
        ctx.bit_rate = bitrate
    if codec is VideoCodec.H264:
        ctx.profile = "Main"
        ctx.options = {"preset": "veryfast", "tune": "zerolatency", "x264-params": f"keyint={fps}:scenecut=0"}
    else:
        ctx.options = {
            "preset": "veryfast",
            "x265-params": f"keyint={fps}:min-keyint={fps}:scenecut=0:bframes=0:repeat-headers=1"
            ":log-level=error",
        }
    # A camera's encoder has been running for hours when anyone looks: its rate control has
    # settled. A cold encoder's first IDR gets half the bits of the next ones and, looped,
    # would re-quantise a frozen picture every few seconds. So the encoder first runs through
    # the clip's last whole GOPs (as the loop plays them), and only then is the clip kept.
    warm = min(count // fps, WARM_UP_GOPS) * fps
    packets = []
    for i in range(warm + count):
        index = (count - warm + i) % count
        picture = av.VideoFrame.from_ndarray(
            render_picture(label, fault, index, width, height, fps), format="bgr24"
        )
        picture = picture.reformat(format="yuv420p")
        picture.pts = i
        packets += ctx.encode(picture)
    packets += ctx.encode(None)
    tick = CLOCK_RATE // fps
    frames = []
    for p in packets:
        if int(p.pts) < warm:
            continue
        pts = (int(p.pts) - warm) * tick
        dts = (int(p.dts) - warm) * tick if p.dts is not None else pts
        frames.append(MediaFrame(codec, pts, bool(p.is_keyframe), bytes(p), None if dts == pts else dts))
    return frames


def _save(path: Path, frames: list[MediaFrame]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as out:
        out.write(_FORMAT)
        for f in frames:
            out.write(_RECORD.pack(f.keyframe, f.pts, f.decode_time, len(f.data)))
            out.write(f.data)
    tmp.replace(path)


def _load(path: Path, codec: VideoCodec) -> list[MediaFrame] | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    if not blob.startswith(_FORMAT):
        return None
    frames = []
    pos = len(_FORMAT)
    while pos < len(blob):
        if pos + _RECORD.size > len(blob):
            return None
        key, pts, dts, size = _RECORD.unpack_from(blob, pos)
        pos += _RECORD.size
        if pos + size > len(blob):
            return None
        frames.append(MediaFrame(codec, pts, bool(key), blob[pos : pos + size], None if dts == pts else dts))
        pos += size
    return frames or None


@lru_cache(maxsize=64)
def _cached(
    label: str,
    fault: FaultPattern,
    codec: VideoCodec,
    width: int,
    height: int,
    fps: int,
    count: int,
    bitrate: int | None,
    cache_dir: str,
) -> tuple[MediaFrame, ...]:
    key = hashlib.sha256(
        repr((2, label, fault.value, codec.value, width, height, fps, count, bitrate)).encode()
    )
    path = Path(cache_dir) / f"{key.hexdigest()[:24]}.{codec.value}.clip"
    frames = _load(path, codec)
    if frames is None:
        frames = _encode(label, fault, codec, width, height, fps, count, bitrate)
        with contextlib.suppress(OSError):  # a read-only cache only costs a re-encode
            _save(path, frames)
    return tuple(frames)


def clip_frames(
    label: str,
    fault: str | FaultPattern = FaultPattern.NORMAL,
    codec: str | VideoCodec = VideoCodec.H264,
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    seconds: float = 4,
    *,
    bitrate: int | None = None,
    cache_dir: Path | None = None,
) -> list[MediaFrame]:
    """Encoded frames of a clip showing ``label`` (e.g. the channel ID) and a clock, with
    ``fault`` (a :class:`FaultPattern` value or alias), in ``codec`` (h264/h265). One GOP
    per second; ``bitrate`` in bit/s (None: constant quality). Encoded once per process and
    cached under :func:`clip_cache_dir` (or ``cache_dir``)."""
    if width % 2 or height % 2 or not 0 < fps <= 120 or seconds <= 0:
        raise ValueError("width and height must be even, fps 1..120 and seconds positive")
    count = max(1, round(seconds * fps))
    directory = str(cache_dir or clip_cache_dir())
    return list(
        _cached(
            label, FaultPattern.parse(fault), as_codec(codec), width, height, fps, count, bitrate, directory
        )
    )
