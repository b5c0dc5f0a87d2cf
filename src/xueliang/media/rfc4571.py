"""RTP over connection-oriented transport (RFC 4571 section 2): each packet is preceded by a
16-bit big-endian length. GB/T 28181 uses it for ``TCP/RTP/AVP`` media (9.2, Appendix L).

TCP framing cannot resynchronise: a length beyond ``max_frame`` means the byte stream is
corrupt, and :class:`FramingError` tells the caller to close the connection.
"""

from __future__ import annotations

from xueliang.media.errors import FramingError

__all__ = ["MAX_RFC4571_FRAME", "Rfc4571Deframer", "frame_packet"]

MAX_RFC4571_FRAME = 0xFFFF  # the length field is 16 bits


def frame_packet(packet: bytes) -> bytes:
    """Prefix ``packet`` with its 2-byte length (RFC 4571 section 2)."""
    n = len(packet)
    if n > MAX_RFC4571_FRAME:
        raise FramingError(f"packet of {n} bytes does not fit a 16-bit length")
    return n.to_bytes(2, "big") + bytes(packet)


class Rfc4571Deframer:
    """Streaming deframer: ``push(chunk)`` accepts bytes split anywhere and returns the
    complete packets. Buffers at most one partial frame (``2 + max_frame`` bytes).
    Zero-length frames carry nothing and are skipped."""

    def __init__(self, max_frame: int = MAX_RFC4571_FRAME) -> None:
        if not 1 <= max_frame <= MAX_RFC4571_FRAME:
            raise FramingError(f"max_frame {max_frame} is not 1..65535")
        self.max_frame = max_frame
        self._buf = b""

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def push(self, chunk: bytes) -> list[bytes]:
        buf = self._buf + bytes(chunk) if self._buf else bytes(chunk)
        n = len(buf)
        pos = 0
        out: list[bytes] = []
        max_frame = self.max_frame
        while pos + 2 <= n:
            length = (buf[pos] << 8) | buf[pos + 1]
            if length > max_frame:
                self._buf = b""
                raise FramingError(f"frame length {length} exceeds the limit {max_frame}")
            end = pos + 2 + length
            if end > n:
                break
            if length:
                out.append(buf[pos + 2 : end])
            pos = end
        self._buf = buf[pos:] if pos < n else b""
        return out
