"""The media hub: exactly one upstream per channel however many viewers watch it.

For each channel with viewers the hub runs one *session*: it opens the upstream through the
injected ``opener`` (RTSP pull, GB/T 28181 INVITE: the platform decides), maps timestamps
onto one continuous timeline (:class:`TimestampRebaser`, so reconnects are invisible to
players), keeps a GOP cache (the latest keyframe and the frames after it) so a new viewer
starts at once on a keyframe, and fans frames out to bounded per-viewer queues (a slow
viewer drops to the next keyframe). H.264 frames are packaged as fMP4 once, for all
viewers. An H.265 upstream is transcoded to H.264 only while someone needs H.264.
Viewers who must not see a channel's privacy-masked areas share one more transcoder, which
decodes the upstream, burns the masks in and encodes H.264; everyone else keeps the
zero-copy path. When the last viewer leaves, the upstream is closed after ``idle_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from xueliang.media.frames import FrameQueue, FrameSource, MediaFrame, TimestampRebaser
from xueliang.media.h26x import VideoCodec
from xueliang.media.live_errors import (
    HubClosed,
    LiveError,
    NoKeyframe,
    SourceClosed,
    SourceUnavailable,
    ViewerClosed,
)
from xueliang.media.mse import Fmp4Packager, MseFragment
from xueliang.media.privacy import PrivacyMasks
from xueliang.media.transcode import Transcoder

__all__ = ["LiveFrame", "MediaHub", "Opener", "SessionInfo", "Viewer"]

log = logging.getLogger(__name__)

Opener = Callable[[str], Awaitable[FrameSource]]
"""``opener(channel_gb_id)`` -> an upstream :class:`FrameSource`, or raises :class:`LiveError`."""


@dataclass(frozen=True, slots=True, eq=False)
class LiveFrame:
    """A frame as delivered: the frame on the hub's timeline and, for H.264, its fMP4
    fragment (shared by every viewer)."""

    frame: MediaFrame
    fragment: MseFragment | None

    @property
    def keyframe(self) -> bool:
        return self.frame.keyframe

    @property
    def size(self) -> int:
        return len(self.frame.data) + (self.fragment.size if self.fragment else 0)


@dataclass(frozen=True, slots=True)
class SessionInfo:
    channel_id: str
    viewers: int
    holds: int
    codec: str | None
    frames: int
    reopens: int
    transcoding: bool
    masking: bool = False


class _Track:
    """One broadcast: a GOP cache and the viewers reading it."""

    def __init__(self, max_frames: int, max_bytes: int) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.gop: list[LiveFrame] = []
        self.gop_bytes = 0
        self.viewers: set[Viewer] = set()
        self.packager = Fmp4Packager()

    def push(self, frame: MediaFrame) -> LiveFrame:
        fragment = self.packager.package(frame) if frame.codec is VideoCodec.H264 else None
        item = LiveFrame(frame, fragment)
        if frame.keyframe:
            self.gop = [item]
            self.gop_bytes = item.size
        elif self.gop:
            if len(self.gop) < self.max_frames and self.gop_bytes + item.size <= self.max_bytes:
                self.gop.append(item)
                self.gop_bytes += item.size
            else:  # a GOP too long to cache: late joiners wait for the next keyframe
                self.gop = []
                self.gop_bytes = 0
        for viewer in self.viewers:
            viewer.queue.put(item)
        return item

    def attach(self, viewer: Viewer) -> None:
        viewer.queue.require_keyframe()
        for item in self.gop:
            viewer.queue.put(item)
        self.viewers.add(viewer)

    def clear(self) -> None:
        self.gop = []
        self.gop_bytes = 0
        self.packager = Fmp4Packager()


class _Derived:
    """A track made by decoding the upstream and encoding H.264 again (an H.265 upstream for
    browsers, or any upstream with privacy masks burned in). Its transcoder runs only while
    the track has viewers."""

    def __init__(self, session: _Session, masks: PrivacyMasks | None = None) -> None:
        self.session = session
        self.track = _Track(session.hub.gop_max_frames, session.hub.gop_max_bytes)
        self.masks = masks
        self.transcoder: Transcoder | None = None

    def start(self, source: VideoCodec) -> None:
        """Start on the upstream's cached GOP: no wait for its next keyframe."""
        self.track.clear()
        transcoder = Transcoder(
            lambda frame: self._deliver(transcoder, frame),
            lambda error: self._failed(transcoder, error),
            source=source,
            masks=self.masks,
        )
        self.transcoder = transcoder
        for item in self.session.native.gop:
            transcoder.push(item.frame)

    def stop(self) -> None:
        transcoder, self.transcoder = self.transcoder, None
        self.track.clear()
        if transcoder is not None:
            self.session.hub._background(transcoder.close())

    def set_masks(self, masks: PrivacyMasks) -> None:
        self.masks = masks
        if self.transcoder is not None:
            self.transcoder.masks = masks

    def push(self, frame: MediaFrame) -> None:
        if self.transcoder is not None:
            self.transcoder.push(frame)

    def _deliver(self, transcoder: Transcoder, frame: MediaFrame) -> None:
        if transcoder is self.transcoder:  # not a late frame of a stopped transcoder
            self.track.push(frame)

    def _failed(self, transcoder: Transcoder, error: LiveError) -> None:
        if transcoder is self.transcoder:
            for viewer in list(self.track.viewers):
                viewer.queue.close(error)
            self.stop()


