"""A GB/T 28181 media sender, as a device answers an INVITE: frames muxed into PS
(Appendix C), packetised as RTP (payload type 96, marker on each frame's last packet), sent
by UDP or by TCP with RFC 4571 framing, paced in real time, looping the clip with
continuous timestamps and sequence numbers.

:class:`PsRtpPacer` is the pure part (frames -> timed packets); :class:`PsRtpSender` is the
asyncio adapter for clips; :class:`PsRtpForwarder` sends live frames as they come (a cascade
relaying a channel to its upper platform); :class:`MediaLink` is their transport. Transports
are named from the platform's SDP offer, which is what a device reads: ``UDP``;
``TCP-passive`` (the platform listens, so the sender connects); ``TCP-active`` (the platform
connects, so the sender listens).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from typing import cast

from xueliang.media.frames import CLOCK_RATE, MediaFrame
from xueliang.media.h26x import VideoCodec
from xueliang.media.ports import PortRange, bind_socket
from xueliang.media.ps import PsMuxer, StreamType
from xueliang.media.rfc4571 import frame_packet
from xueliang.media.rtp import RtpPacketizer

__all__ = ["ClipPacer", "MediaLink", "PsRtpForwarder", "PsRtpPacer", "PsRtpSender"]

log = logging.getLogger(__name__)

_STREAM_TYPES = {VideoCodec.H264: StreamType.H264, VideoCodec.H265: StreamType.H265}
_PS_CLOCK = 1 << 33
_MAX_BACKLOG = 4 << 20


class ClipPacer(abc.ABC):
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

    @abc.abstractmethod
    def payloads(self, frame: MediaFrame, pts: int, dts: int) -> tuple[int, list[bytes]]:
        """The RTP timestamp and payloads of ``frame`` (shifted ``pts``/``dts``)."""

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

    def __init__(self, owner: MediaLink) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # no isinstance(transport, asyncio.Transport): uvloop's TCPTransport is not one
        owner = self.owner
        if owner.tcp is not None:
            owner.tcp.abort()
        self.transport = owner.tcp = cast(asyncio.Transport, transport)
        owner.connected.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is self.owner.tcp:  # not one a newer connection replaced
            self.owner._lost()


class _Connected(asyncio.Protocol):
    """TCP-passive: our connection to the platform; its loss is reported to the owner."""

    def __init__(self, owner: MediaLink) -> None:
        self.owner = owner

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._lost()


class MediaLink:
    """The transport half of a sender, named from the platform's offer: ``UDP``,
    ``TCP-passive`` (the platform listens: we connect) or ``TCP-active`` (we listen and the
    platform connects; a newer connection replaces the older). ``open`` returns the local
    ``(ip, port)``; ``send`` writes RTP packets (RFC 4571 framed on TCP) and says whether
    they went out; ``peer_gone`` is set when a TCP peer closes the connection."""

    def __init__(self) -> None:
        self.transport = ""
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Transport | None = None
        self.server: asyncio.AbstractServer | None = None
        self.connected = asyncio.Event()
        self.peer_gone = asyncio.Event()
        self.skipped = 0

    async def open(
        self,
        transport: str,
        remote: tuple[str, int] | None = None,
        *,
        host: str = "127.0.0.1",
        ports: PortRange | None = None,
        connect_timeout: float = 5.0,
    ) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        self.transport = transport
        if transport in ("UDP", "TCP-passive") and remote is None:
            raise ValueError(f"{transport} needs the platform's media address")
        if transport == "UDP":
            sock = bind_socket(socket.SOCK_DGRAM, host, ports)
            try:
                sock.connect(remote)  # type: ignore[arg-type]
                udp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=sock)
            except BaseException:
                sock.close()
                raise
            self.udp = udp
            self.connected.set()
            local = udp.get_extra_info("sockname")
        elif transport == "TCP-passive":
            sock = bind_socket(socket.SOCK_STREAM, host, ports)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, remote), connect_timeout)  # type: ignore[arg-type]
                tcp, _ = await loop.create_connection(lambda: _Connected(self), sock=sock)
            except BaseException:
                sock.close()
                raise
            self.tcp = cast(asyncio.Transport, tcp)
            self.connected.set()
            local = tcp.get_extra_info("sockname")
        elif transport == "TCP-active":
            sock = bind_socket(socket.SOCK_STREAM, host, ports)
            try:
                sock.listen(4)
                self.server = await loop.create_server(lambda: _Accepted(self), sock=sock)
            except BaseException:
                sock.close()
                raise
            local = sock.getsockname()
        else:
            raise ValueError(f"unknown media transport {transport!r}")
        return str(local[0]), int(local[1])

    def _lost(self) -> None:
        if self.server is not None:  # TCP-active: wait for the platform to connect again
            self.connected.clear()
            self.tcp = None
        else:
            self.peer_gone.set()

    def send(self, packets: list[bytes]) -> bool:
        if self.udp is not None:
            for packet in packets:
                self.udp.sendto(packet)
            return True
        tcp = self.tcp
        if tcp is None or tcp.is_closing():
            return False
        if tcp.get_write_buffer_size() > _MAX_BACKLOG:
            self.skipped += 1  # the platform reads too slowly: drop, as devices do
            return False
        tcp.writelines([frame_packet(p) for p in packets])
        return True

    def inject(self, raw: bytes) -> None:
        """Send ``raw`` where an RTP packet would go (framed for TCP)."""
        if self.udp is not None:
            self.udp.sendto(raw)
        elif self.tcp is not None:
            self.tcp.write(frame_packet(raw))

    async def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
            self.udp = None
        if self.tcp is not None:
            self.tcp.close()
            self.tcp = None
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        await asyncio.sleep(0)


class PsRtpSender:
    """Send a clip to a platform. ``start()`` returns the sender's local ``(ip, port)``
    (for ``TCP-active`` that is the port to put in the device's SDP answer); ``stop()``
    ends it. ``inject(raw)`` sends bytes as if they were an RTP packet (tests of bad input)."""

    def __init__(self, frames: Sequence[MediaFrame], ssrc: int, *, loop: bool = True, **pacer: int) -> None:
        self.pacer = PsRtpPacer(frames, ssrc, loop=loop, **pacer)  # type: ignore[arg-type]
        self.frames_sent = 0
        self.packets_sent = 0
        self.bytes_sent = 0
        self.done: asyncio.Future[None] | None = None
        self.link = MediaLink()
        self._task: asyncio.Task[None] | None = None

    @property
    def frames_skipped(self) -> int:
        return self.link.skipped

    async def start(
        self, transport: str, remote: tuple[str, int] | None = None, *, host: str = "127.0.0.1"
    ) -> tuple[str, int]:
        local = await self.link.open(transport, remote, host=host)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ps-rtp-sender-{local[1]}")
        return local

    def inject(self, raw: bytes) -> None:
        self.link.inject(raw)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        link = self.link
        await link.connected.wait()
        start = loop.time()
        while True:
            item = self.pacer.next()
            if item is None:
                return
            due, packets = item
            delay = start + due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if link.peer_gone.is_set():
                return
            if not link.connected.is_set():
                await link.connected.wait()  # TCP-active: the platform went away; wait for it
                continue
            if not link.send(packets):
                continue
            self.frames_sent += 1
            self.packets_sent += len(packets)
            self.bytes_sent += sum(len(p) for p in packets)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.link.close()


class PsRtpForwarder:
    """Forward live frames (a hub viewer's) as PS over RTP with ``ssrc``, as a device would:
    one PS pack per frame, the RTP timestamp its decode time on the 90 kHz clock. The muxer
    follows the codec of the frames. ``send`` is called as frames arrive (no pacing)."""

    def __init__(self, ssrc: int, *, max_packet_size: int = 1400) -> None:
        self.packetizer = RtpPacketizer(ssrc, max_packet_size=max_packet_size)
        self.link = MediaLink()
        self.frames_sent = 0
        self.bytes_sent = 0
        self._muxer: PsMuxer | None = None
        self._codec: VideoCodec | None = None
        self._need_keyframe = True

    async def start(
        self,
        transport: str,
        remote: tuple[str, int] | None = None,
        *,
        host: str = "127.0.0.1",
        ports: PortRange | None = None,
    ) -> tuple[str, int]:
        return await self.link.open(transport, remote, host=host, ports=ports)

    def send(self, frame: MediaFrame) -> bool:
        """Mux and send one frame; after a drop (or before the first), only from a keyframe."""
        if self._need_keyframe and not frame.keyframe:
            return False
        if frame.codec is not self._codec:
            self._codec = frame.codec
            self._muxer = PsMuxer(_STREAM_TYPES[frame.codec])
        assert self._muxer is not None
        pts = frame.pts % _PS_CLOCK
        dts = frame.dts % _PS_CLOCK if frame.dts is not None else None
        pack = self._muxer.mux_video(frame.data, pts, dts, frame.keyframe)
        packets = self.packetizer.packetize(pack, frame.decode_time & 0xFFFFFFFF)
        if not self.link.send(packets):
            self._need_keyframe = True
            return False
        self._need_keyframe = False
        self.frames_sent += 1
        self.bytes_sent += len(pack)
        return True

    async def stop(self) -> None:
        await self.link.close()
