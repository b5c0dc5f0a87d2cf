"""What every live source yields and every viewer reads: video access units on a 90 kHz
clock, a common source interface, a bounded queue that drops to the next keyframe, and the
timestamp rebaser that keeps one timeline across upstream reconnects.
"""

from __future__ import annotations

import abc
import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from xueliang.media.h26x import VideoCodec
from xueliang.media.live_errors import LiveError, NoMedia, SourceClosed

__all__ = [
    "CLOCK_RATE",
    "FrameQueue",
    "FrameSource",
    "MediaFrame",
    "PtsUnwrapper",
    "TimestampRebaser",
    "as_codec",
]

CLOCK_RATE = 90_000  # GB/T 28181 Appendix C and RFC 6184: video timestamps at 90 kHz
_CODEC_NAMES = {
    "h264": VideoCodec.H264,
    "avc": VideoCodec.H264,
    "h265": VideoCodec.H265,
    "hevc": VideoCodec.H265,
}


def as_codec(value: str | VideoCodec) -> VideoCodec:
    """``'h264'``/``'avc'`` or ``'h265'``/``'hevc'`` (any case) as a :class:`VideoCodec`."""
    if isinstance(value, VideoCodec):
        return value
    try:
        return _CODEC_NAMES[value.lower()]
    except KeyError:
        raise ValueError(f"unknown video codec {value!r} (h264 or h265)") from None


@dataclass(frozen=True, slots=True)
class MediaFrame:
    """One video access unit: Annex B ``data``, ``pts`` (and ``dts``, None = same as pts)
    on the 90 kHz clock, ``keyframe`` for IDR (H.264) / IRAP (H.265)."""

    codec: VideoCodec
    pts: int
    keyframe: bool
    data: bytes
    dts: int | None = None

    @property
    def decode_time(self) -> int:
        return self.pts if self.dts is None else self.dts

    @property
    def size(self) -> int:
        return len(self.data)


class FrameSource(abc.ABC):
    """An upstream of video frames: ``async for frame in source`` until it raises a
    :class:`LiveError` (``NoMedia``, ``SourceUnavailable``, ``SourceClosed``); ``close()``
    releases sockets and threads and is safe to call twice."""

    description: str = "source"

    def __aiter__(self) -> AsyncIterator[MediaFrame]:
        return self.frames()

    @abc.abstractmethod
    def frames(self) -> AsyncIterator[MediaFrame]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def skip(self, seconds: float) -> None:
        """A hint: nothing in the next ``seconds`` of stream time after the last keyframe
        yielded is wanted (an inspection waiting for a later keyframe). A source may drop
        that media unread; what it yields next is then a keyframe. By default, ignored."""
        return None


class _Queued(Protocol):
    @property
    def keyframe(self) -> bool: ...

    @property
    def size(self) -> int: ...


T = TypeVar("T", bound=_Queued)


class FrameQueue(Generic[T]):
    """Single-consumer bounded queue of frames. When full (``max_items`` or ``max_bytes``)
    everything queued is dropped and the queue waits for the next keyframe, so a slow
    reader skips ahead instead of growing memory; with ``start_on_keyframe`` the first
    item it accepts is a keyframe. ``close(error)`` ends it: the reader gets the queued
    items, then the error."""

    def __init__(self, max_items: int = 256, max_bytes: int = 32 << 20, *, start_on_keyframe: bool = True):
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.dropped = 0
        self.overflows = 0
        self._items: deque[T] = deque()
        self._bytes = 0
        self._need_keyframe = start_on_keyframe
        self._waiter: asyncio.Future[bool] | None = None
        self._error: LiveError | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._error is not None

    def put(self, item: T) -> None:
        if self._error is not None:
            return
        if self._need_keyframe:
            if not item.keyframe:
                self.dropped += 1
                return
            self._need_keyframe = False
        if len(self._items) >= self.max_items or self._bytes + item.size > self.max_bytes:
            self.overflows += 1
            self.dropped += len(self._items) + (0 if item.keyframe else 1)
            self._items.clear()
            self._bytes = 0
            if not item.keyframe:
                self._need_keyframe = True
                return
        self._items.append(item)
        self._bytes += item.size
        self._wake()

    def require_keyframe(self) -> None:
        """Accept nothing more until a keyframe (after a loss upstream)."""
        self._need_keyframe = True

    def close(self, error: LiveError | None = None) -> None:
        if self._error is None:
            self._error = error or SourceClosed("closed")
            self._wake()

    async def get(self, timeout: float | None = None) -> T:
        """The next item; :class:`NoMedia` after ``timeout`` seconds without one."""
        while not self._items:
            if self._error is not None:
                raise self._error
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if not waiter.result() and not self._items:
                raise NoMedia(f"no media within {timeout:g} s")
        item = self._items.popleft()
        self._bytes -= item.size
        return item

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class PtsUnwrapper:
    """Extends 33-bit MPEG / 32-bit RTP timestamps into a monotonic-ish integer timeline."""

    def __init__(self, bits: int = 33) -> None:
        self.modulus = 1 << bits
        self._last: int | None = None

    def __call__(self, value: int) -> int:
        if self._last is None:
            self._last = value
            return value
        half = self.modulus >> 1
        delta = (value - self._last + half) % self.modulus - half
        self._last += delta
        return self._last


class TimestampRebaser:
    """Maps the timestamps of successive upstreams (reconnects, restarts, clock jumps) onto
    one increasing timeline starting at 0: a new segment, or a decode time that goes back
    or jumps more than ``max_gap`` ticks, continues one frame duration after the last."""

    def __init__(self, max_gap: int = 5 * CLOCK_RATE, default_duration: int = CLOCK_RATE // 25) -> None:
        self.max_gap = max_gap
        self.duration = default_duration
        self.discontinuities = 0
        self._offset: int | None = None
        self._last: int | None = None

    def new_segment(self) -> None:
        """The next frame comes from a new upstream: rebase on it."""
        self._offset = None

    def map(self, pts: int, dts: int) -> tuple[int, int]:
        """(pts, dts) on the continuous timeline."""
        last = self._last
        if self._offset is not None and last is not None:
            out = dts + self._offset
            gap = out - last
            if 0 < gap <= self.max_gap:
                self.duration = gap if gap < CLOCK_RATE else self.duration
                self._last = out
                return pts + self._offset, out
            self.discontinuities += 1
        target = 0 if last is None else last + self.duration
        self._offset = target - dts
        self._last = target
        return pts + self._offset, target


async def iterate_queue(queue: FrameQueue[MediaFrame], timeout: float | None) -> AsyncIterator[MediaFrame]:
    """Yield a source queue's frames until it closes (raising its error) or times out."""
    while True:
        yield await queue.get(timeout)
