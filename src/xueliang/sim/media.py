"""The simulator's live view (GB/T 28181-2022 9.2), pure part: which picture and codec each
channel shows, SDP offer → answer, media sessions and the actions the adapter carries out.

Nothing here opens a socket or encodes a frame. A :class:`~xueliang.sim.device.SimDevice`
answers an INVITE with :func:`negotiate` and :func:`answer_sdp`, keeps a
:class:`MediaSession` per dialog and queues :class:`StartMedia` / :class:`StopMedia` on
:attr:`MediaContext.actions`; the asyncio adapter (:mod:`xueliang.sim.fleet`) drains that
queue, starts a :class:`~xueliang.media.sender.PsRtpSender` with the channel's clip and
reports back (:meth:`SimDevice.on_media_started` / :meth:`SimDevice.on_media_failed`).

Which fault a channel's picture carries and whether it is H.265 are pure functions of
(seed, channel serial): the same seed always gives the same city.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from xueliang.gb28181.dialog import Dialog
from xueliang.gb28181.errors import SdpError
from xueliang.gb28181.message import SipRequest
from xueliang.gb28181.sdp import make_ssrc, parse_sdp, play_answer
from xueliang.media.clips import FaultPattern
from xueliang.sim.plan import unit

__all__ = [
    "MediaAction",
    "MediaContext",
    "MediaSession",
    "Offer",
    "SessionState",
    "StartMedia",
    "StopMedia",
    "VideoFaultSpec",
    "answer_sdp",
    "channel_codec",
    "negotiate",
]

_FAULT_SALT = 0x5646  # "VF"
_CODEC_SALT = 0x4835  # "H5"


@dataclass(frozen=True, slots=True)
class VideoFaultSpec:
    """Fractions of channels whose picture shows each fault, e.g. ``blur=0.05,too_dark=0.03``.

    A channel shows at most one fault: one draw per channel against the cumulative
    fractions (which must sum to at most 1), so the fractions are exact in expectation.
    """

    fractions: tuple[tuple[FaultPattern, float], ...] = ()

    @classmethod
    def parse(cls, text: str) -> VideoFaultSpec:
        """Parse ``name=fraction[,name=fraction...]`` (VQD defect names); ValueError on junk."""
        fractions: dict[FaultPattern, float] = {}
        for piece in (p.strip() for p in text.split(",")):
            if not piece:
                continue
            name, eq, value = piece.partition("=")
            try:
                fault = FaultPattern.parse(name)
            except ValueError:
                known = ", ".join(f.value for f in FaultPattern if f is not FaultPattern.NORMAL)
                raise ValueError(f"unknown video fault {name.strip()!r} (known: {known})") from None
            if fault is FaultPattern.NORMAL:
                raise ValueError("'normal' is what the other channels show; give only faults")
            if not eq:
                raise ValueError(f"video fault {fault.value!r} needs a fraction, e.g. {fault.value}=0.05")
            try:
                fraction = float(value)
            except ValueError:
                raise ValueError(f"video fault {fault.value!r}: {value!r} is not a number") from None
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"video fault {fault.value!r}: fraction {fraction} is not within 0..1")
            fractions[fault] = fraction
        if sum(fractions.values()) > 1.0 + 1e-9:
            raise ValueError("video fault fractions add up to more than 1")
        return cls(tuple(fractions.items()))

    def fault_for(self, seed: int, serial: int) -> FaultPattern:
        """The picture fault of the channel with global serial ``serial`` under ``seed``."""
        if not self.fractions:
            return FaultPattern.NORMAL
        draw = unit(seed, serial, _FAULT_SALT)
        total = 0.0
        for fault, fraction in self.fractions:
            total += fraction
            if draw < total:
                return fault
        return FaultPattern.NORMAL

    def __str__(self) -> str:
        return ",".join(f"{f.value}={x:g}" for f, x in self.fractions)


def channel_codec(seed: int, serial: int, h265: float) -> str:
    """``"h265"`` for about ``h265`` of the channels (deterministic), else ``"h264"``."""
    return "h265" if h265 > 0 and unit(seed, serial, _CODEC_SALT) < h265 else "h264"


def channel_serial(channel_id: str) -> int:
    """The fleet-wide serial of a channel (0-based): ``index × channels + slot``."""
    return int(channel_id[13:]) - 1


# ---------------------------------------------------------------------- SDP


@dataclass(frozen=True, slots=True)
class Offer:
    """What we took from the platform's offer."""

    transport: str  # "UDP", "TCP-passive" (we connect), "TCP-active" (we listen)
    remote: tuple[str, int]  # the platform's media address (c= and m= port)
    ssrc: str  # the y= we answer with (the offer's, or one we chose)
    sdp_transport: str  # the m= transport token to echo ("RTP/AVP", "TCP/RTP/AVP", ...)


