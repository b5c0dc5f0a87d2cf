"""Many simulated devices behind one SIP endpoint (pure, sans-I/O, like the endpoint itself).

A :class:`SimPort` is what one UDP socket (or one TCP connection) of the fleet carries: a
:class:`~xueliang.gb28181.endpoint.SipEndpoint` for the transaction layer, the devices that
speak through it, and a timer heap for their schedules. Drive it like the endpoint:
:meth:`~SimPort.receive`, :meth:`~SimPort.datagrams_to_send`, :meth:`~SimPort.get_timer`,
:meth:`~SimPort.handle_timer`. The asyncio adapter (:mod:`xueliang.sim.fleet`) only moves
bytes and re-arms one timer.

Routing (aioquic ``asyncio/server.py`` style, by ID): a request goes to the device named by
its Request-URI user (or To user); a channel ID goes to the device that owns it. A response or
a time-out goes to the device named in the From of the request it answers. Only the platform
address is ever spoken to or listened to: the endpoint answers the source (``symmetric``),
and anything queued for another address is dropped here (never trusted from Via/Contact).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from typing import Any

from xueliang.gb28181.endpoint import SipEndpoint
from xueliang.gb28181.errors import SipError
from xueliang.gb28181.events import (
    MalformedMessage,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from xueliang.gb28181.message import Address, SipRequest, SipResponse, SipUri
from xueliang.sim.device import Header, SimContext, SimDevice

__all__ = ["SimPort"]

MAX_MESSAGE_SIZE = 1024 * 1024


def _uri_user(uri: object) -> str | None:
    return uri.user if isinstance(uri, SipUri) else None


class SimPort:
    """Devices sharing one endpoint at ``host:port`` that talk to ``platform`` only."""

    def __init__(
        self,
        ctx: SimContext,
        host: str,
        port: int,
        platform: Address,
        *,
        transport: str = "UDP",
        token: str | None = None,
    ) -> None:
        self.ctx = ctx
        self.host = host
        self.port = port
        self.platform = platform
        self.transport = transport.upper()
        self.endpoint = SipEndpoint(
            host,
            port,
            token=token,
            user_agent=ctx.config.user_agent,
            symmetric=True,
            max_message_size=MAX_MESSAGE_SIZE,
        )
        self.devices: dict[str, SimDevice] = {}
        self.scheduled_at: float | None = None  # owned by the fleet's heap of ports
        self.wire: Any = None  # the adapter's transport (socket or connection), if any
        self._silent: set[str] = set()
        self._heap: list[tuple[float, int, SimDevice]] = []
        self._seq = itertools.count()
        domain, platform_id = ctx.config.domain, ctx.config.platform_id
        self._platform_uri = f"sip:{platform_id}@{domain}"
        self._platform_to = f"<sip:{platform_id}@{domain}>"

    # ------------------------------------------------------------------ devices

    def add(self, device: SimDevice) -> None:
        self.devices[device.device_id] = device
        device.link = self
        self.reschedule(device)

    def start(self, device: SimDevice, now: float) -> None:
        device.start(now)
        self.reschedule(device)

    def reschedule(self, device: SimDevice) -> None:
        """Push the device's deadline if it is earlier than the one already in the heap."""
        deadline = device.deadline
        if deadline is not None and (device.scheduled_at is None or deadline < device.scheduled_at):
            heapq.heappush(self._heap, (deadline, next(self._seq), device))
            device.scheduled_at = deadline

    # ------------------------------------------------------------------ the Link devices use

    def new_call_id(self) -> str:
        return self.endpoint.new_call_id()

    def send(
        self,
        device: SimDevice,
        method: str,
        now: float,
        *,
        call_id: str | None = None,
        cseq: int = 1,
        headers: Iterable[Header] = (),
        body: bytes = b"",
        content_type: str | None = None,
        contact: bool = False,
    ) -> SipRequest:
        """An out-of-dialog request from ``device`` to the platform (GB/T 28181-2022 9.1.2,
        9.6.2): Request-URI and To name the platform, From the device, in the domain."""
        domain = self.ctx.config.domain
        uri = f"sip:{device.device_id}@{domain}"
        request = self.endpoint.make_request(
            method,
            self._platform_uri,
            from_=f"<{uri}>",
            to=f"<{uri}>" if method == "REGISTER" else self._platform_to,
            transport=self.transport,
            call_id=call_id or self.endpoint.new_call_id(),
            cseq=cseq,  # always given: the endpoint's per-Call-ID CSeq memory would grow forever
            contact=f"<sip:{device.device_id}@{self.host}:{self.port}>" if contact else None,
            headers=headers,
            body=body,
            content_type=content_type,
        )
        return self.endpoint.send_request(request, self.platform, self.transport, now)

    def respond(
        self,
        request: SipRequest,
        status: int,
        now: float,
        headers: Iterable[Header] = (),
        *,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> SipResponse:
        return self.endpoint.respond(request, status, now, headers=headers, body=body, to_tag=to_tag)

    def send_in_dialog(self, device: SimDevice, request: SipRequest, now: float) -> SipRequest:
        """An in-dialog request (our BYE): to the platform, whatever its Contact or Route say."""
        if self.endpoint.user_agent and request.get("User-Agent") is None:
            request = request.with_header("User-Agent", self.endpoint.user_agent)
        return self.endpoint.send_request(request, self.platform, self.transport, now)

    def new_tag(self) -> str:
        return self.endpoint.new_tag()

    def set_silent(self, device: SimDevice, silent: bool) -> None:
        """A silent device's requests are dropped unread, as if its network were down."""
        if silent:
            self._silent.add(device.device_id)
        else:
            self._silent.discard(device.device_id)

    # ------------------------------------------------------------------ sans-I/O driving

    def receive(self, data: bytes, addr: Address, now: float) -> None:
        """One datagram (or framed TCP message) from ``addr``; only the platform is heard."""
        if addr != self.platform:
            self.ctx.stats.dropped_foreign += 1
            return
        if self._silent and self._target(data) in self._silent:
            return
        self.endpoint.receive(data, addr, self.transport, now)
        self._dispatch(now)

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address]]:
        """What to put on the wire, all of it to the platform."""
        out = []
        for data, addr, _transport in self.endpoint.datagrams_to_send(now):
            if addr == self.platform:
                out.append((data, addr))
            else:  # a Via or Contact naming somewhere else: never followed
                self.ctx.stats.dropped_foreign += 1
        return out

    def get_timer(self) -> float | None:
        endpoint = self.endpoint.get_timer()
        device = self._heap[0][0] if self._heap else None
        if endpoint is None:
            return device
        return endpoint if device is None else min(endpoint, device)

    def handle_timer(self, now: float) -> None:
        self.endpoint.handle_timer(now)
        self._dispatch(now)
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, device = heapq.heappop(heap)
            if device.scheduled_at != deadline:
                continue  # superseded by an earlier entry
            device.scheduled_at = None
            if device.link is not self:
                continue
            due = device.deadline
            if due is not None and due <= now:
                device.on_timer(now)
            self.reschedule(device)
        self._dispatch(now)

    # ------------------------------------------------------------------ routing

    def device_for(self, gb_id: str | None) -> SimDevice | None:
        """The device with this ID, or owning this channel ID, if it speaks through this port."""
        if not gb_id:
            return None
        device = self.devices.get(gb_id)
        if device is None:
            index = self.ctx.plan.index_of(gb_id)
            if index is not None:
                device = self.devices.get(self.ctx.plan.device_id(index))
        return device

    def _target(self, data: bytes) -> str | None:
        """The device a request is for, read cheaply from its request line (None for responses)."""
        line = data[: data.find(b"\n")]
        if line.startswith(b"SIP/"):
            return None
        parts = line.split(b" ")
        if len(parts) < 2 or b"@" not in parts[1]:
            return None
        user = parts[1].partition(b"@")[0].rpartition(b":")[2].decode("ascii", "replace")
        device = self.device_for(user)
        return device.device_id if device is not None else user

    def _dispatch(self, now: float) -> None:
        endpoint, stats = self.endpoint, self.ctx.stats
        while (event := endpoint.next_event()) is not None:
            if isinstance(event, ResponseReceived):
                if event.request is not None:  # From names the device or (BYE) its channel
                    device = self.device_for(_uri_user(event.request.from_.uri))
                    if device is not None:
                        device.on_response(event.request, event.response, now)
                        self.reschedule(device)
            elif isinstance(event, RequestReceived):
                request = event.request
                try:
                    target = _uri_user(request.request_uri) or _uri_user(request.to.uri)
                except SipError:  # an odd Request-URI: try To alone
                    target = _uri_user(request.to.uri)
                device = self.device_for(target)
                if device is not None:
                    device.on_request(request, now)
                    self.reschedule(device)
                elif request.method != "ACK":
                    stats.requests_received += 1
                    stats.requests_rejected += 1
                    endpoint.respond(request, 404, now)  # no such device here
            elif isinstance(event, TransactionTimedOut):
                timed_out = event.request
                if timed_out.method == "INVITE":  # the platform's INVITE: our 200 never ACKed
                    device = self.device_for(_uri_user(timed_out.request_uri) or _uri_user(timed_out.to.uri))
                else:
                    device = self.device_for(_uri_user(timed_out.from_.uri))
                if device is not None:
                    device.on_timeout(event.request, now)
                    self.reschedule(device)
            elif isinstance(event, MalformedMessage):
                stats.malformed += 1
