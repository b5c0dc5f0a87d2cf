"""Events a :class:`~xueliang.gb28181.endpoint.SipEndpoint` emits (aioquic ``events.py`` style)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from xueliang.gb28181.message import Address, SipRequest, SipResponse

__all__ = [
    "EndpointEvent",
    "MalformedMessage",
    "RequestCancelled",
    "RequestReceived",
    "ResponseReceived",
    "TransactionTimedOut",
]


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request (retransmissions are absorbed), or an ACK for a 2xx.

    ``request`` has ``received``/``rport`` already stamped on its top Via (RFC 3581).
    """

    request: SipRequest
    addr: Address
    transport: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response; ``request`` is the one it answers, or None for a stray 2xx to INVITE
    (a retransmission after the client transaction ended: the dialog re-sends its ACK)."""

    response: SipResponse
    addr: Address
    transport: str
    request: SipRequest | None


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """A transaction gave up: timer B/F (no response; treat as 408, RFC 3261 §8.1.3.1),
    H (no ACK for a failure), or L (no ACK for a 2xx: end the dialog with BYE, §13.3.1.4)."""

    request: SipRequest
    timer: str

    def __post_init__(self) -> None:
        if self.timer not in ("B", "F", "H", "L"):
            raise ValueError(f"timer {self.timer!r} does not time a transaction out")


@dataclass(frozen=True, slots=True)
class RequestCancelled:
    """A CANCEL matched a pending INVITE; the endpoint answered 200 and 487 (RFC 3261 §9.2)."""

    invite: SipRequest
    cancel: SipRequest


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """Bytes that did not parse; ``raw`` is exactly what arrived. ``status`` is the hint
    (400, 505, 513); ``answered`` tells whether an error response was queued."""

    addr: Address
    transport: str
    reason: str
    raw: bytes
    status: int = 400
    answered: bool = False


EndpointEvent: TypeAlias = (
    RequestReceived | ResponseReceived | TransactionTimedOut | RequestCancelled | MalformedMessage
)
