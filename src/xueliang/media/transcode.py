"""Decode and encode H.264 again, in a worker thread: H.265 -> H.264 for browsers (Chromium's
MSE plays H.264, not H.265), and any codec -> H.264 with privacy masks burned in. FFmpeg's
decoders and libx264 (ultrafast, zerolatency) through PyAV.

Each input keyframe forces an IDR out, so the output GOP follows the camera's and a viewer
joining at an input keyframe gets an output keyframe at once. Timestamps pass through.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from fractions import Fraction

import av

from xueliang.media.frames import CLOCK_RATE, MediaFrame
from xueliang.media.h26x import VideoCodec
from xueliang.media.live_errors import LiveError, TranscodeError
from xueliang.media.privacy import PrivacyMasks

__all__ = ["Transcoder"]

log = logging.getLogger(__name__)

_STOP = object()
_NAMES = {VideoCodec.H264: "H.264", VideoCodec.H265: "H.265"}


class Transcoder:
    """Feed ``source`` frames with ``push``; H.264 frames come back through ``on_frame`` on
    the event loop, with ``masks`` burned in (the attribute may be replaced while running:
    the next picture uses the new masks). A backlog above ``max_backlog`` frames (the
    machine cannot keep up) drops input up to the next keyframe. Errors end it through
    ``on_error``."""

    def __init__(
        self,
        on_frame: Callable[[MediaFrame], None],
        on_error: Callable[[LiveError], None],
        *,
        source: VideoCodec = VideoCodec.H265,
        masks: PrivacyMasks | None = None,
        max_backlog: int = 50,
        crf: int = 23,
    ) -> None:
        self.on_frame = on_frame
        self.on_error = on_error
        self.source = source
        self.masks = masks or PrivacyMasks()
        self.max_backlog = max_backlog
        self.crf = crf
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0
        self._loop = asyncio.get_running_loop()
        self._input: queue.Queue[object] = queue.Queue()
        self._skip_to_keyframe = True
        self._thread = threading.Thread(target=self._work, name=f"transcode-{source.value}-h264", daemon=True)
        self._thread.start()

    def push(self, frame: MediaFrame) -> None:
        if self._skip_to_keyframe or self._input.qsize() >= self.max_backlog:
            if not frame.keyframe:
                self._skip_to_keyframe = True
                self.dropped += 1
                return
            self._skip_to_keyframe = False
        self._input.put(frame)

    async def close(self) -> None:
        self._input.put(_STOP)
        await asyncio.to_thread(self._thread.join, 10)

    def _post(self, callback: Callable[..., None], value: object) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, value)
        except RuntimeError:  # the loop is closed
            return False
        return True

    def _work(self) -> None:
        decoder = av.CodecContext.create(self.source.value, "r")
        decoder.thread_type = "SLICE"  # frame threads would add a frame of delay each
        encoder: av.VideoCodecContext | None = None
        try:
            while True:
                item = self._input.get()
                if item is _STOP:
                    return
                assert isinstance(item, MediaFrame)
                self.frames_in += 1
                packet = av.Packet(item.data)
                packet.pts = item.pts
                packet.dts = item.decode_time
                packet.time_base = Fraction(1, CLOCK_RATE)
                try:
                    pictures = decoder.decode(packet)
                except av.FFmpegError as exc:
                    log.debug("%s decode error (skipped): %s", self.source.value, exc)
                    continue
                for decoded in pictures:
                    if encoder is None or (encoder.width, encoder.height) != (decoded.width, decoded.height):
                        encoder = self._encoder(decoded.width, decoded.height)
                    picture = self.masks.burn_frame(decoded.reformat(format="yuv420p"))
                    picture.pts = item.pts if decoded.pts is None else decoded.pts
                    picture.time_base = Fraction(1, CLOCK_RATE)
                    picture.pict_type = (
                        av.video.frame.PictureType.I if decoded.key_frame else av.video.frame.PictureType.NONE
                    )
                    for out in encoder.encode(picture):
                        self.frames_out += 1
                        frame = MediaFrame(VideoCodec.H264, int(out.pts), bool(out.is_keyframe), bytes(out))
                        if not self._post(self.on_frame, frame):
                            return
        except Exception as exc:  # any codec failure ends transcoding for this stream
            log.warning("transcoding failed: %s", exc)
            message = f"{_NAMES[self.source]} to H.264 transcoding failed: {exc}"
            self._post(self.on_error, TranscodeError(message))

    def _encoder(self, width: int, height: int) -> av.VideoCodecContext:
        encoder = av.CodecContext.create("libx264", "w")
        assert isinstance(encoder, av.VideoCodecContext)
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.time_base = Fraction(1, CLOCK_RATE)
        encoder.gop_size = 600  # IDRs come from the input's keyframes
        encoder.max_b_frames = 0
        encoder.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(self.crf),
            "forced-idr": "1",
            "x264-params": "scenecut=0",
        }
        return encoder
