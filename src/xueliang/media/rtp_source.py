"""GB/T 28181 media receiver: PS over RTP (Appendix C) by UDP, or RFC 4571 over TCP with
the platform passive (it listens) or active (it connects to the device), per 9.2 / Appendix L.

Two phases, to fit the INVITE: ``prepare(transport)`` binds the port that goes into the
SDP offer; ``start(ssrc, remote)`` is called once the device has answered (with the SSRC
of its ``y=`` line, and for ``TCP-active`` the address its SDP gives). Packets that arrive
between the two are held and replayed. SSRC filtering, reordering and loss handling are the
pure :class:`RtpReceiver` and :class:`PsDemuxer`; this module only pumps sockets into them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, cast

from xueliang.media.errors import FramingError
from xueliang.media.frames import CLOCK_RATE, FrameQueue, FrameSource, MediaFrame, PtsUnwrapper, iterate_queue
from xueliang.media.h26x import VideoCodec
from xueliang.media.live_errors import LiveError, SourceClosed, SourceUnavailable
from xueliang.media.ports import PortRange, bind_socket
from xueliang.media.ps import PsDemuxer, PsFrame, StreamType
from xueliang.media.rfc4571 import Rfc4571Deframer
from xueliang.media.rtp import RtpFrame, RtpReceiver

__all__ = ["MediaAddress", "MediaTransport", "ReceiverStats", "RtpPsSource"]

log = logging.getLogger(__name__)

MediaTransport = Literal["UDP", "TCP-passive", "TCP-active"]
TRANSPORTS: tuple[str, ...] = ("UDP", "TCP-passive", "TCP-active")
_VIDEO_TYPES = {StreamType.H264: VideoCodec.H264, StreamType.H265: VideoCodec.H265}
_PRESTART_PACKETS = 2048


@dataclass(frozen=True, slots=True)
class MediaAddress:
    """Where the device must send: ``c=IN IP4 ip``, ``m=video port``, and the transport
    (``UDP`` -> ``RTP/AVP``; ``TCP-passive``/``TCP-active`` -> ``TCP/RTP/AVP`` with
    ``a=setup:passive``/``active``)."""

    ip: str
    port: int
    transport: MediaTransport


@dataclass(slots=True)
class ReceiverStats:
    datagrams: int = 0
    bytes: int = 0
    connections: int = 0
    frames: int = 0
    skipped_until_keyframe: int = 0
    skipped_unread: int = 0  # packets dropped unread while the consumer skipped ahead
    framing_errors: int = 0


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: RtpPsSource) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        self.owner._packet(data)

    def error_received(self, exc: Exception) -> None:  # ICMP errors on UDP: nothing to do
        log.debug("media UDP error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, owner: RtpPsSource) -> None:
        self.owner = owner
        self.deframer = Rfc4571Deframer()
        self.transport: asyncio.Transport | None = None
        self.delivered = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # no isinstance(transport, asyncio.Transport): uvloop's TCPTransport is not one
        self.transport = cast(asyncio.Transport, transport)
        self.owner._connected(self)

    def data_received(self, data: bytes) -> None:
        try:
            packets = self.deframer.push(data)
        except FramingError as exc:
            self.owner._framing_error(self, exc)
            return
        for packet in packets:
            self.owner._packet(packet)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner._disconnected(self, exc)


class RtpPsSource(FrameSource):
    """Receive one GB/T 28181 live stream and yield its video frames.

    ``host`` is the local address to bind and ``advertise_ip`` the one to put in the SDP
    (defaults to ``host``); ``ports`` the configured range (None: ephemeral).
    ``no_media_timeout`` bounds the wait for the first frame and every gap after it
    (:class:`NoMedia`). ``max_delay`` is how long a gap (and the first packets) waits for
    reordered packets: a live view's jitter allowance. After any loss or damaged PS data,
    frames are skipped until the next keyframe so a decoder never sees a picture whose
    references are gone.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        advertise_ip: str | None = None,
        ports: PortRange | None = None,
        no_media_timeout: float = 10.0,
        reorder_window: int = 64,
        max_delay: float = 0.1,
        queue_frames: int = 256,
        connect_timeout: float = 5.0,
    ) -> None:
        self.host = host
        self.advertise_ip = advertise_ip or host
        self.ports = ports
        self.no_media_timeout = no_media_timeout
        self.reorder_window = reorder_window
        self.max_delay = max_delay
        self.connect_timeout = connect_timeout
        self.stats = ReceiverStats()
        self.address: MediaAddress | None = None
        self.receiver: RtpReceiver | None = None
        self.demuxer = PsDemuxer()
        self.description = "GB/T 28181 media"
        self._queue: FrameQueue[MediaFrame] = FrameQueue(queue_frames, start_on_keyframe=True)
        self._sock: socket.socket | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tcp: _Tcp | None = None
        self._connector: asyncio.Task[None] | None = None
        self._held: list[bytes] = []
        self._timer: asyncio.Handle | None = None  # uvloop's call_at of a past time: a plain Handle
        self._timer_at = 0.0
        self._unwrap = PtsUnwrapper(33)
        self._need_keyframe = True
        self._keyframe_ts: int | None = None  # RTP timestamp of the last keyframe delivered
        self._skip_until: int | None = None  # RTP timestamp the skip ends at
        self._closed = False

    # -- phase 1: the port for the SDP offer ------------------------------------------------

    async def prepare(self, transport: MediaTransport = "UDP") -> MediaAddress:
        """Bind the media port; returns what to put in the INVITE's SDP."""
        if self.address is not None or self._closed:
            raise RuntimeError("prepare() is called once, before close()")
        if transport not in TRANSPORTS:
            raise ValueError(f"media transport {transport!r} is not one of {TRANSPORTS}")
        loop = asyncio.get_running_loop()
        kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
        sock = bind_socket(kind, self.host, self.ports)
        port = sock.getsockname()[1]
        try:
            if transport == "UDP":
                udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
                self._udp = udp
            elif transport == "TCP-passive":
                sock.listen(4)
                self._server = await loop.create_server(lambda: _Tcp(self), sock=sock)
            else:
                self._sock = sock  # bound, connected in start()
        except BaseException:
            sock.close()
            raise
        self.address = MediaAddress(self.advertise_ip, port, transport)
        self.description = f"GB/T 28181 media {transport} {self.host}:{port}"
        return self.address

    # -- phase 2: the device answered -------------------------------------------------------

    def start(self, ssrc: int | str | None, remote: tuple[str, int] | None = None) -> None:
        """Begin receiving the stream of ``ssrc`` (the device's ``y=``, decimal; None adopts
        the first SSRC seen). ``remote`` is the device's media address for ``TCP-active``."""
        if self.address is None:
            raise RuntimeError("start() needs prepare() first")
        if self.receiver is not None:
            raise RuntimeError("start() is called once")
        value = None if ssrc is None or ssrc == "" else int(ssrc)
        self.receiver = self._new_receiver(value)
        if self.address.transport == "TCP-active":
            if remote is None:
                raise ValueError("TCP-active needs the device's media address")
            self._connector = asyncio.get_running_loop().create_task(
                self._connect(remote), name=f"media-connect-{remote[0]}:{remote[1]}"
            )
        held, self._held = self._held, []
        for packet in held:
            self._packet(packet)

    async def frames(self) -> AsyncIterator[MediaFrame]:
        if self.receiver is None:
            raise RuntimeError("frames() needs start() first")
        async for frame in iterate_queue(self._queue, self.no_media_timeout):
            yield frame

    def skip(self, seconds: float) -> None:
        """Drop the packets of the next ``seconds`` after the last keyframe delivered by their
        RTP timestamp, before reordering and de-multiplexing them; the stream is taken up
        afresh at the first packet past that, from its next keyframe."""
        if self._keyframe_ts is not None and seconds > 0:
            self._skip_until = (self._keyframe_ts + round(seconds * CLOCK_RATE)) & 0xFFFFFFFF

    def fail(self, error: LiveError) -> None:
        """End the stream with ``error`` (e.g. the device sent BYE)."""
        self._queue.close(error)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.close(SourceClosed("closed"))
        if self._timer is not None:
            self._timer.cancel()
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connector
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None and self._tcp.transport is not None:
            self._tcp.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._sock is not None:
            self._sock.close()
        await asyncio.sleep(0)  # let transports run their connection_lost callbacks

    # -- socket callbacks -------------------------------------------------------------------

    async def _connect(self, remote: tuple[str, int]) -> None:
        """TCP-active: connect from the prepared port, retrying while the device starts
        listening."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout
        sock = self._sock
        assert sock is not None
        while True:
            try:
                await asyncio.wait_for(loop.sock_connect(sock, remote), max(0.1, deadline - loop.time()))
                break
            except (OSError, TimeoutError) as exc:
                if loop.time() >= deadline:
                    self._queue.close(SourceUnavailable(f"cannot connect to the device at {remote}: {exc}"))
                    return
                sock.close()
                self._sock = sock = bind_socket(socket.SOCK_STREAM, self.host, self.ports)
                await asyncio.sleep(0.1)
        self._sock = None
        await loop.create_connection(lambda: _Tcp(self), sock=sock)

    def _connected(self, conn: _Tcp) -> None:
        self.stats.connections += 1
        old, self._tcp = self._tcp, conn
        if old is not None and old.transport is not None:  # a=connection:new replaces the old one
            old.transport.abort()

    def _disconnected(self, conn: _Tcp, exc: Exception | None) -> None:
        if conn is not self._tcp:
            return
        self._tcp = None
        if conn.delivered and not self._closed:
            reason = f": {exc}" if exc else ""
            self._queue.close(SourceClosed(f"the device closed the media connection{reason}"))

    def _framing_error(self, conn: _Tcp, exc: FramingError) -> None:
        self.stats.framing_errors += 1
        log.warning("%s: %s; dropping the connection", self.description, exc)
        self._resync()
        if conn.transport is not None:
            conn.transport.abort()

    def _packet(self, data: bytes) -> None:
        stats = self.stats
        stats.datagrams += 1
        stats.bytes += len(data)
        receiver = self.receiver
        if receiver is None:
            if len(self._held) < _PRESTART_PACKETS:
                self._held.append(data)
            return
        if self._skip_until is not None:
            if self._in_skip(data, receiver):
                stats.skipped_unread += 1
                return
            # the first packet past the skip: taken up afresh, from the next keyframe
            self._skip_until = None
            receiver = self.receiver = self._new_receiver(receiver.ssrc)
            self._resync()
        loop = asyncio.get_running_loop()
        self._take(receiver.push(data, loop.time()))
        self._arm(loop)

    def _new_receiver(self, ssrc: int | None) -> RtpReceiver:
        return RtpReceiver(ssrc, reorder_window=self.reorder_window, max_delay=self.max_delay)

    def _in_skip(self, data: bytes, receiver: RtpReceiver) -> bool:
        """Whether a packet falls before the end of the skip (by its RTP timestamp, modulo
        2**32), or is not the stream's at all."""
        if len(data) < 12:
            return True
        if receiver.ssrc is not None and int.from_bytes(data[8:12], "big") != receiver.ssrc:
            return True
        assert self._skip_until is not None
        return bool((int.from_bytes(data[4:8], "big") - self._skip_until) & 0x80000000)

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        assert self.receiver is not None
        deadline = self.receiver.deadline()
        if self._timer is not None:
            if deadline is not None and self._timer_at <= deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer, self._timer_at = loop.call_at(deadline, self._poll), deadline

    def _poll(self) -> None:
        self._timer = None
        if self.receiver is None or self._closed:
            return
        loop = asyncio.get_running_loop()
        self._take(self.receiver.poll(loop.time()))
        self._arm(loop)

    def _resync(self) -> None:
        self.demuxer.reset()
        self._need_keyframe = True

    def _take(self, rtp_frames: list[RtpFrame]) -> None:
        demuxer = self.demuxer
        for rtp_frame in rtp_frames:
            if not rtp_frame.complete:
                self._resync()
                continue
            ps = demuxer.stats
            before = ps.errors + ps.frames_dropped
            frames = demuxer.push(rtp_frame.payload)
            frames += demuxer.flush()
            if ps.errors + ps.frames_dropped != before:
                self._need_keyframe = True
            for frame in frames:
                if self._deliver(frame) and frame.keyframe:
                    self._keyframe_ts = rtp_frame.timestamp

    def _deliver(self, frame: PsFrame) -> bool:
        codec = _VIDEO_TYPES.get(frame.stream_type)  # type: ignore[call-overload]
        if codec is None or not frame.is_video or frame.pts is None:
            return False
        if self._need_keyframe:
            if not frame.keyframe:
                self.stats.skipped_until_keyframe += 1
                return False
            self._need_keyframe = False
        raw_dts = frame.pts if frame.dts is None else frame.dts
        dts = self._unwrap(raw_dts)
        offset = (frame.pts - raw_dts + (1 << 32)) % (1 << 33) - (1 << 32)  # composition offset
        self.stats.frames += 1
        if self._tcp is not None:
            self._tcp.delivered = True
        self._queue.put(MediaFrame(codec, dts + offset, frame.keyframe, frame.data, dts if offset else None))
        return True
