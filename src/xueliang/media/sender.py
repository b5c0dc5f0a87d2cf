"""A GB/T 28181 media sender, as a device answers an INVITE: frames muxed into PS
(Appendix C), packetised as RTP (payload type 96, marker on each frame's last packet), sent
by UDP or by TCP with RFC 4571 framing, paced in real time, looping the clip with
continuous timestamps and sequence numbers.

:class:`PsRtpPacer` is the pure part (frames -> timed packets); :class:`PsRtpSender` is the
asyncio adapter. Transports are named from the platform's SDP offer, which is what a device
reads: ``UDP``; ``TCP-passive`` (the platform listens, so the sender connects);
``TCP-active`` (the platform connects, so the sender listens).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from typing import cast

from xueliang.media.frames import CLOCK_RATE, MediaFrame
from xueliang.media.h26x import VideoCodec
from xueliang.media.ps import PsMuxer, StreamType
from xueliang.media.rfc4571 import frame_packet
from xueliang.media.rtp import RtpPacketizer

__all__ = ["ClipPacer", "PsRtpPacer", "PsRtpSender"]

log = logging.getLogger(__name__)

_STREAM_TYPES = {VideoCodec.H264: StreamType.H264, VideoCodec.H265: StreamType.H265}
_PS_CLOCK = 1 << 33
_MAX_BACKLOG = 4 << 20


class ClipPacer:
    """Frames -> ``(due, packets)``: ``due`` in seconds from the start, ``packets`` the RTP
    packets of one frame. Loops ``frames`` (when ``loop``), shifting timestamps by the
    clip's duration each time, so the receiver sees one continuous stream. Subclasses say
    how one frame becomes RTP payloads (:meth:`payloads`)."""

    def __init__(
        self,
        frames: Sequence[MediaFrame],
        ssrc: int,
        *,
        loop: bool = True,
        payload_type: int = 96,
        max_packet_size: int = 1400,
        first_timestamp: int = 0,
        first_sequence: int = 0,
    ) -> None:
        if not frames:
            raise ValueError("a sender needs at least one frame")
        if not frames[0].keyframe:
            raise ValueError("a clip must start with a keyframe")
        self.frames = list(frames)
        self.loop = loop
        self.max_packet_size = max_packet_size
        self.packetizer = RtpPacketizer(
            ssrc, payload_type=payload_type, sequence_number=first_sequence, max_packet_size=max_packet_size
        )
        first = self.frames[0].decode_time
        last = self.frames[-1].decode_time
        step = (last - first) // max(1, len(self.frames) - 1) if len(self.frames) > 1 else CLOCK_RATE // 25
        self.frame_duration = step or CLOCK_RATE // 25
        self.clip_duration = last - first + self.frame_duration
        self.first_timestamp = first_timestamp
        self._origin = first
        self._index = 0
        self._round = 0

    def payloads(self, frame: MediaFrame, pts: int, dts: int) -> tuple[int, list[bytes]]:
        """The RTP timestamp and payloads of ``frame`` (shifted ``pts``/``dts``)."""
        raise NotImplementedError

    def next(self) -> tuple[float, list[bytes]] | None:
        """The next frame's due time and packets; None at the end of a non-looping clip."""
        if self._index == len(self.frames):
            if not self.loop:
                return None
            self._index = 0
            self._round += 1
        frame = self.frames[self._index]
        self._index += 1
        shift = self._round * self.clip_duration - self._origin + self.first_timestamp
        dts = frame.decode_time + shift
        timestamp, payloads = self.payloads(frame, frame.pts + shift, dts)
        packets = [p for payload in payloads for p in self.packetizer.packetize(payload, timestamp)]
        if len(payloads) > 1:  # the marker belongs on the frame's last packet only
            packets = [_without_marker(p) for p in packets[:-1]] + packets[-1:]
        return (dts - self.first_timestamp) / CLOCK_RATE, packets


def _without_marker(packet: bytes) -> bytes:
    return packet[:1] + bytes((packet[1] & 0x7F,)) + packet[2:]


