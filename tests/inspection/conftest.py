"""A GB/T 28181 device's media side over real sockets on 127.0.0.1: it answers ``invite``
as a camera answers an INVITE, sending its labelled clip (with an injected fault) as PS over
RTP with :class:`~xueliang.media.PsRtpSender`, or failing in a chosen way. It stands in for
the SIP exchange only (the signalling tests cover SIP); the media is real.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.catalog import Channel, Device
from xueliang.media import MediaFrame, PsRtpSender, clip_frames, iter_nal_units
from xueliang.media.h26x import nal_type

DEVICE = "34020000001320000001"


class InviteFailed(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status


@dataclass
class Camera:
    fault: str = "normal"
    behaviour: str = "send"  # send, silent, refuse, no_answer, no_keyframe, undecodable
    seconds: float = 3

    def frames(self, label: str) -> list[MediaFrame]:
        frames = clip_frames(label, self.fault, seconds=self.seconds)
        if self.behaviour == "no_keyframe":  # P-frames only, flagged so the sender takes them
            return [MediaFrame(f.codec, f.pts, True, f.data) for f in frames if not f.keyframe]
        if self.behaviour == "undecodable":  # IDR slices without their SPS/PPS
            out = []
            for f in frames:
                units = [u for u in iter_nal_units(f.data) if nal_type(u, f.codec) not in (7, 8)]
                out.append(MediaFrame(f.codec, f.pts, f.keyframe, b"".join(b"\0\0\0\1" + u for u in units)))
            return out
        return frames


@dataclass
class LoopbackDevice:
    cameras: dict[str, Camera] = field(default_factory=dict)
    invites: int = 0
    byes: int = 0
    senders: list[PsRtpSender] = field(default_factory=list)
    _ssrc: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def invite(self, device_id, channel_id, *, media_ip, media_port, transport="UDP", timeout=10.0):
        self.invites += 1
        camera = self.cameras.get(channel_id, Camera())
        if camera.behaviour == "refuse":
            raise InviteFailed(486, "Busy Here")
        if camera.behaviour == "no_answer":
            raise InviteFailed(408, "no answer to INVITE")
        ssrc = f"01{next(self._ssrc):08d}"
        sender = None
        local = ("127.0.0.1", 0)
        if camera.behaviour != "silent":
            sender = PsRtpSender(camera.frames(channel_id), int(ssrc))
            self.senders.append(sender)
            local = await sender.start(transport, (media_ip, media_port))
        answer = SimpleNamespace(connection_address=local[0], media=(SimpleNamespace(port=local[1]),))
        return SimpleNamespace(
            device_id=device_id, channel_id=channel_id, ssrc=ssrc, answer=answer, sender=sender
        )

    async def bye(self, dialog) -> None:
        self.byes += 1
        if dialog.sender is not None:
            await dialog.sender.stop()

    async def stop(self) -> None:
        for sender in self.senders:
            await sender.stop()


@pytest.fixture
async def device():
    d = LoopbackDevice()
    try:
        yield d
    finally:
        await d.stop()


def channel_gb(n: int) -> str:
    return f"340200000013{n:08d}"


async def add_channels(
    sessions: async_sessionmaker[AsyncSession], count: int, *, regions=("340202",), classes=(1,)
) -> dict[str, int]:
    """Channels ``channel_gb(1..count)`` on one device; returns GB ID -> row id."""
    async with sessions() as session, session.begin():
        device = Device(gb_id=DEVICE, name="nvr", kind="nvr")
        session.add(device)
        await session.flush()
        rows = []
        for n in range(1, count + 1):
            row = Channel(
                gb_id=channel_gb(n),
                name=f"camera {n}",
                device_id=device.id,
                civil_code=regions[(n - 1) % len(regions)],
                point_class=classes[(n - 1) % len(classes)],
                status="online",
            )
            session.add(row)
            rows.append(row)
        await session.flush()
        return {r.gb_id: r.id for r in rows}
