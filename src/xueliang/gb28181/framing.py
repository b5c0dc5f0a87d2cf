"""Message framing for SIP over TCP (RFC 3261 §18.3, §7.5; keepalives per RFC 5626 §3.5.1).

Feed byte chunks split anywhere; get back each complete message's bytes. Content-Length is
mandatory on streams; a missing one is read as 0 (what devices mean), a bad, negative or
conflicting one is a :class:`FramingError`: the stream cannot be resynchronised, so the
caller closes the connection.
"""

from __future__ import annotations

import re

from xueliang.gb28181.errors import FramingError
from xueliang.gb28181.message import DEFAULT_MAX_MESSAGE_SIZE

__all__ = ["DEFAULT_MAX_HEADER_SIZE", "SipStreamFramer"]

DEFAULT_MAX_HEADER_SIZE = 16 * 1024
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:(.*)$", re.I | re.M)


class SipStreamFramer:
    """Splits a TCP byte stream into SIP messages.

    ``keepalives`` counts the CRLF keepalive pings skipped so far (a caller may answer
    each with a single CRLF pong, RFC 5626 §4.4.1).
    """

    def __init__(
        self,
        *,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self._buffer = bytearray()
        self._max_header = max_header_size
        self._max_message = max_message_size
        self._scan_from = 0
        self.keepalives = 0

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the complete messages now available, in order."""
        self._buffer += data
        messages: list[bytes] = []
        while True:
            message = self._next()
            if message is None:
                return messages
            messages.append(message)

    def _next(self) -> bytes | None:
        buf = self._buffer
        skipped = len(buf) - len(buf.lstrip(b"\r\n"))
        if skipped:  # keepalive CRLFs between messages (RFC 3261 §7.5, RFC 5626 §3.5.1)
            self.keepalives += bytes(buf[:skipped]).count(b"\n") // 2
            del buf[:skipped]
            self._scan_from = 0
        if not buf:
            return None
        match = _HEADER_END.search(buf, max(self._scan_from - 3, 0))
        if match is None:
            if len(buf) > self._max_header:
                raise FramingError(f"header block exceeds {self._max_header} bytes")
            self._scan_from = len(buf)
            return None
        if match.start() > self._max_header:
            raise FramingError(f"header block exceeds {self._max_header} bytes")
        length = _content_length(bytes(buf[: match.start()]))
        total = match.end() + length
        if total > self._max_message:
            raise FramingError(f"message of {total} bytes exceeds {self._max_message}")
        if len(buf) < total:
            return None
        message = bytes(buf[:total])
        del buf[:total]
        self._scan_from = 0
        return message


def _content_length(head: bytes) -> int:
    """The Content-Length of a header block, unfolding continuation lines first."""
    unfolded = re.sub(rb"\r?\n[ \t]+", b" ", head)
    values = {m.group(1).strip() for m in _CONTENT_LENGTH.finditer(unfolded)}
    if not values:
        return 0
    if len(values) > 1:
        raise FramingError("conflicting Content-Length values")
    (value,) = values
    if not value.isdigit():
        raise FramingError(f"bad Content-Length {value!r}")
    return int(value)