class Viewer:
    """One viewer of a channel. ``await viewer.get()`` returns :class:`LiveFrame` values,
    the first a keyframe; it raises the session's :class:`LiveError` when the upstream
    fails for good. ``close()`` (or leaving ``async with``) detaches it. A viewer with
    ``masks`` gets H.264 with them burned in."""

    def __init__(
        self,
        session: _Session,
        want: VideoCodec | None,
        queue: FrameQueue[LiveFrame],
        masks: PrivacyMasks | None = None,
    ) -> None:
        self.session = session
        self.channel_id = session.channel_id
        self.want = want
        self.masks = masks
        self.queue = queue
        self.track: _Track | None = None
        self.closed = False

    async def get(self, timeout: float | None = None) -> LiveFrame:
        return await self.queue.get(timeout)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.close(ViewerClosed("viewer closed"))
            self.session.detach(self)

    async def __aenter__(self) -> Viewer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class _Session:
    def __init__(self, hub: MediaHub, channel_id: str) -> None:
        self.hub = hub
        self.channel_id = channel_id
        self.native = _Track(hub.gop_max_frames, hub.gop_max_bytes)
        self.transcoded = _Derived(self)
        self.masked = _Derived(self, PrivacyMasks())
        self.pending: set[Viewer] = set()  # waiting for the upstream codec to be known
        self.holds = 0  # viewers plus snapshot/prewarm holds
        self.codec: VideoCodec | None = None
        self.rebaser = TimestampRebaser()
        self.keyframe_waiters: list[asyncio.Future[MediaFrame]] = []
        self.frames = 0
        self.source_frames = 0  # from the current upstream
        self.reopens = 0
        self.source: FrameSource | None = None
        self.error: LiveError | None = None
        self._idle: asyncio.TimerHandle | None = None
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"media-session-{channel_id}")

    # -- viewers ---------------------------------------------------------------------------

    @property
    def derived(self) -> tuple[_Derived, _Derived]:
        return (self.transcoded, self.masked)

    @property
    def viewers(self) -> int:
        return len(self.native.viewers) + sum(len(d.track.viewers) for d in self.derived) + len(self.pending)

    def all_viewers(self) -> set[Viewer]:
        return self.pending | self.native.viewers | self.transcoded.track.viewers | self.masked.track.viewers

    def attach(self, viewer: Viewer) -> None:
        self.hold()
        self._route(viewer)

    def _route(self, viewer: Viewer) -> None:
        want, codec = viewer.want, self.codec
        if not viewer.masks and (want is None or want is codec):
            target = self.native
        elif codec is None:
            self.pending.add(viewer)
            return
        else:
            if viewer.masks:
                derived = self.masked
                if derived.transcoder is None:  # once running, update_masks() keeps them current
                    derived.set_masks(viewer.masks)
            elif want is VideoCodec.H264:
                derived = self.transcoded
            else:  # H.265 wanted from an H.264 upstream: nobody transcodes that way
                viewer.queue.close(SourceUnavailable("the channel sends H.264, not H.265"))
                return
            if derived.transcoder is None:
                derived.start(codec)
            target = derived.track
        viewer.track = target
        target.attach(viewer)

    def detach(self, viewer: Viewer) -> None:
        self.pending.discard(viewer)
        if viewer.track is not None:
            viewer.track.viewers.discard(viewer)
            viewer.track = None
        for derived in self.derived:
            if not derived.track.viewers and derived.transcoder is not None:
                derived.stop()
        self.release()

    def hold(self) -> None:
        self.holds += 1
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def release(self) -> None:
        self.holds -= 1
        if self.holds <= 0 and self._idle is None and not self.task.done():
            self._idle = asyncio.get_running_loop().call_later(self.hub.idle_timeout, self._idle_expired)

    def _idle_expired(self) -> None:
        self._idle = None
        if self.holds <= 0:
            log.info(
                "channel %s: no viewers for %g s, closing the upstream",
                self.channel_id,
                self.hub.idle_timeout,
            )
            self.hub._forget(self)
            self.task.cancel()

    # -- upstream --------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        hub = self.hub
        try:
            while True:
                error = await self._pump_once()
                if self.frames and self.source_frames:
                    failures = 0
                failures += 1
                if not self.frames or failures > hub.reopen_attempts:
                    self._fail(error)
                    return
                log.warning("channel %s: upstream lost (%s), reopening", self.channel_id, error)
                self.reopens += 1
                self.native.clear()
                for derived in self.derived:
                    derived.track.clear()
                await asyncio.sleep(hub.reopen_backoff * 2 ** (failures - 1))
        finally:
            self.hub._forget(self)
            for derived in self.derived:
                derived.stop()
            if self._idle is not None:
                self._idle.cancel()
            if self.error is None:
                self._fail(HubClosed("the channel's session was closed"))

    async def _pump_once(self) -> LiveError:
        """Open the upstream and relay it until it fails; returns why it stopped."""
        self.source_frames = 0
        source: FrameSource | None = None
        try:
            source = await asyncio.wait_for(self.hub.opener(self.channel_id), self.hub.open_timeout)
            self.source = source
            self.rebaser.new_segment()
            async with contextlib.aclosing(source.frames()) as frames:
                async for frame in frames:
                    self.source_frames += 1
                    self._on_frame(frame)
            return SourceClosed(f"{source.description} ended")
        except LiveError as exc:
            return exc
        except TimeoutError:
            return SourceUnavailable(
                f"opening channel {self.channel_id} took over {self.hub.open_timeout:g} s"
            )
        except (OSError, ValueError, RuntimeError) as exc:
            log.exception("channel %s: opening or reading the upstream failed", self.channel_id)
            return SourceUnavailable(f"channel {self.channel_id}: {exc}")
        finally:
            self.source = None
            if source is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(source.close())

    def _on_frame(self, frame: MediaFrame) -> None:
        pts, dts = self.rebaser.map(frame.pts, frame.decode_time)
        frame = MediaFrame(frame.codec, pts, frame.keyframe, frame.data, None if dts == pts else dts)
        self.frames += 1
        if frame.codec is not self.codec:
            self._codec_changed(frame.codec)
        self.native.push(frame)
        if frame.keyframe and self.keyframe_waiters:
            waiters, self.keyframe_waiters = self.keyframe_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(frame)
        for derived in self.derived:
            derived.push(frame)

    def _codec_changed(self, codec: VideoCodec) -> None:
        self.codec = codec
        moved = self.all_viewers()
        self.pending = set()
        self.native.viewers.clear()
        self.native.clear()
        for derived in self.derived:
            derived.track.viewers.clear()
            derived.stop()
        for viewer in moved:
            viewer.track = None
            self._route(viewer)

    def _fail(self, error: LiveError) -> None:
        self.error = error
        for viewer in self.all_viewers():
            viewer.queue.close(error)
        for waiter in self.keyframe_waiters:
            if not waiter.done():
                waiter.set_exception(error)
        self.keyframe_waiters = []


