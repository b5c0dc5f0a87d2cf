"""One exception tree for the GB/T 28181 signalling core.

Every error carries ``status``: the SIP status code a server should answer with when the
error is about a request it received (h11's ``error_status_hint``). One boundary (the
endpoint) turns them into responses; nothing else needs to know the codes.
"""

from __future__ import annotations

__all__ = [
    "CharsetError",
    "DialogError",
    "DigestError",
    "FramingError",
    "ManscdpError",
    "MessageTooLarge",
    "ParseError",
    "PtzError",
    "SdpError",
    "SipError",
    "TransactionStateError",
    "UnknownCommandError",
]


class SipError(Exception):
    """Base of every error here; ``status`` is the SIP status hint (default 400)."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def reason(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""


class ParseError(SipError):
    """A SIP message that does not follow RFC 3261 grammar (400, or 505 for a bad version)."""


class MessageTooLarge(ParseError):
    """A message above the configured size cap (513 Message Too Large, RFC 3261 §21.5.14)."""

    status = 513


class FramingError(ParseError):
    """A stream that cannot be framed (bad Content-Length, oversize header block).

    The connection must be closed: there is no way to find the next message (RFC 3261 §18.3).
    """


class DigestError(SipError):
    """An Authorization or WWW-Authenticate header that cannot be used (RFC 2617)."""


class SdpError(SipError):
    """An SDP body that cannot be used for a GB/T 28181 session (488 Not Acceptable Here)."""

    status = 488


class ManscdpError(SipError):
    """A MANSCDP XML body that cannot be used; ``raw`` keeps every byte that arrived."""

    def __init__(self, message: str, *, raw: bytes = b"", status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.raw = raw


class CharsetError(ManscdpError):
    """A body that decodes in none of the accepted charsets (GB/T 28181-2022 §6.10)."""


class UnknownCommandError(ManscdpError):
    """A well-formed MANSCDP body whose (root element, CmdType) has no parser."""

    def __init__(self, root: str, cmd_type: str, *, raw: bytes = b"") -> None:
        super().__init__(f"unknown MANSCDP command {root}/{cmd_type}", raw=raw)
        self.root = root
        self.cmd_type = cmd_type


class PtzError(ManscdpError):
    """A PTZCmd that is not 8 bytes of valid GB/T 28181 Appendix A.3 command."""


class TransactionStateError(SipError):
    """The transaction user asked for a move its transaction's state does not allow."""

    status = 500


class DialogError(SipError):
    """A request that does not fit its dialog (481 Call/Transaction Does Not Exist)."""

    status = 481
