"""The media plane's exception tree: every malformed input surfaces as a :class:`MediaError`.

Callers at an I/O boundary catch ``MediaError`` once; tests and tools catch the narrow class.
"""

from __future__ import annotations

__all__ = ["BitstreamError", "FramingError", "MediaError", "Mp4Error", "PsError", "RtpError"]


class MediaError(ValueError):
    """Bytes that do not form what they claim to be; the message says which rule failed."""


class RtpError(MediaError):
    """An RTP packet that violates RFC 3550 section 5.1 (or a bad packetiser argument)."""


class FramingError(MediaError):
    """RTP-over-TCP framing (RFC 4571) that cannot be trusted any more: close the connection."""


class PsError(MediaError):
    """MPEG-2 Program Stream (ISO/IEC 13818-1 section 2.5) structure that is inconsistent."""


class BitstreamError(MediaError):
    """An H.264/H.265 bitstream (NAL unit, parameter set) that cannot be parsed."""


class Mp4Error(MediaError):
    """An ISO BMFF (ISO/IEC 14496-12) box that cannot be built or parsed."""
