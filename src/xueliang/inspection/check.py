"""The output check (出图检测): open a channel's stream, wait for its first keyframe, take a
second one a few seconds later when configured (for frozen and jitter), close.

The stream comes from an injected :data:`StreamOpener` — a GB/T 28181 INVITE, an RTSP pull
or a viewer's session already open in the media hub (:mod:`xueliang.inspection.openers`) —
so the check is the same for every kind of camera and is tested against a real PS-over-RTP
sender. Nothing here decodes: decoding and diagnosis run in a worker pool
(:mod:`xueliang.inspection.analysis`); this coroutine only waits on sockets, and between the
two keyframes asks the source to skip what it does not need (a GB/T 28181 receiver then drops
those packets unread).

Every way a camera can fail to deliver a picture ends in :class:`OutputFailure` with one
:class:`FailureClass`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from xueliang.media import CLOCK_RATE, FrameSource, LiveError, MediaFrame, NoKeyframe, NoMedia, SourceClosed

__all__ = ["Capture", "CheckConfig", "FailureClass", "OutputFailure", "StreamOpener", "capture_keyframes"]


class FailureClass(StrEnum):
    """Why a camera delivered no picture."""

    NO_ANSWER = "no_answer"  # INVITE timed out, device offline or unreachable, connection refused
    REFUSED = "refused"  # the device or RTSP server answered 4xx/5xx
    NO_MEDIA = "no_media"  # set up, but no media arrived in time
    UNDECODABLE = "undecodable"  # a keyframe arrived but decoded to no picture
    TIMEOUT = "timeout"  # media arrived, but no keyframe in time


class OutputFailure(Exception):
    """The output check failed: ``failure`` says how, the message says what was seen."""

    def __init__(self, failure: FailureClass, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """Timeouts of one output check, in seconds.

    ``keyframe_timeout`` bounds the wait from the opened stream to its first keyframe;
    ``second_frame_after`` (None: one frame only) is how far after the first keyframe the
    second one is taken (frozen, jitter); ``second_frame_timeout`` how long past that it
    may take to come (a camera whose GOP is longer than that gives one frame only).
    """

    open_timeout: float = 10.0
    keyframe_timeout: float = 8.0
    second_frame_after: float | None = 2.0
    second_frame_timeout: float = 3.0

    def __post_init__(self) -> None:
        if self.open_timeout <= 0 or self.keyframe_timeout <= 0 or self.second_frame_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if self.second_frame_after is not None and self.second_frame_after < 0:
            raise ValueError("second_frame_after must be >= 0 or None")


SKIP_MARGIN = 0.5  # seconds before the second keyframe is due that reading resumes

StreamOpener = Callable[[], Awaitable[FrameSource]]
"""``await opener()`` -> an opened stream, or raises :class:`OutputFailure` (or a
:class:`~xueliang.media.LiveError`, classified by :func:`classify_live_error`)."""


@dataclass(frozen=True, slots=True)
class Capture:
    """What the check brought back: the first keyframe and, when asked for, a later one."""

    first: MediaFrame
    second: MediaFrame | None = None


def received_bytes(source: object) -> int | None:
    """Bytes of media the source has received, where it counts them (RTP/PS sources)."""
    for candidate in (source, getattr(source, "source", None)):
        stats = getattr(candidate, "stats", None)
        count = getattr(stats, "bytes", None)
        if isinstance(count, int):
            return count
    return None


def classify_live_error(exc: BaseException, source: object | None = None) -> OutputFailure:
    """A media-plane error as an output failure (``source`` tells media seen from none)."""
    if isinstance(exc, OutputFailure):
        return exc
    text = str(exc)
    if isinstance(exc, (NoMedia, NoKeyframe, TimeoutError, SourceClosed)):
        seen = received_bytes(source) if source is not None else None
        if isinstance(exc, NoKeyframe) or (seen is not None and seen > 0):
            return OutputFailure(FailureClass.TIMEOUT, text or "no keyframe in time")
        return OutputFailure(FailureClass.NO_MEDIA, text or "no media in time")
    lowered = text.lower()
    # RTSP via FFmpeg and INVITE errors carry the status in their text: "404 Not Found",
    # "Server returned 401 Unauthorized", "486 Busy Here"; 408 is "no answer".
    for word in lowered.replace(":", " ").replace("(", " ").split():
        if word.isdigit() and len(word) == 3 and word[0] in "45":
            return OutputFailure(FailureClass.NO_ANSWER if word == "408" else FailureClass.REFUSED, text)
    return OutputFailure(FailureClass.NO_ANSWER, text or type(exc).__name__)


async def capture_keyframes(open_stream: StreamOpener, config: CheckConfig) -> Capture:
    """Open the stream, take the first keyframe (and a second one when configured), close.

    Raises :class:`OutputFailure`. The stream is closed on every path, cancellation included.
    """
    try:
        source = await asyncio.wait_for(open_stream(), config.open_timeout)
    except TimeoutError:
        raise OutputFailure(FailureClass.NO_ANSWER, f"opening took over {config.open_timeout:g} s") from None
    except (LiveError, OSError) as exc:
        raise classify_live_error(exc) from exc
    try:
        frames = source.frames()
        try:
            first = await _next_keyframe(frames, source, config.keyframe_timeout, None)
            second = None
            if config.second_frame_after is not None:
                not_before = first.pts + round(config.second_frame_after * CLOCK_RATE)
                # what comes before the second keyframe need not be read (a camera's clock
                # and its RTP clock may drift a little apart: a margin)
                source.skip(config.second_frame_after - SKIP_MARGIN)
                with contextlib.suppress(OutputFailure):  # one frame is still a finding
                    second = await _next_keyframe(
                        frames, source, config.second_frame_after + config.second_frame_timeout, not_before
                    )
            return Capture(first, second)
        finally:
            with contextlib.suppress(Exception):
                await frames.aclose()  # type: ignore[attr-defined]
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(source.close())


async def _next_keyframe(
    frames: object, source: FrameSource, timeout: float, not_before: int | None
) -> MediaFrame:
    iterator = frames.__aiter__()  # type: ignore[attr-defined]
    try:
        async with asyncio.timeout(timeout):
            while True:
                frame: MediaFrame = await iterator.__anext__()
                if frame.keyframe and (not_before is None or frame.pts >= not_before):
                    return frame
    except StopAsyncIteration:
        raise OutputFailure(FailureClass.NO_MEDIA, f"{source.description} ended before a keyframe") from None
    except TimeoutError as exc:
        raise classify_live_error(exc, source) from None
    except LiveError as exc:
        raise classify_live_error(exc, source) from exc
