"""Snapshots (抓图): a JPEG of a channel's latest keyframe.

The keyframe comes from the hub's GOP cache when a session is open, otherwise the hub
opens one and waits for the first keyframe; the hub's idle teardown closes it afterwards.
Decoding (PyAV), burning in privacy masks for callers who must not see what they hide, and
JPEG encoding (OpenCV) run in a worker thread.
"""

from __future__ import annotations

import asyncio

import av
import cv2
import numpy as np

from xueliang.media.frames import MediaFrame
from xueliang.media.hub import MediaHub
from xueliang.media.live_errors import NoKeyframe
from xueliang.media.privacy import PrivacyMasks

__all__ = ["decode_keyframe", "encode_jpeg", "snapshot_jpeg"]


def decode_keyframe(frame: MediaFrame) -> np.ndarray:
    """The picture of a keyframe as a BGR array (blocking: call it in a thread)."""
    decoder = av.CodecContext.create(frame.codec.value, "r")
    try:
        pictures = list(decoder.decode(av.Packet(frame.data)))
        pictures += decoder.decode(None)
    except av.FFmpegError as exc:
        raise NoKeyframe(f"the keyframe could not be decoded: {exc}") from exc
    if not pictures:
        raise NoKeyframe("the keyframe decoded to no picture")
    return pictures[0].to_ndarray(format="bgr24")


def encode_jpeg(picture: np.ndarray, quality: int = 85) -> bytes:
    ok, buffer = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def _jpeg_of(frame: MediaFrame, quality: int, masks: PrivacyMasks | None) -> bytes:
    picture = decode_keyframe(frame)
    if masks:
        masks.burn(picture)
    return encode_jpeg(picture, quality)


async def snapshot_jpeg(
    hub: MediaHub,
    channel_id: str,
    *,
    timeout: float = 10.0,
    quality: int = 85,
    masks: PrivacyMasks | None = None,
) -> bytes:
    """JPEG bytes of the channel's latest keyframe, with ``masks`` burned in. Raises
    :class:`NoKeyframe` (504) when none arrives within ``timeout``, the upstream's
    :class:`LiveError` when the camera cannot be opened (502) or sends nothing (504)."""
    frame = await hub.keyframe(channel_id, timeout)
    return await asyncio.to_thread(_jpeg_of, frame, quality, masks)
