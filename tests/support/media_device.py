"""A GB/T 28181 device's media side, in process: it answers ``invite`` the way a camera
answers an INVITE (sending its clip as PS over RTP to the offered address, by UDP or TCP,
with the SSRC it puts in its answer) and stops on ``bye``. It stands in for the SIP
exchange only; the media goes over real sockets on 127.0.0.1.

Used as the ``Inviter`` of :class:`xueliang.media.InviteOpener` in the media tests.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from xueliang.media import MediaFrame, PsRtpSender, clip_frames


@dataclass
class ChannelMedia:
    """What one simulated channel sends: a clip (or nothing at all)."""

    codec: str = "h264"
    fault: str = "normal"
    silent: bool = False  # answers the INVITE but never sends media
    refuse: bool = False  # answers 486 Busy Here
    width: int = 640
    height: int = 360
    seconds: float = 2

    def frames(self, label: str) -> list[MediaFrame]:
        return clip_frames(label, self.fault, self.codec, self.width, self.height, seconds=self.seconds)


@dataclass
class Answer:
    connection_address: str
    media: tuple[_Media, ...]


@dataclass
class _Media:
    port: int


@dataclass
class Dialog:
    """What the platform keeps of an answered INVITE (shaped like ``InviteSession``)."""

    device_id: str
    channel_id: str
    ssrc: str
    answer: Answer
    sender: PsRtpSender | None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False


class InviteRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


class LoopbackDevice:
    """Channels by GB ID -> :class:`ChannelMedia`; counts INVITEs and BYEs."""

    def __init__(self, channels: dict[str, ChannelMedia] | None = None) -> None:
        self.channels = channels or {}
        self.invites = 0
        self.byes = 0
        self.dialogs: list[Dialog] = []
        self._ssrc = itertools.count(1)

    async def invite(
        self,
        device_id: str,
        channel_id: str,
        *,
        media_ip: str,
        media_port: int,
        transport: str = "UDP",
        timeout: float = 10.0,
    ) -> Dialog:
        self.invites += 1
        media = self.channels.get(channel_id, ChannelMedia())
        if media.refuse:
            raise InviteRefused(486, "Busy Here")
        ssrc = f"01{next(self._ssrc):08d}"  # y= : 0 live, then domain digits and a sequence
        sender = None
        local = ("127.0.0.1", 0)
        if not media.silent:
            sender = PsRtpSender(media.frames(channel_id), int(ssrc))
            local = await sender.start(transport, (media_ip, media_port))
        dialog = Dialog(device_id, channel_id, ssrc, Answer(local[0], (_Media(local[1]),)), sender)
        self.dialogs.append(dialog)
        return dialog

    async def bye(self, dialog: Dialog) -> None:
        if dialog.closed:
            return
        dialog.closed = True
        self.byes += 1
        if dialog.sender is not None:
            await dialog.sender.stop()
        dialog.ended.set()

    async def hang_up(self, dialog: Dialog) -> None:
        """The device ends the session itself (its BYE)."""
        if dialog.sender is not None:
            await dialog.sender.stop()
        dialog.ended.set()

    @property
    def active(self) -> int:
        return sum(1 for d in self.dialogs if not d.closed)