class MediaHub:
    """Live sessions by channel GB ID. ``opener(channel_id)`` opens an upstream (injected:
    the platform decides between RTSP and a GB/T 28181 INVITE)."""

    def __init__(
        self,
        opener: Opener,
        *,
        idle_timeout: float = 10.0,
        open_timeout: float = 15.0,
        reopen_attempts: int = 3,
        reopen_backoff: float = 0.5,
        viewer_queue_frames: int = 250,
        viewer_queue_bytes: int = 32 << 20,
        gop_max_frames: int = 750,
        gop_max_bytes: int = 64 << 20,
    ) -> None:
        self.opener = opener
        self.idle_timeout = idle_timeout
        self.open_timeout = open_timeout
        self.reopen_attempts = reopen_attempts
        self.reopen_backoff = reopen_backoff
        self.viewer_queue_frames = viewer_queue_frames
        self.viewer_queue_bytes = viewer_queue_bytes
        self.gop_max_frames = gop_max_frames
        self.gop_max_bytes = gop_max_bytes
        self._sessions: dict[str, _Session] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    def _session(self, channel_id: str) -> _Session:
        if self._closed:
            raise HubClosed("the media hub is closed")
        session = self._sessions.get(channel_id)
        if session is None:
            session = self._sessions[channel_id] = _Session(self, channel_id)
        return session

    def _forget(self, session: _Session) -> None:
        if self._sessions.get(session.channel_id) is session:
            del self._sessions[session.channel_id]
        if not session.task.done():
            self._closing.add(session.task)
            session.task.add_done_callback(self._closing.discard)

    def _background(self, awaitable: Awaitable[None]) -> None:
        async def run() -> None:
            await awaitable

        task = asyncio.get_running_loop().create_task(run())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def watch(
        self,
        channel_id: str,
        codec: VideoCodec | None = VideoCodec.H264,
        *,
        masks: PrivacyMasks | None = None,
    ) -> Viewer:
        """A new viewer of ``channel_id`` receiving ``codec`` (None: whatever the camera
        sends); opens the upstream if none is open. With non-empty ``masks`` the viewer gets
        H.264 with them burned in, from the channel's one masking transcoder."""
        session = self._session(channel_id)
        queue: FrameQueue[LiveFrame] = FrameQueue(self.viewer_queue_frames, self.viewer_queue_bytes)
        viewer = Viewer(session, codec, queue, masks or None)
        session.attach(viewer)
        return viewer

    def update_masks(self, channel_id: str, masks: PrivacyMasks) -> None:
        """A channel's masks were edited: its masked viewers see the new ones from the next
        picture on (with none left, they keep a transcoded but unmasked picture)."""
        session = self._sessions.get(channel_id)
        if session is not None:
            session.masked.set_masks(masks)

    def prewarm(self, channel_id: str) -> None:
        """Start opening the upstream now (a viewer is about to come); closed after
        ``idle_timeout`` if none does."""
        session = self._session(channel_id)
        session.hold()
        session.release()

    async def keyframe(self, channel_id: str, timeout: float) -> MediaFrame:
        """The latest keyframe of the channel (native codec): from the GOP cache when a
        session is open, else the first one of a new session. :class:`NoKeyframe` after
        ``timeout``; the upstream's error if it cannot be opened."""
        session = self._session(channel_id)
        if session.native.gop:
            return session.native.gop[0].frame
        session.hold()
        try:
            waiter: asyncio.Future[MediaFrame] = asyncio.get_running_loop().create_future()
            session.keyframe_waiters.append(waiter)
            try:
                return await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise NoKeyframe(f"no keyframe from channel {channel_id} within {timeout:g} s") from None
        finally:
            session.release()

    def codec_string(self, channel_id: str, *, masked: bool = False) -> str | None:
        """The RFC 6381 codec a browser viewer (a masked one: ``masked``) would get now, when known."""
        session = self._sessions.get(channel_id)
        if session is None or session.codec is None:
            return None
        if masked:
            track = session.masked.track
        else:
            track = session.native if session.codec is VideoCodec.H264 else session.transcoded.track
        init = track.packager.init
        return init.codec if init is not None else None

    def sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo(
                s.channel_id,
                s.viewers,
                s.holds,
                s.codec.value if s.codec else None,
                s.frames,
                s.reopens,
                s.transcoded.transcoder is not None,
                s.masked.transcoder is not None,
            )
            for s in self._sessions.values()
        ]

    async def close(self) -> None:
        """Close every session and its upstream."""
        self._closed = True
        for session in list(self._sessions.values()):
            self._forget(session)
            session.task.cancel()
        while self._closing:
            await asyncio.gather(*list(self._closing), return_exceptions=True)
