"""A sans-I/O SIP endpoint: the transaction layer plus the bits of a UA core every user needs.

Driven like aioquic's ``QuicConnection``: :meth:`SipEndpoint.receive` bytes with their
source address and transport, :meth:`~SipEndpoint.send_request` /
:meth:`~SipEndpoint.send_response`, then drain :meth:`~SipEndpoint.datagrams_to_send`,
re-arm one timer from :meth:`~SipEndpoint.get_timer`, call
:meth:`~SipEndpoint.handle_timer` when it fires and read :meth:`~SipEndpoint.next_event`.
Time is always passed in. For TCP, frame the stream first (:mod:`framing`) and pass each
message to ``receive`` with transport ``"TCP"``.

Done here so no user can forget it: matching responses to client transactions by branch and
method (RFC 3261 §17.1.3) and requests to server transactions (§17.2.3, with the RFC 2543
fallback), absorbing retransmissions, ACK for non-2xx, 100 Trying for INVITE, CANCEL
(§9.2), ``received``/``rport`` (RFC 3581) and 400 answers to malformed requests.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections import deque
from collections.abc import Iterable

from xueliang.gb28181.errors import SipError
from xueliang.gb28181.events import (
    EndpointEvent,
    MalformedMessage,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from xueliang.gb28181.message import (
    BRANCH_MAGIC_COOKIE,
    DEFAULT_MAX_MESSAGE_SIZE,
    REASON_PHRASES,
    Address,
    NameAddr,
    SipRequest,
    SipResponse,
    Via,
    make_response,
    parse_message,
    response_address,
    salvage_error_response,
    stamp_received,
)
from xueliang.gb28181.transaction import Action, Input, Kind, State, Transaction, response_input

__all__ = [
    "RELIABLE_TRANSPORTS",
    "Datagram",
    "SipEndpoint",
    "make_cancel",
    "make_failure_ack",
]

RELIABLE_TRANSPORTS = frozenset({"TCP", "TLS", "SCTP", "WS", "WSS"})
Datagram = tuple[bytes, Address, str]
TxKey = tuple[object, ...]


def make_failure_ack(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK a client INVITE transaction sends for a 300–699 (RFC 3261 §17.1.1.3)."""
    headers = [
        ("Via", invite.values("Via")[0]),
        *(("Route", r) for r in invite.get_all("Route")),
        ("From", invite.require_header("From")),
        ("To", response.require_header("To")),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq.number} ACK"),
        ("Max-Forwards", "70"),
    ]
    return SipRequest("ACK", invite.uri, tuple(headers))


def make_cancel(invite: SipRequest) -> SipRequest:
    """CANCEL for a pending INVITE (RFC 3261 §9.1): same Request-URI, top Via, Call-ID,
    From, To, CSeq number, Route."""
    headers = [
        ("Via", invite.values("Via")[0]),
        *(("Route", r) for r in invite.get_all("Route")),
        ("From", invite.require_header("From")),
        ("To", invite.require_header("To")),
        ("Call-ID", invite.call_id),
        ("CSeq", f"{invite.cseq.number} CANCEL"),
        ("Max-Forwards", "70"),
    ]
    return SipRequest("CANCEL", invite.uri, tuple(headers))


def _server_key(request: SipRequest) -> TxKey:
    """Server transaction key (RFC 3261 §17.2.3); ACK matches its INVITE."""
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    if via.is_rfc3261_branch:
        return ("s", via.branch, via.sent_by, method)
    # RFC 2543 fallback (§17.2.3 last paragraph; RFC 4475 §3.2.1, §3.4.1)
    cseq = request.cseq
    return ("s2543", request.uri, request.from_.tag, request.call_id, cseq.number,
            via.sent_by, method)  # fmt: skip


def _response_key(message: SipRequest | SipResponse) -> TxKey:
    """What a response shares with its request: top Via, Call-ID, CSeq (§8.2.6)."""
    via = message.top_via
    cseq = message.cseq
    method = "INVITE" if cseq.method == "ACK" else cseq.method
    return (via.branch, via.sent_by, message.call_id, cseq.number, method)


