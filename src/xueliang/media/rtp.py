"""RTP (RFC 3550): packet codec, a sans-I/O receiver (reorder, loss, SSRC filter, frame
assembly) and a packetiser.

GB/T 28181 Appendix C: payload type 96, 90 kHz clock, the payload is an MPEG-2 Program
Stream; one frame (one PS pack) spans several packets and the marker bit is set on the last.
Packets of other streams can share the port, so the receiver filters by SSRC.

Pure: bytes in, values out; time is passed in as ``now`` (seconds, any monotonic origin).
"""

from __future__ import annotations

import math
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from xueliang.media.errors import RtpError

__all__ = [
    "RTP_VERSION",
    "RtpFrame",
    "RtpHeaderExtension",
    "RtpPacket",
    "RtpPacketizer",
    "RtpReceiver",
    "RtpStats",
    "build_rtp",
    "parse_rtp",
]

RTP_VERSION = 2
_HEADER = struct.Struct("!BBHII")  # RFC 3550 5.1: V P X CC | M PT | seq | timestamp | SSRC
_U32 = 0xFFFFFFFF

# RFC 3550 Appendix A.1: a jump beyond these is a restart, confirmed by a second packet.
MAX_DROPOUT = 3000
MAX_MISORDER = 100
_LOST_MEMORY = 4096  # sequence numbers remembered as lost, to tell late from duplicate


@dataclass(frozen=True, slots=True)
class RtpHeaderExtension:
    """RFC 3550 5.3.1 header extension: a 16-bit profile word and 32-bit-aligned data."""

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise RtpError(f"extension profile {self.profile} is not 16-bit")
        if len(self.data) % 4 or len(self.data) > 0xFFFF * 4:
            raise RtpError(f"extension data length {len(self.data)} is not a 32-bit word count")


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 5.1). ``padding`` counts the padding octets including the
    final count octet (0 = no padding); ``payload`` excludes them."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpHeaderExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.payload_type <= 127:
            raise RtpError(f"payload type {self.payload_type} is not 7-bit")
        if not 0 <= self.sequence_number <= 0xFFFF:
            raise RtpError(f"sequence number {self.sequence_number} is not 16-bit")
        if not 0 <= self.timestamp <= _U32:
            raise RtpError(f"timestamp {self.timestamp} is not 32-bit")
        if not 0 <= self.ssrc <= _U32:
            raise RtpError(f"SSRC {self.ssrc} is not 32-bit")
        if len(self.csrcs) > 15 or not all(0 <= c <= _U32 for c in self.csrcs):
            raise RtpError("at most 15 CSRCs of 32 bits each")
        if not 0 <= self.padding <= 255:
            raise RtpError(f"padding {self.padding} is not 0..255")


def parse_rtp(data: bytes) -> RtpPacket:
    """Parse one RTP packet, checking every length against the buffer (RFC 3550 5.1, 5.3.1).

    Raises :class:`RtpError` for a wrong version, a truncated header, a CSRC count or
    extension length that overruns the packet, or a padding count larger than the payload.
    """
    n = len(data)
    if n < 12:
        raise RtpError(f"packet of {n} bytes is shorter than the 12-byte fixed header")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        raise RtpError(f"RTP version {b0 >> 6}, expected 2")
    cc = b0 & 0x0F
    pos = 12 + 4 * cc
    if pos > n:
        raise RtpError(f"CSRC count {cc} overruns a {n}-byte packet")
    csrcs = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
    extension = None
    if b0 & 0x10:
        if pos + 4 > n:
            raise RtpError("header extension flag set but no room for its header")
        profile, words = struct.unpack_from("!HH", data, pos)
        end = pos + 4 + 4 * words
        if end > n:
            raise RtpError(f"header extension of {words} words overruns a {n}-byte packet")
        extension = RtpHeaderExtension(profile, bytes(data[pos + 4 : end]))
        pos = end
    end = n
    padding = 0
    if b0 & 0x20:
        padding = data[n - 1]
        if padding == 0 or pos + padding > n:
            raise RtpError(f"padding count {padding} is invalid for a {n - pos}-byte payload")
        end = n - padding
    return RtpPacket(
        payload_type=b1 & 0x7F,
        sequence_number=seq,
        timestamp=ts,
        ssrc=ssrc,
        payload=bytes(data[pos:end]),
        marker=bool(b1 & 0x80),
        csrcs=tuple(csrcs),
        extension=extension,
        padding=padding,
    )


