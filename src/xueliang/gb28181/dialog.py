"""Minimal INVITE dialogs (RFC 3261 §12, §13.2.2.4, §15) for live view and playback.

The platform is the UAC (INVITE → 200 → ACK ... BYE, GB/T 28181-2022 §9.2); the device
simulator and the cascade's downward leg are the UAS. States form a table like the
transactions'. A dialog builds its in-dialog requests without Via: the endpoint adds its
own with a fresh branch when sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from xueliang.gb28181.errors import DialogError
from xueliang.gb28181.message import NameAddr, SipRequest, SipResponse, SipUri, parse_uri

__all__ = ["Dialog", "DialogInput", "DialogState"]


class DialogState(Enum):
    EARLY = "early"  # a 1xx with a To tag (§12.1)
    CONFIRMED = "confirmed"  # a 2xx
    TERMINATED = "terminated"


class DialogInput(Enum):
    PROVISIONAL = "1xx"
    SUCCESS = "2xx"
    FAILURE = "300-699"
    BYE = "bye"  # sent or received (§15)


_TABLE: dict[tuple[DialogState, DialogInput], DialogState] = {
    (DialogState.EARLY, DialogInput.PROVISIONAL): DialogState.EARLY,
    (DialogState.EARLY, DialogInput.SUCCESS): DialogState.CONFIRMED,
    (DialogState.EARLY, DialogInput.FAILURE): DialogState.TERMINATED,
    (DialogState.EARLY, DialogInput.BYE): DialogState.TERMINATED,
    (DialogState.CONFIRMED, DialogInput.SUCCESS): DialogState.CONFIRMED,  # retransmitted 2xx
    (DialogState.CONFIRMED, DialogInput.BYE): DialogState.TERMINATED,
}


def _contact_uri(message: SipRequest | SipResponse) -> str:
    contact = message.contact
    if contact is None:
        raise DialogError("dialog-creating message without Contact", status=400)
    return str(contact.uri)


@dataclass(slots=True)
class Dialog:
    """Dialog state (§12.1): ID, sequence numbers, remote target and route set."""

    call_id: str
    local: NameAddr  # our URI with our tag (From for the UAC, To for the UAS)
    remote: NameAddr  # theirs, with their tag once known
    local_seq: int
    remote_seq: int | None
    remote_target: str
    route_set: tuple[str, ...]
    is_uac: bool
    invite: SipRequest
    state: DialogState = DialogState.EARLY
    local_contact: str | None = None

    @property
    def local_tag(self) -> str:
        return self.local.tag or ""

    @property
    def remote_tag(self) -> str | None:
        return self.remote.tag

    @property
    def id(self) -> tuple[str, str, str | None]:
        """(Call-ID, local tag, remote tag) (§12)."""
        return self.call_id, self.local_tag, self.remote_tag

    # ------------------------------------------------------------------ creation

    @classmethod
    def from_response(cls, invite: SipRequest, response: SipResponse) -> Dialog:
        """UAC side (§12.1.2): a 1xx-with-tag or 2xx to our INVITE creates the dialog."""
        if response.to.tag is None or not 100 < response.status < 300:
            raise DialogError("only a 101-299 with a To tag creates a dialog", status=400)
        dialog = cls(
            call_id=invite.call_id,
            local=invite.from_,
            remote=response.to,
            local_seq=invite.cseq.number,
            remote_seq=None,
            remote_target=_contact_uri(response),
            route_set=tuple(reversed(response.values("Record-Route"))),
            is_uac=True,
            invite=invite,
        )
        dialog.on_response(response)
        return dialog

    @classmethod
    def from_request(
        cls, invite: SipRequest, response: SipResponse, *, local_contact: str | None = None
    ) -> Dialog:
        """UAS side (§12.1.1): our 1xx/2xx (with our To tag) to their INVITE."""
        if response.to.tag is None:
            raise DialogError("the UAS response must carry a To tag", status=500)
        dialog = cls(
            call_id=invite.call_id,
            local=response.to,
            remote=invite.from_,
            local_seq=0,
            remote_seq=invite.cseq.number,
            remote_target=_contact_uri(invite),
            route_set=tuple(invite.values("Record-Route")),
            is_uac=False,
            invite=invite,
            local_contact=local_contact,
        )
        dialog._apply(_input_for(response.status))
        return dialog

    # ---------------------------------------------------------------- transitions

    def _apply(self, event: DialogInput) -> None:
        new = _TABLE.get((self.state, event))
        if new is None:
            raise DialogError(f"dialog in {self.state.value} cannot take {event.value}")
        self.state = new

    def on_response(self, response: SipResponse) -> None:
        """A response to our INVITE within this dialog; 2xx refreshes the target (§12.2.1.2)."""
        if response.status >= 200 and response.status < 300 and response.contact is not None:
            self.remote_target = str(response.contact.uri)
        if response.to.tag and self.remote.tag != response.to.tag:
            self.remote = response.to
        self._apply(_input_for(response.status))

    def matches(self, message: SipRequest | SipResponse) -> bool:
        """True if the message belongs to this dialog (§12.2.2 / §12.2.1.2)."""
        if message.call_id != self.call_id:
            return False
        incoming_request = isinstance(message, SipRequest)
        ours = message.to if incoming_request else message.from_
        theirs = message.from_ if incoming_request else message.to
        return ours.tag == self.local_tag and (
            self.remote_tag is None or theirs.tag == self.remote_tag
        )

    def receive_request(self, request: SipRequest) -> None:
        """Check an in-dialog request (§12.2.2): CSeq must rise (else 500), BYE ends it."""
        if not self.matches(request):
            raise DialogError("request does not match the dialog")
        number = request.cseq.number
        if request.method != "ACK":
            if self.remote_seq is not None and number < self.remote_seq:
                raise DialogError(f"CSeq {number} lower than {self.remote_seq}", status=500)
            self.remote_seq = number
        if request.method == "BYE":
            self._apply(DialogInput.BYE)

    # ---------------------------------------------------------------- requests

    def _route(self) -> tuple[str, list[str]]:
        """Request-URI and Route headers (§12.2.1.1, loose and strict routing)."""
        if not self.route_set:
            return self.remote_target, []
        first = NameAddr.parse(self.route_set[0])
        if isinstance(first.uri, SipUri) and first.uri.has_param("lr"):
            return self.remote_target, list(self.route_set)
        strict_uri = str(first.uri)  # strict router: it goes in the Request-URI
        return strict_uri, [*self.route_set[1:], f"<{self.remote_target}>"]

    def create_request(
        self,
        method: str,
        *,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        """An in-dialog request with the next local CSeq (never random, §12.2.1.1)."""
        if self.state is DialogState.TERMINATED:
            raise DialogError("dialog is terminated")
        if method in ("ACK", "CANCEL"):
            raise DialogError(f"{method} takes its INVITE's CSeq; use create_ack")
        self.local_seq += 1
        request = self._build(method, self.local_seq, headers, body, content_type)
        if method == "BYE":
            self._apply(DialogInput.BYE)
        return request

    def create_ack(self, *, body: bytes = b"", content_type: str | None = None) -> SipRequest:
        """The ACK for the 2xx: CSeq number of the INVITE, method ACK (§13.2.2.4)."""
        return self._build("ACK", self.invite.cseq.number, (), body, content_type)

    def _build(self, method: str, number: int, headers: tuple[tuple[str, str], ...],
               body: bytes, content_type: str | None) -> SipRequest:  # fmt: skip
        uri, routes = self._route()
        lines = [
            ("From", str(self.local)),
            ("To", str(self.remote)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
            ("Max-Forwards", "70"),
            *(("Route", r) for r in routes),
        ]
        if self.local_contact:
            lines.append(("Contact", self.local_contact))
        lines += list(headers)
        if content_type is not None:
            lines.append(("Content-Type", content_type))
        return SipRequest(method, uri, tuple(lines), body)

    def next_hop(self) -> tuple[str, int]:
        """Host and port to send in-dialog requests to: the first route or the target."""
        uri_text = str(NameAddr.parse(self.route_set[0]).uri) if self.route_set else (
            self.remote_target)  # fmt: skip
        uri = parse_uri(uri_text)
        if not isinstance(uri, SipUri):
            raise DialogError(f"cannot route to {uri_text}", status=416)
        return uri.host, uri.port or 5060


def _input_for(status: int) -> DialogInput:
    if status < 200:
        return DialogInput.PROVISIONAL
    return DialogInput.SUCCESS if status < 300 else DialogInput.FAILURE
