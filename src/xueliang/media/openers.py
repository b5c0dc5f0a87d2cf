"""How a channel's upstream is opened, from its row in the resource directory: RTSP pull
when it has a stream URL (credentials stored apart), else a GB/T 28181 INVITE to its device.

:class:`ChannelOpener` is the ``opener`` the platform gives :class:`MediaHub`. The GB/T 28181
hook is any ``gb_opener(device_gb_id, channel_gb_id) -> FrameSource``; :class:`InviteOpener`
is that hook over the signalling server's ``invite``/``bye``: it binds the media port
(``RtpPsSource.prepare``), sends the INVITE with that address, then ``start``s the receiver
with the SSRC the device answered, and sends BYE when the source is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from xueliang.catalog import Channel, Device
from xueliang.media.frames import FrameSource, MediaFrame
from xueliang.media.live_errors import ChannelNotFound, NoStreamConfigured, SourceClosed, SourceUnavailable
from xueliang.media.ports import PortRange
from xueliang.media.rtp_source import MediaTransport, RtpPsSource
from xueliang.media.rtsp_source import RtspSource

if TYPE_CHECKING:
    from xueliang.media.hub import MediaHub

__all__ = [
    "ChannelOpener",
    "GbOpener",
    "InviteOpener",
    "InvitedSource",
    "Inviter",
    "platform_hub",
    "rtsp_source_for",
]

log = logging.getLogger(__name__)

GbOpener = Callable[[str, str], Awaitable[FrameSource]]
"""``gb_opener(device_gb_id, channel_gb_id)`` -> the channel's live stream over GB/T 28181."""


def rtsp_source_for(channel: Channel, **options: Any) -> RtspSource:
    """An :class:`RtspSource` for a channel row (its URL plus its stored credentials)."""
    return RtspSource(
        channel.stream_url, username=channel.stream_username, password=channel.stream_password, **options
    )


class ChannelOpener:
    """``await opener(channel_gb_id)``: the channel's upstream. Raises
    :class:`ChannelNotFound` or :class:`NoStreamConfigured` (no URL and no device, or no
    GB/T 28181 hook)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        gb_opener: GbOpener | None = None,
        rtsp_options: dict[str, Any] | None = None,
    ) -> None:
        self.sessions = sessions
        self.gb_opener = gb_opener
        self.rtsp_options = rtsp_options or {}

    async def __call__(self, channel_id: str) -> FrameSource:
        device = aliased(Device)
        statement = (
            select(Channel, device.gb_id)
            .outerjoin(device, Channel.device_id == device.id)
            .where(Channel.gb_id == channel_id)
        )
        async with self.sessions() as session:
            row = (await session.execute(statement)).first()
        if row is None:
            raise ChannelNotFound(f"channel {channel_id} not found")
        channel, device_gb_id = row
        if channel.stream_url:
            return rtsp_source_for(channel, **self.rtsp_options)
        if device_gb_id and self.gb_opener is not None:
            return await self.gb_opener(device_gb_id, channel_id)
        raise NoStreamConfigured(f"channel {channel_id} has no stream URL and no GB/T 28181 device to INVITE")


class Inviter(Protocol):
    """What :class:`InviteOpener` needs from the signalling plane (``SignallingServer``)."""

    async def invite(
        self,
        device_id: str,
        channel_id: str,
        *,
        media_ip: str,
        media_port: int,
        transport: str = ...,
        timeout: float = ...,
    ) -> Any: ...

    async def bye(self, session: Any) -> None: ...


class InvitedSource(FrameSource):
    """An :class:`RtpPsSource` bound to its INVITE dialog: a BYE from the device ends the
    stream; closing the source sends BYE."""

    def __init__(self, source: RtpPsSource, inviter: Inviter, dialog: Any) -> None:
        self.source = source
        self.inviter = inviter
        self.dialog = dialog
        self.description = f"{source.description} (INVITE {dialog.channel_id})"
        ended: asyncio.Event | None = getattr(dialog, "ended", None)
        self._watch = asyncio.get_running_loop().create_task(self._watch_bye(ended)) if ended else None

    async def _watch_bye(self, ended: asyncio.Event) -> None:
        await ended.wait()
        self.source.fail(SourceClosed(f"device ended the session for {self.dialog.channel_id} (BYE)"))

    async def frames(self) -> AsyncIterator[MediaFrame]:
        async for frame in self.source.frames():
            yield frame

    def skip(self, seconds: float) -> None:
        self.source.skip(seconds)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self.source.close()
        with contextlib.suppress(Exception):
            await self.inviter.bye(self.dialog)


class InviteOpener:
    """The GB/T 28181 hook for :class:`ChannelOpener` (9.2 live view): prepare the media
    port, INVITE with it, start receiving the SSRC the device answered (its ``y=``)."""

    def __init__(
        self,
        inviter: Inviter,
        *,
        media_host: str = "127.0.0.1",
        advertise_ip: str | None = None,
        ports: PortRange | None = None,
        transport: MediaTransport = "UDP",
        no_media_timeout: float = 10.0,
        invite_timeout: float = 10.0,
    ) -> None:
        self.inviter = inviter
        self.media_host = media_host
        self.advertise_ip = advertise_ip
        self.ports = ports
        self.transport = transport
        self.no_media_timeout = no_media_timeout
        self.invite_timeout = invite_timeout

    async def __call__(self, device_id: str, channel_id: str) -> FrameSource:
        source = RtpPsSource(
            host=self.media_host,
            advertise_ip=self.advertise_ip,
            ports=self.ports,
            no_media_timeout=self.no_media_timeout,
        )
        try:
            address = await source.prepare(self.transport)
            try:
                dialog = await self.inviter.invite(
                    device_id,
                    channel_id,
                    media_ip=address.ip,
                    media_port=address.port,
                    transport=address.transport,
                    timeout=self.invite_timeout,
                )
            except Exception as exc:  # InviteError carries the SIP status in its text
                raise SourceUnavailable(
                    f"INVITE of {channel_id} on device {device_id} failed: {exc}"
                ) from exc
            remote = None
            if address.transport == "TCP-active":
                answer = dialog.answer
                remote = (answer.connection_address, answer.media[0].port)
            source.start(dialog.ssrc, remote)
        except BaseException:
            await source.close()
            raise
        return InvitedSource(source, self.inviter, dialog)


def platform_hub(
    sessions: async_sessionmaker[AsyncSession],
    signalling: Inviter | None,
    media_host: str,
    *,
    advertise_ip: str | None = None,
    ports: PortRange | None = None,
    transport: MediaTransport = "UDP",
    idle_timeout: float = 10.0,
) -> MediaHub:
    """The platform's hub: RTSP channels pulled, GB/T 28181 channels INVITEd through
    ``signalling`` (when running), media received on ``media_host``."""
    from xueliang.media.hub import MediaHub

    if advertise_ip is None:
        advertise_ip = media_host
        if media_host in ("0.0.0.0", "::", ""):
            advertise_ip = socket.gethostbyname(socket.gethostname())
            log.warning("media bound on all interfaces; advertising %s in INVITEs", advertise_ip)
    gb_opener = None
    if signalling is not None:
        gb_opener = InviteOpener(
            signalling, media_host=media_host, advertise_ip=advertise_ip, ports=ports, transport=transport
        )
    return MediaHub(ChannelOpener(sessions, gb_opener=gb_opener), idle_timeout=idle_timeout)
