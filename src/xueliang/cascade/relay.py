"""One upper platform's live view of one shared channel (GB/T 28181-2022 9.2): the relay.

The channel is opened through the platform's media hub like any viewer's (an RTSP pull or
an INVITE to the device or lower platform, shared with every other viewer of it). Once the
first keyframe is in, the upper platform's INVITE is answered 200 with our SDP, and after
its ACK each frame goes out as PS over RTP (:class:`PsRtpForwarder`) to the address and
SSRC of its offer, over UDP or TCP (we connect, or we listen, per its ``a=setup``). A BYE
from the upper platform ends the relay (the hub closes the upstream when nobody else
watches); the upstream ending (the device's BYE) sends our BYE upward.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xueliang.cascade.offer import RelayOffer, answer_sdp
from xueliang.gb28181.dialog import Dialog
from xueliang.gb28181.errors import SipError
from xueliang.gb28181.message import Address, SipRequest
from xueliang.media import (
    ChannelNotFound,
    LiveError,
    MediaFrame,
    MediaHub,
    NoStreamConfigured,
    PortRange,
    PsRtpForwarder,
    VideoCodec,
    Viewer,
)

if TYPE_CHECKING:
    from xueliang.gb28181.server import SignallingServer

__all__ = ["LiveRelay", "RelayMedia"]

log = logging.getLogger(__name__)

ACK_TIMEOUT = 32.0  # 64 × T1: the INVITE server transaction's own limit
BYE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class RelayMedia:
    """Where relays send from: bind ``host``, write ``advertise_ip`` in SDP, use ``ports``."""

    host: str
    advertise_ip: str
    ports: PortRange | None = None
    open_timeout: float = 10.0


class LiveRelay:
    """Serve one INVITE: ``run()`` until the view ends; ``on_ack``/``on_bye`` from the peer."""

    def __init__(
        self,
        *,
        server: SignallingServer,
        hub: MediaHub,
        media: RelayMedia,
        invite: SipRequest,
        source: Address,
        transport: str,
        channel_id: str,
        offer: RelayOffer,
        local_id: str,
    ) -> None:
        self.server = server
        self.hub = hub
        self.media = media
        self.invite = invite
        self.source = source
        self.transport = transport
        self.channel_id = channel_id
        self.offer = offer
        self.local_id = local_id
        self.dialog: Dialog | None = None
        self.forwarder = PsRtpForwarder(int(offer.ssrc))
        self._acked = asyncio.Event()
        self._ended = False

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    def on_ack(self) -> None:
        self._acked.set()

    def on_bye(self, request: SipRequest) -> int:
        """The upper platform's BYE: the status to answer it with (the caller ends the run)."""
        if self.dialog is None:
            return 481
        try:
            self.dialog.receive_request(request)
        except SipError as exc:
            return exc.status if exc.status >= 400 else 481
        self._ended = True
        return 200

    async def run(self) -> None:
        try:
            viewer = self.hub.watch(self.channel_id, codec=None)
        except LiveError as exc:  # the hub is closing
            self._refuse(480, f"channel {self.channel_id} cannot be opened: {exc}")
            return
        try:
            try:
                first = await viewer.get(timeout=self.media.open_timeout)
            except LiveError as exc:
                status = 404 if isinstance(exc, ChannelNotFound | NoStreamConfigured) else 480
                self._refuse(status, f"channel {self.channel_id} cannot be opened: {exc}")
                return
            codec = "h265" if first.frame.codec is VideoCodec.H265 else "h264"
            port = 0
            if self.offer.transport != "TCP-passive":  # UDP sends, TCP-active listens, from this port
                try:
                    _, port = await self.forwarder.start(
                        self.offer.transport, self.offer.remote, host=self.media.host, ports=self.media.ports
                    )
                except (OSError, LiveError) as exc:
                    self._refuse(500, f"cannot open the media socket: {exc}")
                    return
            self._answer(codec, port)
            try:
                await asyncio.wait_for(self._acked.wait(), ACK_TIMEOUT)
            except TimeoutError:
                log.warning("cascade: no ACK for the live view of %s; ending it", self.channel_id)
                await self.hang_up()
                return
            if self.offer.transport == "TCP-passive":
                try:
                    await self.forwarder.start("TCP-passive", self.offer.remote, host=self.media.host)
                except (OSError, TimeoutError, LiveError) as exc:
                    log.warning("cascade: cannot connect to %s for media: %s", self.offer.remote, exc)
                    await self.hang_up()
                    return
            await self._forward(first.frame, viewer)
        finally:
            viewer.close()
            await self.forwarder.stop()

    async def _forward(self, first: MediaFrame, viewer: Viewer) -> None:
        forwarder = self.forwarder
        forwarder.send(first)
        try:
            while not forwarder.link.peer_gone.is_set():
                item = await viewer.get()
                forwarder.send(item.frame)
        except LiveError as exc:
            log.info("cascade: the upstream of %s ended (%s); hanging up upward", self.channel_id, exc)
        else:
            log.info("cascade: the upper platform closed the media connection of %s", self.channel_id)
        await self.hang_up()

    def _refuse(self, status: int, reason: str) -> None:
        log.warning("cascade: refusing the INVITE for %s: %d %s", self.channel_id, status, reason)
        phrase = {404: "Not Found", 480: "Temporarily Unavailable", 500: "Server Internal Error"}[status]
        with contextlib.suppress(SipError):
            self.server.answer(self.invite, status, reason=phrase)

    def _answer(self, codec: str, port: int) -> None:
        contact = f"<sip:{self.local_id}@{self.server.host}:{self.server.port}>"
        body = answer_sdp(
            self.offer, origin=self.local_id, host=self.media.advertise_ip, port=port, codec=codec
        )
        response = self.server.answer(
            self.invite, 200, headers=(("Contact", contact), ("Content-Type", "application/sdp")), body=body
        )
        self.dialog = Dialog.from_request(self.invite, response, local_contact=contact)

    async def hang_up(self) -> None:
        """Our BYE to the upper platform (once, and not after theirs)."""
        dialog = self.dialog
        if dialog is None or self._ended:
            return
        self._ended = True  # nothing more to say either way
        try:
            bye = dialog.create_request("BYE")
        except SipError:
            return
        with contextlib.suppress(TimeoutError, SipError, OSError):
            await self.server.transact(bye, self.source, self.transport, BYE_TIMEOUT)
