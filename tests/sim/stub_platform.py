"""A tiny GB/T 28181 platform for the simulator's tests (test helper only).

Built from the real core: :class:`SipEndpoint`, :class:`NonceSigner`, :func:`make_challenge`,
:func:`verify_response`. It challenges REGISTERs, accepts or refuses them, counts
keepalives, records catalog parts and DeviceInfo/DeviceStatus answers, and sends queries.
Sans-I/O (driven with ``now``) so unit tests can pair it with a :class:`SimPort` in memory;
:class:`AsyncStubPlatform` puts it on real UDP and TCP sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from xueliang.gb28181 import (
    CONTENT_TYPE,
    CatalogResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Keepalive,
    ManscdpMessage,
    NonceSigner,
    NonceStatus,
    RequestReceived,
    ResponseReceived,
    SipEndpoint,
    SipRequest,
    SipStreamFramer,
    SipUri,
    encode_manscdp,
    make_challenge,
    parse_authorization,
    parse_manscdp,
    verify_response,
)
from xueliang.gb28181.manscdp import Command
from xueliang.gb28181.message import Address
from xueliang.sim.port import SimPort

PLATFORM_ID = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "12345678"


@dataclass
class Registration:
    addr: Address
    transport: str
    expires: int
    at: float


@dataclass
class StubPlatform:
    host: str = "127.0.0.1"
    port: int = 5060
    platform_id: str = PLATFORM_ID
    domain: str = DOMAIN
    password: str = PASSWORD
    hold_parts: bool = False  # keep catalog-part MESSAGEs unanswered until answer_held()
    keepalive_status: int = 200
    registered: dict[str, Registration] = field(default_factory=dict)
    register_requests: list[SipRequest] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    unregistered: Counter[str] = field(default_factory=Counter)
    keepalives: Counter[str] = field(default_factory=Counter)
    keepalive_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    parts: dict[tuple[str, int], list[ManscdpMessage]] = field(default_factory=lambda: defaultdict(list))
    part_times: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    infos: dict[str, DeviceInfoResponse] = field(default_factory=dict)
    statuses: dict[str, DeviceStatusResponse] = field(default_factory=dict)
    answers: list[tuple[SipRequest, int]] = field(default_factory=list)  # (our query, status)
    responses: list[tuple[SipRequest, Any]] = field(default_factory=list)  # (our request, final response)
    byes: list[SipRequest] = field(default_factory=list)  # BYEs devices sent us
    held: list[SipRequest] = field(default_factory=list)
    messages: list[SipRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.endpoint = SipEndpoint(
            self.host, self.port, token="plat", symmetric=True, max_message_size=8 * 1024 * 1024
        )
        self.nonces = NonceSigner(b"stub-platform-nonce-secret-0123456789")
        self._sn = 100

    # ------------------------------------------------------------------ sans-I/O

    def receive(self, data: bytes, addr: Address, transport: str, now: float) -> None:
        self.endpoint.receive(data, addr, transport, now)
        self._events(now)

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, Address, str]]:
        return self.endpoint.datagrams_to_send(now)

    def get_timer(self) -> float | None:
        return self.endpoint.get_timer()

    def handle_timer(self, now: float) -> None:
        self.endpoint.handle_timer(now)
        self._events(now)

    def _events(self, now: float) -> None:
        while (event := self.endpoint.next_event()) is not None:
            if isinstance(event, RequestReceived):
                request = event.request
                if request.method == "REGISTER":
                    self._on_register(event, now)
                elif request.method == "MESSAGE":
                    self._on_message(event, now)
                elif request.method == "BYE":  # a device hanging up a live view
                    self.byes.append(request)
                    self.endpoint.respond(request, 200, now)
                elif request.method != "ACK":
                    self.endpoint.respond(request, 405, now)
            elif (
                isinstance(event, ResponseReceived)
                and event.request is not None
                and event.response.status >= 200
            ):
                self.answers.append((event.request, event.response.status))
                self.responses.append((event.request, event.response))

    def _on_register(self, event: RequestReceived, now: float) -> None:
        request = event.request
        self.register_requests.append(request)
        device_id = _user(request)
        header = request.get("Authorization")
        if header is None:
            challenge = make_challenge(self.domain, self.nonces.make(now, self.domain))
            self.endpoint.respond(request, 401, now, headers=(("WWW-Authenticate", challenge.to_header()),))
            return
        credentials = parse_authorization(header)
        if self.nonces.check(credentials.nonce, now, self.domain) is not NonceStatus.VALID:
            challenge = make_challenge(self.domain, self.nonces.make(now, self.domain), stale=True)
            self.endpoint.respond(request, 401, now, headers=(("WWW-Authenticate", challenge.to_header()),))
            return
        if credentials.username != device_id or not verify_response(
            credentials, method="REGISTER", password=self.password
        ):
            self.rejected[device_id] += 1
            self.endpoint.respond(request, 403, now)
            return
        expires = request.expires or 0
        if expires == 0:
            self.registered.pop(device_id, None)
            self.unregistered[device_id] += 1
        else:
            self.registered[device_id] = Registration(event.addr, event.transport, expires, now)
        self.endpoint.respond(
            request, 200, now, headers=(("Expires", str(expires)), ("Date", "2024-05-01T10:00:00.000"))
        )

    def _on_message(self, event: RequestReceived, now: float) -> None:
        request = event.request
        self.messages.append(request)
        device_id = _user(request)
        message = parse_manscdp(request.body)
        command = message.command
        if isinstance(command, Keepalive):
            if device_id not in self.registered:
                self.endpoint.respond(request, 403, now)
                return
            self.keepalives[device_id] += 1
            self.keepalive_times[device_id].append(now)
            self.endpoint.respond(request, self.keepalive_status, now)
            return
        if isinstance(command, CatalogResponse):
            self.parts[(device_id, command.sn)].append(message)
            self.part_times[(device_id, command.sn)].append(now)
            if self.hold_parts:
                self.held.append(request)
                return
        elif isinstance(command, DeviceInfoResponse):
            self.infos[device_id] = command
        elif isinstance(command, DeviceStatusResponse):
            self.statuses[device_id] = command
        self.endpoint.respond(request, 200, now)

    def answer_held(self, now: float, status: int = 200) -> int:
        held, self.held = self.held, []
        for request in held:
            self.endpoint.respond(request, status, now)
        return len(held)

    # ------------------------------------------------------------------ queries

    def next_sn(self) -> int:
        self._sn += 1
        return self._sn

    def query(self, device_id: str, command: Command, now: float, *, to: str | None = None) -> SipRequest:
        """A MANSCDP MESSAGE to a registered device, at the address it registered from."""
        registration = self.registered[device_id]
        addr = registration.addr
        request = self.endpoint.make_request(
            "MESSAGE",
            f"sip:{to or device_id}@{addr[0]}:{addr[1]}",
            from_=f"<sip:{self.platform_id}@{self.domain}>",
            to=f"<sip:{to or device_id}@{self.domain}>",
            transport=registration.transport,
            body=encode_manscdp(command, "GB2312"),
            content_type=CONTENT_TYPE,
        )
        return self.endpoint.send_request(request, addr, registration.transport, now)

    def send_raw(self, method: str, device_id: str, now: float, **kw: Any) -> SipRequest:
        registration = self.registered[device_id]
        addr = registration.addr
        request = self.endpoint.make_request(
            method,
            f"sip:{device_id}@{addr[0]}:{addr[1]}",
            from_=f"<sip:{self.platform_id}@{self.domain}>",
            to=f"<sip:{device_id}@{self.domain}>",
            transport=registration.transport,
            **kw,
        )
        return self.endpoint.send_request(request, addr, registration.transport, now)

    def catalog(self, device_id: str, sn: int) -> dict[str, Any]:
        """The catalog items received for a query, by channel ID, and the declared total."""
        items: dict[str, Any] = {}
        total = None
        for message in self.parts[(device_id, sn)]:
            assert isinstance(message.command, CatalogResponse)
            total = message.command.sum_num
            for item in message.command.items:
                items[item.device_id] = item
        return {"total": total, "items": items}


def _user(request: SipRequest) -> str:
    uri = request.from_.uri
    assert isinstance(uri, SipUri) and uri.user
    return uri.user


class Wire:
    """A :class:`SimPort` and a :class:`StubPlatform` joined in memory, with a fake clock."""

    def __init__(self, port: SimPort, platform: StubPlatform, *, now: float = 1000.0) -> None:
        self.port = port
        self.platform = platform
        self.now = now
        self.lost_to_platform = 0
        self.drop_to_platform = False  # simulate a dead network from device to platform

    def pump(self) -> None:
        for _ in range(10_000):
            moved = False
            for data, _addr in self.port.datagrams_to_send(self.now):
                moved = True
                if self.drop_to_platform:
                    self.lost_to_platform += 1
                    continue
                self.platform.receive(data, (self.port.host, self.port.port), self.port.transport, self.now)
            for data, _addr, _transport in self.platform.datagrams_to_send(self.now):
                moved = True
                self.port.receive(data, self.port.platform, self.now)
            if not moved:
                return
        raise AssertionError("the pair never went quiet")

    def advance(self, until: float) -> None:
        """Run every timer of both sides up to ``until``, in order, exchanging messages."""
        self.pump()
        while True:
            due = [t for t in (self.port.get_timer(), self.platform.get_timer()) if t is not None]
            step = min(due, default=None)
            if step is None or step > until:
                break
            self.now = max(self.now, step)
            self.port.handle_timer(self.now)
            self.platform.handle_timer(self.now)
            self.pump()
        self.now = max(self.now, until)
        self.pump()


# ---------------------------------------------------------------------- on real sockets


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: AsyncStubPlatform) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner.on_data(data, (addr[0], addr[1]), "UDP")


class _Tcp(asyncio.Protocol):
    def __init__(self, owner: AsyncStubPlatform) -> None:
        self.owner = owner
        self.framer = SipStreamFramer(max_message_size=8 * 1024 * 1024)
        self.peer: Address = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1])
        self.owner.connections[self.peer] = transport

    def data_received(self, data: bytes) -> None:
        for message in self.framer.feed(data):
            self.owner.on_data(message, self.peer, "TCP")

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.connections.pop(self.peer, None)


class AsyncStubPlatform:
    """The stub on 127.0.0.1, UDP and TCP on the same free port; a 20 ms timer task."""

    def __init__(self, **kw: Any) -> None:
        self.kw = kw
        self.connections: dict[Address, asyncio.Transport] = {}
        self.platform: StubPlatform
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AsyncStubPlatform:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Tcp(self), "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=("127.0.0.1", port))
        self.platform = StubPlatform("127.0.0.1", port, **self.kw)
        self._ticker = asyncio.ensure_future(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._udp:
            self._udp.close()
        for transport in list(self.connections.values()):
            transport.close()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    @property
    def address(self) -> Address:
        return ("127.0.0.1", self.platform.port)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def on_data(self, data: bytes, addr: Address, transport: str) -> None:
        self.platform.receive(data, addr, transport, self.now())
        self.flush()

    def flush(self) -> None:
        for data, addr, transport in self.platform.datagrams_to_send(self.now()):
            if transport == "UDP":
                assert self._udp is not None
                self._udp.sendto(data, addr)
            elif (conn := self.connections.get(addr)) is not None:
                conn.write(data)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.02)
            self.platform.handle_timer(self.now())
            self.flush()

    def query(self, device_id: str, command: Command, **kw: Any) -> SipRequest:
        request = self.platform.query(device_id, command, self.now(), **kw)
        self.flush()
        return request

    async def wait_for(self, predicate: Any, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not predicate():
            if loop.time() > end:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)
