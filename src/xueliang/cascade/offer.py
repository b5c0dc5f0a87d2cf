"""An upper platform's live-view INVITE, read and answered (pure; GB/T 28181-2022 9.2,
Appendix G).

:func:`invited_channel` names the channel asked for; :func:`read_offer` takes what the
relay needs from the SDP offer or raises :class:`OfferRejected` with the SIP status to
answer; :func:`answer_sdp` builds our 200's SDP. Transports are named from the offer as a
device reads it: ``UDP``; ``TCP-passive`` (the upper platform listens, we connect; also the
default when a TCP offer has no ``a=setup``, since devices are TCP clients by default);
``TCP-active`` (the upper platform connects, we listen).
"""

from __future__ import annotations

from dataclasses import dataclass

from xueliang.gb28181.errors import SdpError
from xueliang.gb28181.message import SipRequest, SipUri
from xueliang.gb28181.sdp import make_ssrc, parse_sdp, play_answer

__all__ = ["OfferRejected", "RelayOffer", "answer_sdp", "invited_channel", "read_offer"]

DISCARD_PORT = 9  # RFC 4145 §4.1: the active (connecting) side's port in an SDP


class OfferRejected(Exception):
    """An offer the relay will not serve: ``status`` is the SIP answer (488 mostly)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RelayOffer:
    """What we took from the offer. ``ssrc_chosen``: the offer had no usable ``y=`` and we
    picked the SSRC (answered in our ``y=``)."""

    transport: str
    remote: tuple[str, int]
    ssrc: str
    sdp_transport: str
    ssrc_chosen: bool = False


def invited_channel(request: SipRequest) -> str | None:
    """The channel an INVITE asks for: the Request-URI user, else the first ID of ``Subject``
    (``channel:ssrc,platform:0``)."""
    uri = request.request_uri
    if isinstance(uri, SipUri) and uri.user:
        return uri.user
    subject = request.get("Subject")
    if subject:
        first = subject.split(",")[0].split(":")[0].strip()
        return first or None
    return None


def read_offer(body: bytes, *, domain: str, sequence: int) -> RelayOffer:
    """Read a live-view offer. Without ``y=`` (some upper platforms omit it) the SSRC is
    made from our ``domain`` and ``sequence`` (Appendix G layout)."""
    try:
        offer = parse_sdp(body)
    except SdpError as exc:
        raise OfferRejected(488, f"unreadable SDP offer: {exc.reason}") from None
    if offer.session_name != "Play":
        raise OfferRejected(488, f"only live view (s=Play) is relayed, not s={offer.session_name}")
    video = offer.video
    if video is None or 96 not in video.payloads:
        raise OfferRejected(488, "the offer has no video stream with payload 96 (PS)")
    encoding = video.encoding(96)
    if encoding is not None and not encoding.upper().startswith("PS/"):
        raise OfferRejected(488, f"payload 96 is {encoding}, not PS")
    transport = "UDP"
    if video.is_tcp:
        transport = "TCP-active" if video.setup == "active" else "TCP-passive"
    if video.port == 0 and transport != "TCP-active":
        raise OfferRejected(488, "the offer's media port is 0")
    ssrc = offer.ssrc if offer.ssrc and int(offer.ssrc) < 1 << 32 else None
    chosen = ssrc is None
    if ssrc is None:
        try:
            ssrc = make_ssrc(domain, sequence)
        except SdpError:  # a domain that is not 10 digits: a live SSRC of the sequence alone
            ssrc = f"0{sequence % 1_000_000_000:09d}"
    return RelayOffer(transport, (offer.connection_address, video.port), ssrc, video.transport, chosen)


def answer_sdp(offer: RelayOffer, *, origin: str, host: str, port: int, codec: str) -> bytes:
    """Our 200's SDP (:func:`play_answer`); for TCP-passive (we connect out) the port is the
    discard port, as nothing listens on our side."""
    if offer.transport == "TCP-passive":
        port = DISCARD_PORT
    return play_answer(
        origin=origin,
        host=host,
        port=port,
        transport=offer.transport,
        sdp_transport=offer.sdp_transport,
        ssrc=offer.ssrc,
        codec=codec,
    )