class SipEndpoint:
    """One SIP endpoint at ``host:port`` (what it writes in Via and Contact).

    ``token`` seeds branch, tag and Call-ID generation (random by default; fixed in tests):
    IDs are ``token`` plus a counter, so they are unique and never repeat. ``symmetric``
    sends every response to the request's source address (devices behind NAT; and a
    platform must not be steered to another host by what a Via header says).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        token: str | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        user_agent: str | None = None,
        auto_trying: bool = True,
        symmetric: bool = False,
    ) -> None:
        self.host = host
        self.symmetric = symmetric
        self.port = port
        self.max_message_size = max_message_size
        self.user_agent = user_agent
        self.auto_trying = auto_trying
        self._token = token if token is not None else secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._cseq: dict[str, int] = {}
        self._transactions: dict[TxKey, Transaction] = {}
        self._by_response: dict[TxKey, TxKey] = {}  # response key → server tx key
        # (Call-ID, CSeq number) → INVITE transaction in Accepted, to match 2xx ACKs (§13.2.2.4)
        self._accepted_client: dict[tuple[str, int], TxKey] = {}
        self._accepted_server: dict[tuple[str, int], TxKey] = {}
        self._outbox: list[Datagram] = []
        self._events: deque[EndpointEvent] = deque()
        # (deadline, sequence, key): entries go stale when a transaction moves on or ends,
        # and are skipped when they surface, so a timer costs O(log n), not a scan.
        self._timer_heap: list[tuple[float, int, TxKey]] = []
        self._timer_seq = itertools.count()

    # ------------------------------------------------------------------ identifiers

    def new_branch(self) -> str:
        """A fresh RFC 3261 branch (§8.1.1.7: magic cookie + unique token)."""
        return f"{BRANCH_MAGIC_COOKIE}{self._token}{next(self._ids):x}"

    def new_tag(self) -> str:
        return f"{self._token}{next(self._ids):x}"

    def new_call_id(self) -> str:
        return f"{self._token}{next(self._ids):x}@{self.host}"

    def next_cseq(self, call_id: str) -> int:
        """The next CSeq for an out-of-dialog request on ``call_id`` (1, 2, 3...)."""
        value = self._cseq.get(call_id, 0) + 1
        self._cseq[call_id] = value
        return value

    def forget_call(self, call_id: str) -> None:
        self._cseq.pop(call_id, None)

    def via(self, transport: str, branch: str | None = None) -> Via:
        """Our Via: sent-by, a new branch, and ``rport`` (RFC 3581) for NAT."""
        return Via(transport.upper(), self.host, self.port,
                   (("branch", branch or self.new_branch()), ("rport", None)))  # fmt: skip

    def make_request(
        self,
        method: str,
        uri: str,
        *,
        from_: NameAddr | str,
        to: NameAddr | str,
        transport: str = "UDP",
        call_id: str | None = None,
        cseq: int | None = None,
        contact: NameAddr | str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str | None = None,
    ) -> SipRequest:
        """An out-of-dialog request with Via, a From tag, Call-ID, CSeq, Max-Forwards."""
        sender = NameAddr.parse(from_) if isinstance(from_, str) else from_
        if sender.tag is None:
            sender = sender.with_tag(self.new_tag())
        call_id = call_id or self.new_call_id()
        number = cseq if cseq is not None else self.next_cseq(call_id)
        lines: list[tuple[str, str]] = [
            ("Via", str(self.via(transport))),
            ("From", str(sender)),
            ("To", str(to)),
            ("Call-ID", call_id),
            ("CSeq", f"{number} {method}"),
            ("Max-Forwards", "70"),
        ]
        if contact is not None:
            lines.append(("Contact", str(contact)))
        if self.user_agent:
            lines.append(("User-Agent", self.user_agent))
        lines += list(headers)
        if content_type is not None:
            lines.append(("Content-Type", content_type))
        return SipRequest(method, uri, tuple(lines), body)

    # --------------------------------------------------------------------- sending

    def send_request(
        self, request: SipRequest, addr: Address, transport: str, now: float
    ) -> SipRequest:
        """Send a request; non-ACK requests start a client transaction (§17.1).

        A request without Via gets ours. ACK (for a 2xx) is sent as is and remembered so a
        retransmitted 2xx is re-acknowledged without bothering the user (§13.2.2.4).
        Returns the request as sent.
        """
        transport = transport.upper()
        if request.get("Via") is None:
            request = request.with_header("Via", str(self.via(transport)), first=True)
        self._queue(request, addr, transport)
        if request.method == "ACK":
            key = self._accepted_client.get((request.call_id, request.cseq.number))
            tx = self._transactions.get(key) if key else None
            if tx is not None:
                tx.ack = request
            return request
        kind = Kind.CLIENT_INVITE if request.method == "INVITE" else Kind.CLIENT_NON_INVITE
        key = ("c", request.top_via.branch, request.method)
        if key in self._transactions:
            raise SipError(f"branch {key[1]} is already in use", status=500)
        self._transactions[key] = Transaction(
            key, kind, request, reliable=transport in RELIABLE_TRANSPORTS, addr=addr,
            transport=transport, now=now,
        )  # fmt: skip
        self._schedule(self._transactions[key])
        return request

    def send_response(self, response: SipResponse, now: float) -> None:
        """Send a response through its server transaction (statelessly if there is none)."""
        tx_key = self._by_response.get(_response_key(response))
        tx = self._transactions.get(tx_key) if tx_key else None
        if tx is None:  # e.g. a 2xx retransmitted by the TU after the transaction ended
            via = response.top_via
            addr = (via.received or via.host, via.rport or via.port or 5060)
            self._queue(response, addr, via.transport)
            return
        actions = tx.handle(response_input(response.status, sending=True), now)
        tx.last_response = response
        if tx.kind is Kind.SERVER_INVITE and tx.state is State.ACCEPTED:
            self._accepted_server[(response.call_id, response.cseq.number)] = tx.key
        self._perform(tx, actions, now)

    def respond(
        self, request: SipRequest, status: int, now: float, *, to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
    ) -> SipResponse:  # fmt: skip
        """Build (RFC 3261 §8.2.6) and send a response to ``request``; returns it."""
        if to_tag is None and status > 100 and request.to.tag is None:
            to_tag = self.new_tag()
        response = make_response(request, status, to_tag=to_tag, headers=headers, body=body)
        self.send_response(response, now)
        return response

    # ------------------------------------------------------------------- receiving

    def receive(self, data: bytes, addr: Address, transport: str, now: float) -> None:
        """Take one datagram (or one framed stream message). Never raises."""
        transport = transport.upper()
        try:
            message = parse_message(data, max_size=self.max_message_size)
        except SipError as exc:
            self._malformed(data, addr, transport, exc.reason, exc.status)
            return
        try:
            if isinstance(message, SipResponse):
                self._on_response(message, addr, transport, now)
            else:
                self._on_request(message, addr, transport, now)
        except SipError as exc:  # e.g. a header only looked at now
            self._malformed(data, addr, transport, exc.reason, exc.status)
        except Exception as exc:  # noqa: BLE001 - the one boundary: nothing escapes receive
            self._malformed(data, addr, transport, f"internal error: {exc!r}", 500)

    def _malformed(self, data: bytes, addr: Address, transport: str, reason: str,
                   status: int) -> None:  # fmt: skip
        phrase = REASON_PHRASES.get(status, "Bad Request")
        reply = salvage_error_response(data, status, phrase)
        if reply is not None:  # to the source: a broken message's Via is not trusted
            self._queue(reply, addr, transport)
        self._events.append(
            MalformedMessage(addr, transport, reason, data, status, reply is not None)
        )

    def _on_response(self, response: SipResponse, addr: Address, transport: str,
                     now: float) -> None:  # fmt: skip
        via = response.top_via
        tx = self._transactions.get(("c", via.branch, response.cseq.method))
        if tx is None:
            if response.cseq.method == "INVITE" and 200 <= response.status < 300:
                self._events.append(ResponseReceived(response, addr, transport, None))
            return  # stray response: discarded (§17.1.3)
        event = response_input(response.status, sending=False)
        if tx.state is State.ACCEPTED and event is Input.RESPONSE_2XX and tx.ack is not None:
            self._queue(tx.ack, tx.addr, tx.transport)  # 2xx retransmission: re-ACK
            return
        if event is Input.RESPONSE_2XX and tx.kind is Kind.CLIENT_INVITE:
            self._accepted_client[(response.call_id, response.cseq.number)] = tx.key
        actions = tx.handle(event, now)
        self._perform(tx, actions, now, response=response, source=(addr, transport))

    def _on_request(self, request: SipRequest, addr: Address, transport: str,
                    now: float) -> None:  # fmt: skip
        request = stamp_received(request, addr)
        key = _server_key(request)
        tx = self._transactions.get(key)
        if request.method == "ACK":
            if tx is None:  # ACK for a 2xx has its own branch (§17.1.1.3, §13.2.2.4)
                accepted = self._accepted_server.get((request.call_id, request.cseq.number))
                tx = self._transactions.get(accepted) if accepted else None
            if tx is None:
                self._events.append(RequestReceived(request, addr, transport))
                return
            actions = tx.handle(Input.ACK, now)
            self._perform(tx, actions, now, request=request, source=(addr, transport))
            return
        if tx is not None:  # a retransmission: resend the last response or absorb
            self._perform(tx, tx.handle(Input.REQUEST, now), now)
            return
        reliable = transport in RELIABLE_TRANSPORTS
        kind = Kind.SERVER_INVITE if request.method == "INVITE" else Kind.SERVER_NON_INVITE
        # Symmetric response routing (as RFC 3581 rport, for every request): answer the
        # address the request came from, never one a Via header names.
        dest = addr if self.symmetric else response_address(request.top_via, addr, reliable)
        tx = Transaction(key, kind, request, reliable=reliable, addr=dest, transport=transport,
                         now=now)  # fmt: skip
        self._transactions[key] = tx
        self._schedule(tx)
        self._by_response[_response_key(request)] = key
        if request.method == "CANCEL":
            self._on_cancel(request, now)
            return
        if kind is Kind.SERVER_INVITE and self.auto_trying:
            self.send_response(make_response(request, 100), now)  # §17.2.1
        self._events.append(RequestReceived(request, addr, transport))

    def _on_cancel(self, cancel: SipRequest, now: float) -> None:
        """RFC 3261 §9.2: 200 to the CANCEL, 487 to a pending INVITE, 481 if none."""
        invite_key = (*_server_key(cancel)[:-1], "INVITE")
        invite_tx = self._transactions.get(invite_key)
        if invite_tx is None:
            self.respond(cancel, 481, now)
            return
        self.respond(cancel, 200, now)
        if invite_tx.state is State.PROCEEDING:
            to_tag = invite_tx.last_response.to.tag if invite_tx.last_response else None
            self.respond(invite_tx.request, 487, now, to_tag=to_tag)
            self._events.append(RequestCancelled(invite_tx.request, cancel))

    # ---------------------------------------------------------------------- timers

    def _schedule(self, tx: Transaction) -> None:
        deadline = tx.next_deadline()
        if deadline is not None:
            heapq.heappush(self._timer_heap, (deadline, next(self._timer_seq), tx.key))

    def _live_top(self) -> tuple[float, Transaction] | None:
        """The earliest heap entry that still matches its transaction's next deadline."""
        heap = self._timer_heap
        while heap:
            deadline, _, key = heap[0]
            tx = self._transactions.get(key)
            if tx is not None and tx.next_deadline() == deadline:
                return deadline, tx
            heapq.heappop(heap)
        return None

    def get_timer(self) -> float | None:
        """The earliest timer deadline, or None when nothing is pending."""
        top = self._live_top()
        return top[0] if top else None

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now`` (zero-length timers armed meanwhile too)."""
        while (top := self._live_top()) is not None and top[0] <= now:
            heapq.heappop(self._timer_heap)
            tx = top[1]
            for timer in tx.due_timers(now):
                if tx.key not in self._transactions:
                    break
                self._perform(tx, tx.handle(timer.input, now), now, timer=timer.value)
            if tx.key in self._transactions:
                self._schedule(tx)

    # ---------------------------------------------------------------------- output

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        """Everything queued for the wire: ``(bytes, addr, transport)``."""
        out, self._outbox = self._outbox, []
        return out

    def next_event(self) -> EndpointEvent | None:
        return self._events.popleft() if self._events else None

    @property
    def transaction_count(self) -> int:
        return len(self._transactions)

    def transaction_state(self, request: SipRequest, *, client: bool = True) -> State | None:
        """The state of the transaction ``request`` started (None once it is gone)."""
        key = ("c", request.top_via.branch, request.method) if client else _server_key(request)
        tx = self._transactions.get(key)
        return tx.state if tx else None

    def _queue(self, message: SipRequest | SipResponse, addr: Address, transport: str) -> None:
        self._outbox.append((message.to_bytes(), addr, transport))

    def _perform(
        self,
        tx: Transaction,
        actions: tuple[Action, ...],
        now: float,
        *,
        response: SipResponse | None = None,
        request: SipRequest | None = None,
        source: tuple[Address, str] | None = None,
        timer: str | None = None,
    ) -> None:
        for action in actions:
            if action is Action.SEND_REQUEST:
                self._queue(tx.request, tx.addr, tx.transport)
            elif action is Action.SEND_RESPONSE and tx.last_response is not None:
                self._queue(tx.last_response, tx.addr, tx.transport)
            elif action is Action.SEND_ACK and response is not None:
                tx.ack = make_failure_ack(tx.request, response)
                self._queue(tx.ack, tx.addr, tx.transport)
            elif action is Action.DELIVER:
                if response is not None:
                    addr, transport = source or (tx.addr, tx.transport)
                    self._events.append(ResponseReceived(response, addr, transport, tx.request))
                elif request is not None:
                    addr, transport = source or (tx.addr, tx.transport)
                    self._events.append(RequestReceived(request, addr, transport))
            elif action is Action.TIMEOUT:
                self._events.append(TransactionTimedOut(tx.request, timer or "?"))
            elif action is Action.TERMINATE:
                self._forget(tx)
        if tx.key in self._transactions:
            self._schedule(tx)

    def _forget(self, tx: Transaction) -> None:
        self._transactions.pop(tx.key, None)
        if not tx.is_client:
            self._by_response.pop(_response_key(tx.request), None)
        if tx.kind in (Kind.CLIENT_INVITE, Kind.SERVER_INVITE):  # only INVITEs are accepted
            accepted = self._accepted_client if tx.is_client else self._accepted_server
            pair = (tx.request.call_id, tx.request.cseq.number)  # its 2xx's: same Call-ID and CSeq
            if accepted.get(pair) == tx.key:
                del accepted[pair]