def build_rtp(packet: RtpPacket) -> bytes:
    """Serialise ``packet``; ``parse_rtp(build_rtp(p)) == p``."""
    b0 = (RTP_VERSION << 6) | len(packet.csrcs)
    if packet.padding:
        b0 |= 0x20
    if packet.extension is not None:
        b0 |= 0x10
    parts = [
        _HEADER.pack(
            b0,
            (0x80 if packet.marker else 0) | packet.payload_type,
            packet.sequence_number,
            packet.timestamp,
            packet.ssrc,
        )
    ]
    if packet.csrcs:
        parts.append(struct.pack(f"!{len(packet.csrcs)}I", *packet.csrcs))
    if packet.extension is not None:
        ext = packet.extension
        parts.append(struct.pack("!HH", ext.profile, len(ext.data) // 4))
        parts.append(ext.data)
    parts.append(packet.payload)
    if packet.padding:
        parts.append(bytes(packet.padding - 1) + bytes((packet.padding,)))
    return b"".join(parts)


class RtpPacketizer:
    """Split payloads (one per frame) into RTP packets of at most ``max_packet_size`` bytes,
    marker bit on the last packet of each frame, sequence numbers wrapping at 2**16."""

    def __init__(
        self,
        ssrc: int,
        *,
        payload_type: int = 96,
        sequence_number: int = 0,
        max_packet_size: int = 1400,
    ) -> None:
        if max_packet_size <= 12:
            raise RtpError(f"max packet size {max_packet_size} leaves no room for payload")
        RtpPacket(payload_type, sequence_number, 0, ssrc)  # validates the fields
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.sequence_number = sequence_number
        self.max_packet_size = max_packet_size

    def packetize(self, payload: bytes, timestamp: int) -> list[bytes]:
        """Packets carrying ``payload`` (an empty payload still yields one packet)."""
        if not 0 <= timestamp <= _U32:
            raise RtpError(f"timestamp {timestamp} is not 32-bit")
        step = self.max_packet_size - 12
        n = len(payload)
        count = max(1, -(-n // step))
        view = memoryview(payload)
        packets = []
        seq = self.sequence_number
        for i in range(count):
            last = i == count - 1
            header = _HEADER.pack(0x80, (0x80 if last else 0) | self.payload_type, seq, timestamp, self.ssrc)
            packets.append(header + view[i * step : (i + 1) * step])
            seq = (seq + 1) & 0xFFFF
        self.sequence_number = seq
        return packets


@dataclass(frozen=True, slots=True)
class RtpFrame:
    """An access unit: the joined payloads of the packets sharing one RTP timestamp.
    ``complete`` is False when a packet of it (or just before it) was lost."""

    timestamp: int
    payload: bytes
    complete: bool

    def __post_init__(self) -> None:
        if not 0 <= self.timestamp <= _U32:
            raise RtpError(f"timestamp {self.timestamp} is not 32-bit")


@dataclass(slots=True)
class RtpStats:
    """Receiver counters, updated in place."""

    received: int = 0  # accepted packets of the stream (duplicates excluded)
    lost: int = 0  # sequence numbers given up on
    reordered: int = 0  # accepted after a packet with a higher sequence number
    foreign_ssrc: int = 0  # packets of other SSRCs (dropped)
    duplicates: int = 0  # dropped as already seen
    late: int = 0  # arrived after their gap was given up on (dropped)
    invalid: int = 0  # not parseable as RTP (dropped)
    restarts: int = 0  # sequence restarts confirmed (RFC 3550 A.1)
    frames: int = 0
    incomplete_frames: int = 0
    oversized_frames: int = 0  # frames dropped for exceeding max_frame_size


class _Received(NamedTuple):
    """What the receiver keeps of a packet of its stream."""

    sequence_number: int
    timestamp: int
    marker: bool
    payload: bytes


@dataclass(slots=True)
class _Assembly:
    timestamp: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    complete: bool = True
    oversized: bool = False


class RtpReceiver:
    """Sans-I/O RTP receiver for one stream (one SSRC).

    ``push(packet, now)`` returns the frames that became ready. Packets are reordered by
    extended sequence number (16-bit wrap); a gap is given up on when ``reorder_window``
    packets are waiting behind it or the oldest waiting packet is ``max_delay`` seconds old
    (also checked by ``poll(now)``; ``deadline()`` says when to call it). A frame ends at the
    marker bit or when the timestamp changes. With ``ssrc=None`` the first valid packet's
    SSRC is adopted. The first packets are held the same way, so that reordering at
    startup is repaired (a first-frame latency of up to ``max_delay``; the first frame is
    reported complete, since nothing tells whether packets preceded it). Malformed
    packets are counted in ``stats.invalid`` and dropped.
    """

    def __init__(
        self,
        ssrc: int | None = None,
        *,
        reorder_window: int = 64,
        max_delay: float = 0.2,
        max_frame_size: int = 8 << 20,
    ) -> None:
        if reorder_window < 1 or max_delay < 0 or max_frame_size < 1:
            raise RtpError("reorder_window, max_frame_size must be positive, max_delay >= 0")
        if ssrc is not None and not 0 <= ssrc <= _U32:
            raise RtpError(f"SSRC {ssrc} is not 32-bit")
        self.ssrc = ssrc
        self.reorder_window = reorder_window
        self.max_delay = max_delay
        self.max_frame_size = max_frame_size
        self.stats = RtpStats()
        self._next: int | None = None  # extended sequence number expected next
        self._highest = -1
        self._waiting: dict[int, tuple[_Received, float]] = {}
        self._lost_recent: deque[int] = deque(maxlen=_LOST_MEMORY)
        self._lost_set: set[int] = set()
        self._probation: tuple[_Received, float] | None = None
        self._gap = False
        self._current: _Assembly | None = None
        self._started = False  # nothing released yet: the expected number may move back
        self._held_since = math.inf  # until started: the arrival of the first packet held

    # -- input ---------------------------------------------------------------------------

    def push(self, data: bytes, now: float) -> list[RtpFrame]:
        """Feed one datagram (or one RFC 4571 frame) received at ``now``."""
        if len(data) >= 12 and data[0] == 0x80:
            # version 2 without padding, extension or CSRCs (what devices send): the fixed
            # header is all there is to read, the rest is payload
            _, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
            return self._accept(ssrc, _Received(seq, ts, b1 >= 0x80, bytes(data[12:])), now)
        try:
            packet = parse_rtp(data)
        except RtpError:
            self.stats.invalid += 1
            return []
        return self.push_packet(packet, now)

    def push_packet(self, packet: RtpPacket, now: float) -> list[RtpFrame]:
        """Feed an already parsed packet."""
        received = _Received(packet.sequence_number, packet.timestamp, packet.marker, packet.payload)
        return self._accept(packet.ssrc, received, now)

    def _accept(self, ssrc: int, packet: _Received, now: float) -> list[RtpFrame]:
        if self.ssrc is None:
            self.ssrc = ssrc
        elif ssrc != self.ssrc:
            self.stats.foreign_ssrc += 1
            return []
        out: list[RtpFrame] = []
        nxt = self._next
        if nxt is None:
            self._next = nxt = packet.sequence_number + 0x10000
        delta = ((packet.sequence_number - nxt + 0x8000) & 0xFFFF) - 0x8000
        ext = nxt + delta
        if delta >= MAX_DROPOUT or delta < -MAX_MISORDER:
            if not self._confirm_restart(packet, now, out):
                return out
            nxt = self._next
            assert nxt is not None
            ext = nxt + (((packet.sequence_number - nxt + 0x8000) & 0xFFFF) - 0x8000)
        self._probation = None
        if ext < nxt and not self._started:
            self._next = nxt = ext  # startup reordering: an earlier packet came second
        if ext < nxt:
            if ext in self._lost_set:
                self.stats.late += 1
            else:
                self.stats.duplicates += 1
            return out
        if ext in self._waiting:
            self.stats.duplicates += 1
            return out
        self.stats.received += 1
        if ext < self._highest:
            self.stats.reordered += 1
        else:
            self._highest = ext
        self._waiting[ext] = (packet, now)
        if not self._started and now < self._held_since:
            self._held_since = now
        self._release(now, out)
        return out

    def poll(self, now: float) -> list[RtpFrame]:
        """Give up on gaps whose waiting time has run out; returns frames made ready."""
        out: list[RtpFrame] = []
        self._release(now, out)
        return out

    def deadline(self) -> float | None:
        """When ``poll`` next has work to do (None while nothing waits behind a gap)."""
        if not self._waiting:
            return None
        if not self._started:
            return self._held_since + self.max_delay
        return min(t for _, t in self._waiting.values()) + self.max_delay

    def flush(self) -> list[RtpFrame]:
        """End of stream: release everything waiting and the frame being assembled."""
        out: list[RtpFrame] = []
        self._started = True
        while self._waiting:
            self._skip_gap(out)
        if self._current is not None:
            self._emit(out)
        return out

    # -- internals -----------------------------------------------------------------------

    def _confirm_restart(self, packet: _Received, now: float, out: list[RtpFrame]) -> bool:
        """RFC 3550 A.1: a large jump is a restart only if the next packet follows it."""
        probation = self._probation
        if probation is None or (probation[0].sequence_number + 1) & 0xFFFF != (packet.sequence_number):
            self._probation = (packet, now)
            return False
        self.stats.restarts += 1
        while self._waiting:
            self._skip_gap(out)
        self._gap = True
        self._started = True
        self._next = nxt = probation[0].sequence_number + 0x10000
        self._highest = nxt
        self._lost_set.clear()
        self._lost_recent.clear()
        self._waiting[nxt] = probation
        self.stats.received += 1
        return True

    def _release(self, now: float, out: list[RtpFrame]) -> None:
        waiting = self._waiting
        if not self._started:
            # Hold the first packets like a gap, so that startup reordering is repaired too
            # (nothing has left the hold yet: the oldest is the earliest arrival).
            if len(waiting) < self.reorder_window and now - self._held_since < self.max_delay:
                return
            self._started = True
        while waiting:
            nxt = self._next
            assert nxt is not None
            item = waiting.pop(nxt, None)
            if item is not None:
                self._next = nxt + 1
                self._deliver(item[0], out)
                continue
            oldest = min(t for _, t in waiting.values())
            if len(waiting) >= self.reorder_window or now - oldest >= self.max_delay:
                self._skip_gap(out)
                continue
            break

    def _skip_gap(self, out: list[RtpFrame]) -> None:
        nxt = self._next
        assert nxt is not None
        first = min(self._waiting)
        if first > nxt:
            self.stats.lost += first - nxt
            recent, lost_set = self._lost_recent, self._lost_set
            for s in range(max(nxt, first - _LOST_MEMORY), first):
                if len(recent) == _LOST_MEMORY:
                    lost_set.discard(recent[0])
                recent.append(s)
                lost_set.add(s)
            self._gap = True
        packet, _ = self._waiting.pop(first)
        self._next = first + 1
        self._deliver(packet, out)

    def _deliver(self, packet: _Received, out: list[RtpFrame]) -> None:
        cur = self._current
        if cur is not None and packet.timestamp != cur.timestamp:
            if self._gap:
                cur.complete = False
            self._emit(out)
            cur = None
        if cur is None:
            cur = self._current = _Assembly(packet.timestamp)
        if self._gap:
            cur.complete = False
            self._gap = False
        if not cur.oversized:
            cur.size += len(packet.payload)
            if cur.size > self.max_frame_size:
                cur.oversized = True
                cur.parts = []
            else:
                cur.parts.append(packet.payload)
        if packet.marker:
            self._emit(out)

    def _emit(self, out: list[RtpFrame]) -> None:
        cur = self._current
        assert cur is not None
        self._current = None
        if cur.oversized:
            self.stats.oversized_frames += 1
            return
        self.stats.frames += 1
        if not cur.complete:
            self.stats.incomplete_frames += 1
        payload = cur.parts[0] if len(cur.parts) == 1 else b"".join(cur.parts)
        out.append(RtpFrame(cur.timestamp, payload, cur.complete))