class PsRtpPacer(ClipPacer):
    """Each frame one PS pack (GB/T 28181 Appendix C), split over RTP packets."""

    def __init__(self, frames: Sequence[MediaFrame], ssrc: int, **options: int | bool) -> None:
        super().__init__(frames, ssrc, **options)  # type: ignore[arg-type]
        self.muxer = PsMuxer(_STREAM_TYPES[frames[0].codec])

    def payloads(self, frame: MediaFrame, pts: int, dts: int) -> tuple[int, list[bytes]]:
        pack = self.muxer.mux_video(
            frame.data, pts % _PS_CLOCK, dts % _PS_CLOCK if frame.dts is not None else None, frame.keyframe
        )
        return dts & 0xFFFFFFFF, [pack]


class _Accepted(asyncio.Protocol):
    """TCP-active: the platform connected to the sender; the newest connection wins."""

    def __init__(self, owner: PsRtpSender) -> None:
        self.owner = owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # no isinstance(transport, asyncio.Transport): uvloop's TCPTransport is not one
        owner = self.owner
        if owner._tcp is not None:
            owner._tcp.abort()
        owner._tcp = cast(asyncio.Transport, transport)
        if owner._connected is not None:
            owner._connected.set()


class PsRtpSender:
    """Send a clip to a platform. ``start()`` returns the sender's local ``(ip, port)``
    (for ``TCP-active`` that is the port to put in the device's SDP answer); ``stop()``
    ends it. ``inject(raw)`` sends bytes as if they were an RTP packet (tests of bad input)."""

    def __init__(self, frames: Sequence[MediaFrame], ssrc: int, *, loop: bool = True, **pacer: int) -> None:
        self.pacer = PsRtpPacer(frames, ssrc, loop=loop, **pacer)  # type: ignore[arg-type]
        self.frames_sent = 0
        self.packets_sent = 0
        self.bytes_sent = 0
        self.frames_skipped = 0
        self.done: asyncio.Future[None] | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Transport | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connected: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(
        self, transport: str, remote: tuple[str, int] | None = None, *, host: str = "127.0.0.1"
    ) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self._connected = asyncio.Event()
        if transport == "UDP":
            if remote is None:
                raise ValueError("UDP needs the platform's media address")
            udp, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=(host, 0), remote_addr=remote
            )
            self._udp = udp
            self._connected.set()
            local = udp.get_extra_info("sockname")
        elif transport == "TCP-passive":
            if remote is None:
                raise ValueError("TCP-passive needs the platform's media address")
            tcp, _ = await loop.create_connection(
                asyncio.Protocol, remote[0], remote[1], local_addr=(host, 0)
            )
            self._tcp = tcp
            self._connected.set()
            local = tcp.get_extra_info("sockname")
        elif transport == "TCP-active":
            self._server = await loop.create_server(self._accept_factory, host, 0, family=socket.AF_INET)
            local = self._server.sockets[0].getsockname()
        else:
            raise ValueError(f"unknown media transport {transport!r}")
        self._task = loop.create_task(self._run(), name=f"ps-rtp-sender-{local[1]}")
        return str(local[0]), int(local[1])

    def _accept_factory(self) -> asyncio.Protocol:
        return _Accepted(self)

    def inject(self, raw: bytes) -> None:
        """Send ``raw`` where an RTP packet would go (framed for TCP)."""
        if self._udp is not None:
            self._udp.sendto(raw)
        elif self._tcp is not None:
            self._tcp.write(frame_packet(raw))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._connected is not None
        await self._connected.wait()
        start = loop.time()
        while True:
            item = self.pacer.next()
            if item is None:
                return
            due, packets = item
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._udp is not None:
                for packet in packets:
                    self._udp.sendto(packet)
            else:
                tcp = self._tcp
                if tcp is None or tcp.is_closing():
                    if self._server is None:
                        return
                    self._connected.clear()  # the platform went away; wait for it to come back
                    await self._connected.wait()
                    continue
                if tcp.get_write_buffer_size() > _MAX_BACKLOG:
                    self.frames_skipped += 1  # the platform reads too slowly: drop, as devices do
                    continue
                tcp.writelines([frame_packet(p) for p in packets])
            self.frames_sent += 1
            self.packets_sent += len(packets)
            self.bytes_sent += sum(len(p) for p in packets)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await asyncio.sleep(0)