def negotiate(body: bytes, *, domain: str, sequence: int) -> Offer | int:
    """Read a live-view offer: an :class:`Offer`, or the SIP status to refuse it with.

    488 for anything we cannot or will not do: unreadable SDP, not ``s=Play`` (no recordings
    here), no video with PS (payload 96), a port 0, or a ``c=`` address off loopback
    (127.0.0.0/8): the simulator never sends media off the machine. Without ``y=`` we pick
    an SSRC from ``domain`` and ``sequence`` (Appendix G layout).
    """
    try:
        offer = parse_sdp(body)
    except SdpError:
        return 488
    if offer.session_name != "Play":
        return 488
    video = offer.video
    if video is None or 96 not in video.payloads:
        return 488
    encoding = video.encoding(96)
    if encoding is not None and not encoding.upper().startswith("PS/"):
        return 488
    try:
        address = ipaddress.IPv4Address(offer.connection_address)
    except ValueError:
        return 488
    if not address.is_loopback:
        return 488
    # a=setup names the platform's role; GB devices are TCP clients by default
    transport = "UDP"
    if video.is_tcp:
        transport = "TCP-active" if video.setup == "active" else "TCP-passive"
    if video.port == 0 and transport != "TCP-active":
        return 488
    ssrc = offer.ssrc if offer.ssrc and int(offer.ssrc) < 1 << 32 else None
    if ssrc is None:
        try:
            ssrc = make_ssrc(domain, sequence)
        except SdpError:
            ssrc = f"0{sequence % 1_000_000_000:09d}"
    return Offer(transport, (str(address), video.port), ssrc, video.transport)


def answer_sdp(channel_id: str, offer: Offer, *, host: str, port: int, codec: str) -> bytes:
    """Our 200's SDP (:func:`play_answer`), the channel's ID as the origin."""
    return play_answer(
        origin=channel_id,
        host=host,
        port=port,
        transport=offer.transport,
        sdp_transport=offer.sdp_transport,
        ssrc=offer.ssrc,
        codec=codec,
    )


# ---------------------------------------------------------------------- sessions and actions


class SessionState(StrEnum):
    LISTENING = "listening"  # TCP-active: waiting for the adapter's port before the 200
    ANSWERED = "answered"  # 200 sent, waiting for the ACK
    STREAMING = "streaming"  # ACKed: media flows
    ENDED = "ended"


@dataclass(slots=True)
class MediaSession:
    """One live-view dialog of a device."""

    call_id: str
    channel_id: str
    offer: Offer
    fault: FaultPattern
    codec: str
    invite: SipRequest
    state: SessionState
    ack_deadline: float | None
    dialog: Dialog | None = None
    media: bool = False  # a StartMedia went out for it


@dataclass(frozen=True, slots=True)
class StartMedia:
    """Stream ``channel_id``'s clip (``fault``, ``codec``) with ``ssrc`` over ``transport``
    to ``remote`` (TCP-active: listen, then call ``on_media_started`` with the port)."""

    device_id: str
    call_id: str
    channel_id: str
    transport: str
    remote: tuple[str, int]
    ssrc: int
    fault: FaultPattern
    codec: str


@dataclass(frozen=True, slots=True)
class StopMedia:
    device_id: str
    call_id: str
    reason: str


MediaAction = StartMedia | StopMedia


@dataclass(slots=True)
class MediaContext:
    """Fleet-wide media settings, the live-session count and the adapter's action queue."""

    faults: VideoFaultSpec = field(default_factory=VideoFaultSpec)
    h265: float = 0.0
    max_streams: int = 256
    ack_timeout: float = 32.0  # 64 × T1: the INVITE server transaction's own limit
    active: int = 0  # sessions from the accepted INVITE until they end
    sequence: int = 0  # for SSRCs we choose
    actions: deque[MediaAction] = field(default_factory=deque)
