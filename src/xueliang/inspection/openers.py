"""Stream openers for the output check: where the picture comes from.

- :class:`GbInviteOpener`: a GB/T 28181 INVITE (9.2) through the signalling server, media
  received by :class:`~xueliang.media.RtpPsSource`; INVITE failures are classified here
  (408 / device offline -> ``no_answer``; any other 4xx/5xx -> ``refused``).
- RTSP: :func:`rtsp_opener` pulls with :class:`~xueliang.media.RtspSource`.
- :class:`HubTap`: when an operator is already watching the channel, the media hub's
  session is used (its GOP cache holds the latest keyframe) and no second upstream is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from xueliang.inspection.check import FailureClass, OutputFailure, StreamOpener
from xueliang.media import (
    FrameSource,
    InviteOpener,
    Inviter,
    LiveError,
    MediaFrame,
    MediaHub,
    PortRange,
    RtspSource,
    SourceUnavailable,
)

__all__ = ["GbInviteOpener", "HubTap", "StreamTarget", "TargetOpener", "rtsp_opener"]


@dataclass(frozen=True, slots=True)
class StreamTarget:
    """What is needed to reach a channel's stream (from its row in the resource directory)."""

    channel_id: int
    gb_id: str
    device_gb_id: str | None = None
    stream_url: str = ""
    stream_username: str | None = None
    stream_password: str | None = None

    @property
    def via(self) -> str:
        return "rtsp" if self.stream_url else "gb28181"


class GbInviteOpener:
    """``await opener(device_gb_id, channel_gb_id)``: the media plane's INVITE opener, with its
    failures classified for the output check (no answer vs refused)."""

    def __init__(
        self,
        inviter: Inviter,
        *,
        media_host: str = "127.0.0.1",
        advertise_ip: str | None = None,
        ports: PortRange | None = None,
        transport: str = "UDP",
        invite_timeout: float = 5.0,
        no_media_timeout: float = 5.0,
        presence: Any = None,
    ) -> None:
        self.opener = InviteOpener(
            inviter,
            media_host=media_host,
            advertise_ip=advertise_ip,
            ports=ports,
            transport=transport,  # type: ignore[arg-type]
            invite_timeout=invite_timeout,
            no_media_timeout=no_media_timeout,
        )
        self.presence = presence if presence is not None else getattr(inviter, "presence", None)

    async def __call__(self, device_id: str, channel_id: str) -> FrameSource:
        if self.presence is not None and self.presence.get(device_id) is None:
            raise OutputFailure(FailureClass.NO_ANSWER, f"device {device_id} is not registered")
        try:
            return await self.opener(device_id, channel_id)
        except SourceUnavailable as exc:
            cause = exc.__cause__
            status = getattr(cause, "status", None)
            unanswered = (
                isinstance(cause, TimeoutError | OSError)
                or status in (None, 408)
                or (status == 404 and "not online" in str(cause))
            )
            failure = FailureClass.NO_ANSWER if unanswered else FailureClass.REFUSED
            raise OutputFailure(failure, f"INVITE of {channel_id} on device {device_id}: {cause}") from exc


def rtsp_opener(
    target: StreamTarget, *, open_timeout: float = 5.0, read_timeout: float = 5.0
) -> StreamOpener:
    async def open_stream() -> FrameSource:
        return RtspSource(
            target.stream_url,
            username=target.stream_username,
            password=target.stream_password,
            open_timeout=open_timeout,
            read_timeout=read_timeout,
        )

    return open_stream


class _HubSource(FrameSource):
    """Keyframes from the hub's GOP cache of an open session: the latest one now, then each
    newer one (polled), without opening anything upstream."""

    def __init__(self, hub: MediaHub, channel_id: str, timeout: float, poll: float = 0.2) -> None:
        self.hub = hub
        self.channel_id = channel_id
        self.timeout = timeout
        self.poll = poll
        self.description = f"media hub session of {channel_id}"

    async def frames(self) -> AsyncIterator[MediaFrame]:
        last: int | None = None
        while True:
            frame = await self.hub.keyframe(self.channel_id, self.timeout)
            if frame.pts != last:
                last = frame.pts
                yield frame
            else:
                await asyncio.sleep(self.poll)

    async def close(self) -> None:
        return None


class HubTap:
    """Uses the hub when a session for the channel is open (an operator is watching)."""

    def __init__(self, hub: MediaHub | None, keyframe_timeout: float = 8.0) -> None:
        self.hub = hub
        self.keyframe_timeout = keyframe_timeout

    def watching(self) -> set[str]:
        """Channels with an open hub session now (one call per batch, not per channel)."""
        if self.hub is None:
            return set()
        with contextlib.suppress(Exception):
            return {info.channel_id for info in self.hub.sessions()}
        return set()

    def opener(self, channel_gb_id: str) -> StreamOpener:
        hub = self.hub
        assert hub is not None

        async def open_stream() -> FrameSource:
            return _HubSource(hub, channel_gb_id, self.keyframe_timeout)

        return open_stream


class TargetOpener:
    """Chooses the opener for a channel: the hub if it is being watched, RTSP if it has a
    stream URL, else a GB/T 28181 INVITE to its device."""

    def __init__(
        self,
        *,
        gb: GbInviteOpener | None = None,
        hub: MediaHub | None = None,
        rtsp_timeout: float = 5.0,
    ) -> None:
        self.gb = gb
        self.tap = HubTap(hub)
        self.rtsp_timeout = rtsp_timeout

    def __call__(self, target: StreamTarget, watching: set[str] | None = None) -> tuple[str, StreamOpener]:
        if self.tap.hub is not None:
            if watching is None:
                watching = self.tap.watching()
            if target.gb_id in watching:
                return "hub", self.tap.opener(target.gb_id)
        if target.stream_url:
            return "rtsp", rtsp_opener(target, open_timeout=self.rtsp_timeout, read_timeout=self.rtsp_timeout)
        gb, device = self.gb, target.device_gb_id
        if gb is None or not device:

            async def unreachable() -> FrameSource:
                raise OutputFailure(
                    FailureClass.NO_ANSWER,
                    f"channel {target.gb_id} has no stream URL and no reachable device",
                )

            return "gb28181", unreachable

        async def invite() -> FrameSource:
            try:
                return await gb(device, target.gb_id)
            except LiveError as exc:  # pragma: no cover - the GB opener classifies its own
                raise OutputFailure(FailureClass.NO_ANSWER, str(exc)) from exc

        return "gb28181", invite
