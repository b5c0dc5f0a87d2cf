"""The signalling plane's asyncio adapter: SIP over UDP and TCP for devices and lower platforms.

A thin pump around the sans-I/O parts: datagrams and framed TCP messages go into one
:class:`SipEndpoint`; its events are dispatched by SIP method, MESSAGE bodies by MANSCDP
command; its datagrams go back out on the transport they belong to; one timer drives
retransmissions, keepalive deadlines and catalog time-outs. Everything learnt is handed to
a :class:`DirectoryWriter`, which writes only the changes. Registrations and keepalives are
also shown to an :class:`AssetMonitor`; the security events it finds go to the same writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from xueliang.catalog import CatalogEntry, Registration
from xueliang.config import Settings, split_host_port
from xueliang.gb28181.assembly import AssembledCatalog, CatalogAssembler
from xueliang.gb28181.dialog import Dialog
from xueliang.gb28181.digest import NonceSigner
from xueliang.gb28181.endpoint import SipEndpoint
from xueliang.gb28181.errors import FramingError, ManscdpError, SipError, UnknownCommandError
from xueliang.gb28181.events import (
    MalformedMessage,
    RequestCancelled,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from xueliang.gb28181.framing import SipStreamFramer
from xueliang.gb28181.guard import RateLimiter
from xueliang.gb28181.manscdp import (
    CONTENT_TYPE,
    CatalogItem,
    CatalogNotify,
    CatalogQuery,
    CatalogResponse,
    Command,
    DeviceControl,
    DeviceInfoQuery,
    DeviceInfoResponse,
    DeviceStatusQuery,
    DeviceStatusResponse,
    Keepalive,
    encode_manscdp,
    parse_manscdp,
)
from xueliang.gb28181.message import Address, SipRequest, SipResponse, SipUri, make_response
from xueliang.gb28181.presence import KeepaliveVerdict, PresenceTable
from xueliang.gb28181.ptz import PtzCommand
from xueliang.gb28181.registrar import Registrar, RegistrationKind
from xueliang.gb28181.sdp import MediaDescription, SessionDescription, make_ssrc, parse_sdp
from xueliang.gb28181.store import DirectoryWriter
from xueliang.gbcode import GbCodeError, parse_gb_id
from xueliang.security.assets import AssetMonitor
from xueliang.security.authority import login_lockout

__all__ = ["InviteError", "InviteSession", "Peer", "SignallingServer", "SignallingStats"]

log = logging.getLogger(__name__)

MAX_TCP_MESSAGE = 8 * 1024 * 1024  # a 10,000-item catalog part over TCP
MAX_UDP_MESSAGE = 65_535
UDP_RECEIVE_BUFFER = 8 * 1024 * 1024
CATALOG_RETRIES = 1
# Bodies above this (catalog parts of thousands of items) are parsed in a worker process, so a
# 5 MB catalog neither stalls keepalives nor waits for the database.
LARGE_BODY = 64 * 1024
# Keepalives are a few hundred bytes; a stray MESSAGE larger than this is not parsed to find one.
MAX_KEEPALIVE = 4096
# Events that mean "this channel cannot deliver video now" (A.2.5).
_OFF_EVENTS = {"OFF": False, "VLOST": False, "DEFECT": False, "ON": True}


class InviteError(Exception):
    """A device refused or never answered an INVITE; ``status`` is the SIP status (408 for none)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class InviteSession:
    """A live INVITE dialog with a device (9.2): what it answered, and how to end it."""

    device_id: str
    channel_id: str
    ssrc: str
    answer: SessionDescription
    dialog: Dialog
    address: Address
    transport: str
    closed: bool = False
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class Peer(Protocol):
    """Whoever handles the requests an upper platform sends us (the cascade, as a lower
    platform): registered in :attr:`SignallingServer.peers` under the upper's SIP ID."""

    def on_request(self, event: RequestReceived, now: float) -> None: ...

    def on_cancel(self, event: RequestCancelled) -> None: ...


@dataclass(slots=True)
class SignallingStats:
    registrations: int = 0
    unregistrations: int = 0
    rejected_registrations: int = 0
    keepalives: int = 0
    suspect_keepalives: int = 0
    unregistered_messages: int = 0
    malformed: int = 0
    rate_limited: int = 0
    catalogs_complete: int = 0
    catalogs_partial: int = 0
    went_offline: int = 0


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: SignallingServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.server.receive(data, (addr[0], addr[1]), "UDP")

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error: %s", exc)


class SignallingServer:
    """The platform's SIP side. ``start()`` listens; ``stop()`` closes everything. ``monitor``
    knows the resource directory's devices (default: a monitor for which none is unknown)."""

    def __init__(
        self,
        settings: Settings,
        writer: DirectoryWriter,
        passwords: dict[str, str],
        monitor: AssetMonitor | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.passwords = passwords
        self.monitor = monitor or AssetMonitor(window=settings.keepalive_interval * settings.keepalive_misses)
        host, port = split_host_port(settings.sip)
        self.host, self.port = host, port
        self.endpoint = SipEndpoint(
            host, port, user_agent="xueliang", symmetric=True, max_message_size=MAX_TCP_MESSAGE
        )
        self.presence = PresenceTable(settings.keepalive_interval, settings.keepalive_misses)
        # Parts are written as they arrive; the assembler only tracks which items came.
        self.catalogs: CatalogAssembler[None] = CatalogAssembler()
        self._parser: ProcessPoolExecutor | None = None
        self.registrar = Registrar(
            realm=settings.sip_domain,
            default_password=settings.sip_password,
            password_for=self.passwords.get,
            nonces=NonceSigner(secrets.token_bytes(32)),
            device_lockout=login_lockout(settings),  # the same policy as user logins
            source_lockout=login_lockout(settings, per_source=True),
            is_known=self.monitor.is_known,
            accept_unknown=settings.sip_accept_unknown,
        )
        self.limiter = RateLimiter(rate=settings.sip_rate_limit, burst=settings.sip_rate_limit * 2)
        self.stats = SignallingStats()
        self.zone = ZoneInfo(settings.timezone)
        self._sn = itertools.count(1)
        self._ssrc_seq = itertools.count(1)
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._tcp: dict[Address, asyncio.StreamWriter] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._waiters: dict[tuple[str, str, int], asyncio.Future[Any]] = {}
        self._requests: dict[str, asyncio.Future[SipResponse]] = {}
        self._sessions: dict[str, InviteSession] = {}
        self._faulty: dict[str, frozenset[str]] = {}
        self._catalog_retries: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._readers: set[asyncio.Task[None]] = set()
        # Upper platforms we are registered to (cascade): their requests go to their peer.
        self.peers: dict[str, Peer] = {}
        self._handlers: dict[str, Callable[[RequestReceived, float], None]] = {
            "REGISTER": self._on_register,
            "MESSAGE": self._on_message,
            "NOTIFY": self._on_message,
            "BYE": self._on_bye,
            "ACK": lambda event, now: None,  # ACKs for our 2xx answers: nothing more to do
            "OPTIONS": lambda event, now: self._respond(event, 200, now),
        }
        self._commands: dict[type[Command], Callable[[str, Any, RequestReceived, float], int]] = {
            Keepalive: self._on_keepalive,
            CatalogResponse: self._on_catalog_part,
            CatalogNotify: self._on_catalog_notify,
            DeviceInfoResponse: self._on_device_info,
            DeviceStatusResponse: self._on_device_status,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        loop = self._loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
        # A deep receive buffer absorbs bursts (a city re-registering after an outage) that
        # would otherwise be dropped by the kernel before the loop gets to them.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
        sock.bind((self.host, self.port))
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=sock)
        self._tcp_server = await asyncio.start_server(
            self._on_connection, self.host, self.port, limit=MAX_TCP_MESSAGE
        )
        self._arm()
        log.info(
            "SIP listening on %s:%d (UDP and TCP) as %s@%s",
            self.host,
            self.port,
            self.settings.sip_id,
            self.settings.sip_domain,
        )

    async def stop(self) -> None:
        """Stop listening. Devices still registered are recorded offline from now: while the
        platform is down nobody can vouch for them."""
        self.writer.offline(self.presence.online_ids())
        if self._timer:
            self._timer.cancel()
        if self._udp:
            self._udp.close()
        if self._tcp_server:
            self._tcp_server.close()
            for writer in list(self._tcp.values()):
                writer.close()
            with contextlib.suppress(Exception):
                await self._tcp_server.wait_closed()
        for future in [*self._waiters.values(), *self._requests.values()]:
            future.cancel()
        for task in list(self._readers):
            task.cancel()
        if self._parser is not None:
            self._parser.shutdown(wait=False, cancel_futures=True)

    def now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # ---------------------------------------------------------------- transport in

    def receive(self, data: bytes, addr: Address, transport: str) -> None:
        """One UDP datagram or one framed TCP message from ``addr``."""
        now = self.now()
        if not self.limiter.allow(f"{addr[0]}:{addr[1]}", now):
            self.stats.rate_limited += 1
            return
        if transport == "UDP" and len(data) > MAX_UDP_MESSAGE:
            self.stats.malformed += 1
            return
        self.endpoint.receive(data, addr, transport, now)
        self._pump(now)

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        self._tcp[addr] = writer
        await self._read_stream(reader, writer, addr)

    async def _read_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address
    ) -> None:
        framer = SipStreamFramer(max_message_size=MAX_TCP_MESSAGE)
        try:
            while data := await reader.read(65536):
                for message in framer.feed(data):
                    self.receive(message, addr, "TCP")
        except FramingError as exc:
            self.stats.malformed += 1
            log.warning("closing SIP/TCP connection from %s:%d: %s", addr[0], addr[1], exc)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if self._tcp.get(addr) is writer:
                del self._tcp[addr]
            writer.close()

    async def connect(
        self, host: str, port: int, *, timeout: float = 5.0, on_close: Callable[[], None] | None = None
    ) -> Address:
        """Open a SIP/TCP connection to ``host:port`` (we are the client: a lower platform
        to its upper). Requests to and from that address then use it; ``on_close`` is called
        when it goes away. Returns the peer's address. Raises OSError or TimeoutError."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=MAX_TCP_MESSAGE), timeout
        )
        peer = writer.get_extra_info("peername")
        addr: Address = (peer[0], peer[1])
        old = self._tcp.get(addr)
        if old is not None:
            old.close()
        self._tcp[addr] = writer

        async def read() -> None:
            try:
                await self._read_stream(reader, writer, addr)
            finally:
                if on_close is not None:
                    on_close()

        task = asyncio.get_running_loop().create_task(read(), name=f"sip-tcp-{host}:{port}")
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)
        return addr

    def disconnect(self, addr: Address) -> None:
        """Close our TCP connection to ``addr``, if any."""
        writer = self._tcp.get(addr)
        if writer is not None:
            writer.close()

    # ---------------------------------------------------------------- the pump

    def _pump(self, now: float) -> None:
        while (event := self.endpoint.next_event()) is not None:
            try:
                self._dispatch(event, now)
            except Exception:  # a handler bug must not take the plane down
                log.exception("error handling %s", type(event).__name__)
        self._flush(now)
        self._arm()

    def _flush(self, now: float) -> None:
        for data, addr, transport in self.endpoint.datagrams_to_send(now):
            if transport == "UDP":
                if self._udp is not None:
                    self._udp.sendto(data, addr)
            elif (writer := self._tcp.get(addr)) is not None and not writer.is_closing():
                writer.write(data)
            else:
                log.debug("no TCP connection to %s:%d; dropped %d bytes", addr[0], addr[1], len(data))

    def _arm(self) -> None:
        deadlines = [
            d
            for d in (self.endpoint.get_timer(), self.presence.next_deadline(), self.catalogs.next_deadline())
            if d is not None
        ]
        at = min(deadlines, default=None)
        if at is None or (self._timer_at is not None and self._timer_at <= at and self._timer):
            return
        if self._timer:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = at
        self._timer = self._loop.call_at(max(at, self.now()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        now = self.now()
        self.endpoint.handle_timer(now)
        gone = self.presence.expire(now)
        if gone:
            self.stats.went_offline += len(gone)
            log.info("%d device(s) offline after missed keepalives or expiry", len(gone))
            self.writer.offline(gone)
        for catalog in self.catalogs.expire(now):
            self._catalog_done(catalog)
        self._pump(now)

    def _dispatch(self, event: object, now: float) -> None:
        if isinstance(event, RequestReceived):
            peer = self.peers.get(_user(event.request) or "") if self.peers else None
            if peer is not None:  # an upper platform we are registered to (cascade)
                peer.on_request(event, now)
                return
            handler = self._handlers.get(event.request.method)
            if handler is None:
                self._respond(event, 405, now, headers=(("Allow", ", ".join(self._handlers)),))
            else:
                handler(event, now)
        elif isinstance(event, ResponseReceived):
            call_id = event.response.call_id
            future = self._requests.get(call_id)
            if future is not None and event.response.status >= 200 and not future.done():
                future.set_result(event.response)
        elif isinstance(event, TransactionTimedOut):
            future = self._requests.get(event.request.call_id)
            if future is not None and not future.done():
                future.set_exception(TimeoutError(f"no answer to {event.request.method}"))
        elif isinstance(event, RequestCancelled):
            peer = self.peers.get(_user(event.invite) or "") if self.peers else None
            if peer is not None:
                peer.on_cancel(event)
        elif isinstance(event, MalformedMessage):
            self.stats.malformed += 1
            log.warning(
                "malformed SIP from %s:%d over %s: %s%s",
                event.addr[0],
                event.addr[1],
                event.transport,
                event.reason,
                " (answered)" if event.answered else "",
            )

    def _respond(
        self,
        event: RequestReceived,
        status: int,
        now: float,
        headers: tuple[tuple[str, str], ...] = (),
        reason: str | None = None,
    ) -> None:
        to_tag = event.request.to.tag or self.endpoint.new_tag()
        response = make_response(event.request, status, reason, to_tag=to_tag, headers=headers)
        self.endpoint.send_response(response, now)

    def answer(
        self,
        request: SipRequest,
        status: int,
        *,
        reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> SipResponse:
        """Answer a request a :class:`Peer` was given, now; returns the response sent."""
        if status > 100 and request.to.tag is None and to_tag is None:
            to_tag = self.endpoint.new_tag()
        response = make_response(request, status, reason, to_tag=to_tag, headers=headers, body=body)
        now = self.now()
        self.endpoint.send_response(response, now)
        self._pump(now)
        return response

    # ---------------------------------------------------------------- REGISTER (9.1)

    def _on_register(self, event: RequestReceived, now: float) -> None:
        result = self.registrar.handle(event.request, event.addr, now, datetime.now(self.zone))
        self._respond(event, result.status, now, headers=result.headers, reason=result.reason)
        if result.kind is RegistrationKind.REGISTERED:
            self.stats.registrations += 1
            self.writer.security(
                self.monitor.registered(
                    result.device_id,
                    event.addr,
                    event.transport,
                    now,
                    default_password=result.default_password,
                )
            )
            came_online = self.presence.register(
                result.device_id, event.addr, event.transport, result.expires, now
            )
            if came_online:
                self.writer.registered(
                    Registration(
                        result.device_id,
                        f"{event.addr[0]}:{event.addr[1]}",
                        event.transport,
                        result.gb_version,
                    )
                )
                self.query(result.device_id, CatalogQuery(sn=next(self._sn), device_id=result.device_id))
                self.query(result.device_id, DeviceInfoQuery(sn=next(self._sn), device_id=result.device_id))
        elif result.kind is RegistrationKind.UNREGISTERED:
            self.stats.unregistrations += 1
            if self.presence.unregister(result.device_id):
                self.writer.offline([result.device_id])
        elif result.kind is RegistrationKind.REJECTED:
            self.stats.rejected_registrations += 1
            if result.unknown_device:
                self.writer.security(self.monitor.refused(result.device_id, event.addr, event.transport))
            log.warning(
                "REGISTER from %s:%d (%s) rejected: %d %s%s",
                event.addr[0],
                event.addr[1],
                result.device_id or "?",
                result.status,
                result.reason,
                " — now locked out" if result.locked_out else "",
            )

    # ---------------------------------------------------------------- MESSAGE / NOTIFY

    def _on_message(self, event: RequestReceived, now: float) -> None:
        request = event.request
        sender = _user(request)
        presence = self.presence.get(sender) if sender else None
        if presence is None:
            self.stats.unregistered_messages += 1
            self._respond(event, 403, now, reason="Forbidden: not registered")
            self._stray_keepalive(sender, event, None, now)
            return
        if presence.address[0] != event.addr[0]:
            self.stats.suspect_keepalives += 1
            log.warning(
                "suspect %s for %s from %s (registered from %s)",
                request.method,
                sender,
                event.addr[0],
                presence.address[0],
            )
            self._respond(event, 403, now, reason="Forbidden: not the registered address")
            self._stray_keepalive(sender, event, (presence.address[0], presence.transport), now)
            return
        if len(request.body) > LARGE_BODY:
            self._respond(event, 200, now)
            self.presence.touch(sender, event.addr, now)
            asyncio.ensure_future(self._parse_large(sender, request.body))
            return
        try:
            message = parse_manscdp(request.body)
        except UnknownCommandError as exc:
            # Alarm, MobilePosition, MediaStatus…: acknowledged, not (yet) used.
            log.debug("unhandled MANSCDP %s/%s from %s", exc.root, exc.cmd_type, sender)
            self._respond(event, 200, now)
            return
        except ManscdpError as exc:
            self.stats.malformed += 1
            log.warning("bad MANSCDP body from %s: %s", sender, exc)
            self._respond(event, 400, now, reason="Bad Request: unreadable MANSCDP body")
            return
        handler = self._commands.get(type(message.command))
        if handler is None:
            self._respond(event, 200, now)
            return
        status = handler(sender, message.command, event, now)
        self._respond(event, status, now)
        self.presence.touch(sender, event.addr, now)

    def _stray_keepalive(
        self, sender: str | None, event: RequestReceived, registered: tuple[str, str] | None, now: float
    ) -> None:
        """A MESSAGE refused for its sender or address: if it is a Keepalive, the monitor judges it."""
        body = event.request.body
        if not sender or len(body) > MAX_KEEPALIVE or b"keepalive" not in body.lower():
            return
        try:
            parse_gb_id(sender)
            command = parse_manscdp(body).command
        except (GbCodeError, ManscdpError):
            return
        if isinstance(command, Keepalive):
            self.writer.security(self.monitor.keepalive(sender, event.addr, event.transport, now, registered))

    async def _parse_large(self, sender: str, body: bytes) -> None:
        if self._parser is None:
            self._parser = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver"))
        assert self._loop is not None
        try:
            kind, sn, total, entries = await self._loop.run_in_executor(
                self._parser, parse_catalog_body, body
            )
        except (ManscdpError, ValueError) as exc:
            self.stats.malformed += 1
            log.warning("bad large MANSCDP body from %s: %s", sender, exc)
            return
        now = self.now()
        if kind == "Response":
            self._catalog_part(sender, sn, total, entries, now)
        else:
            self._catalog_events(sender, entries)
        self._pump(now)

    def _on_keepalive(self, sender: str, command: Keepalive, event: RequestReceived, now: float) -> int:
        verdict = self.presence.keepalive(sender, event.addr, now)
        if verdict is KeepaliveVerdict.OK:
            self.stats.keepalives += 1
            presence = self.presence.get(sender)
            assert presence is not None
            registered = (presence.address[0], presence.transport)
            self.writer.security(self.monitor.keepalive(sender, event.addr, event.transport, now, registered))
            faulty = frozenset(command.faulty)
            before = self._faulty.get(sender, frozenset())
            if faulty != before:  # Info lists the channels at fault now (9.6)
                self._faulty[sender] = faulty
                changes = {**dict.fromkeys(before - faulty, True), **dict.fromkeys(faulty - before, False)}
                self.writer.reported(sender, changes)
            return 200
        self.stats.suspect_keepalives += verdict is KeepaliveVerdict.SUSPECT
        return 403

    def _on_catalog_part(
        self, sender: str, command: CatalogResponse, event: RequestReceived, now: float
    ) -> int:
        self._catalog_part(sender, command.sn, command.sum_num, [_entry(i) for i in command.items], now)
        return 200

    def _catalog_part(
        self, sender: str, sn: int, total: int, entries: list[CatalogEntry], now: float
    ) -> None:
        repeated = len(entries) - len({e.gb_id for e in entries})
        if repeated:  # the directory keeps one item per ID: the last one given
            log.warning(
                "catalog part from %s (SN %d) repeats %d item IDs; the last of each is kept",
                sender,
                sn,
                repeated,
            )
        if entries:
            self.writer.catalog(sender, entries)
        done = self.catalogs.add_part(sender, sn, total, [(e.gb_id, None) for e in entries], now)
        if done is not None:
            self._catalog_done(done)

    def _catalog_done(self, catalog: AssembledCatalog[None]) -> None:
        if catalog.complete:
            self.stats.catalogs_complete += 1
            log.debug(
                "catalog of %s (SN %d): %d items in %d parts",
                catalog.device_id,
                catalog.sn,
                len(catalog.items),
                catalog.parts,
            )
        else:
            self.stats.catalogs_partial += 1
            log.warning(
                "catalog of %s (SN %d) incomplete: %d of %s items in %d parts",
                catalog.device_id,
                catalog.sn,
                len(catalog.items),
                catalog.total,
                catalog.parts,
            )
        waiter = self._waiters.pop(("Catalog", catalog.device_id, catalog.sn), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(catalog)
        elif not catalog.complete:  # ask once more (a busy NVR, a lost datagram); more would pile on
            tries = self._catalog_retries.get(catalog.device_id, 0)
            if tries < CATALOG_RETRIES:
                self._catalog_retries[catalog.device_id] = tries + 1
                self.query(catalog.device_id, CatalogQuery(sn=next(self._sn), device_id=catalog.device_id))
                return
        self._catalog_retries.pop(catalog.device_id, None)

    def _on_catalog_notify(
        self, sender: str, command: CatalogNotify, event: RequestReceived, now: float
    ) -> int:
        self._catalog_events(sender, [_entry(item) for item in command.items])
        return 200

    def _catalog_events(self, sender: str, entries: list[CatalogEntry]) -> None:
        upserts, deleted, reported = [], [], {}
        for entry in entries:
            kind = entry.event
            if kind == "DEL":
                deleted.append(entry.gb_id)
            elif kind in _OFF_EVENTS:
                reported[entry.gb_id] = _OFF_EVENTS[kind]
            else:  # ADD, UPDATE, or no event: the item itself
                upserts.append(entry)
        if upserts:
            self.writer.catalog(sender, upserts)
        if deleted:
            self.writer.deleted(sender, deleted)
        if reported:
            self.writer.reported(sender, reported)

    def _on_device_info(
        self, sender: str, command: DeviceInfoResponse, event: RequestReceived, now: float
    ) -> int:
        self.writer.device_info(
            sender,
            command.device_name or "",
            command.manufacturer or "",
            command.model or "",
            command.firmware or "",
        )
        self._resolve(("DeviceInfo", sender, command.sn), command)
        return 200

    def _on_device_status(
        self, sender: str, command: DeviceStatusResponse, event: RequestReceived, now: float
    ) -> int:
        self._resolve(("DeviceStatus", sender, command.sn), command)
        return 200

    def _resolve(self, key: tuple[str, str, int], value: object) -> None:
        waiter = self._waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(value)

    # ---------------------------------------------------------------- requests out

    def query(self, device_id: str, command: Command) -> bool:
        """Send a MANSCDP query or control to a registered device; False if it is not online."""
        presence = self.presence.get(device_id)
        if presence is None:
            return False
        now = self.now()
        if isinstance(command, CatalogQuery):
            self.catalogs.expect(device_id, command.sn, now)
        request = self._request_to(
            device_id,
            "MESSAGE",
            presence.address,
            presence.transport,
            body=encode_manscdp(command, encoding="GB2312"),
            content_type=CONTENT_TYPE,
        )
        self.endpoint.send_request(request, presence.address, presence.transport, now)
        self._pump(now)
        return True

    def _request_to(
        self, device_id: str, method: str, address: Address, transport: str, **kw: Any
    ) -> SipRequest:
        domain = self.settings.sip_domain
        return self.endpoint.make_request(
            method,
            f"sip:{device_id}@{address[0]}:{address[1]}",
            from_=f"<sip:{self.settings.sip_id}@{domain}>",
            to=f"<sip:{device_id}@{domain}>",
            transport=transport,
            cseq=1,  # a new Call-ID each time: nothing to count, nothing to remember
            **kw,
        )

    async def _ask(self, kind: str, device_id: str, command: Command, timeout: float) -> Any:
        assert self._loop is not None
        waiter: asyncio.Future[Any] = self._loop.create_future()
        self._waiters[(kind, device_id, command.sn)] = waiter  # type: ignore[attr-defined]
        if not self.query(device_id, command):
            self._waiters.pop((kind, device_id, command.sn), None)  # type: ignore[attr-defined]
            raise LookupError(f"device {device_id} is not online")
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiters.pop((kind, device_id, command.sn), None)  # type: ignore[attr-defined]

    async def device_status(self, device_id: str, timeout: float = 10.0) -> DeviceStatusResponse:
        """DeviceStatus on demand (A.2.4.3)."""
        return await self._ask(
            "DeviceStatus", device_id, DeviceStatusQuery(sn=next(self._sn), device_id=device_id), timeout
        )  # type: ignore[no-any-return]

    async def refresh_catalog(self, device_id: str, timeout: float = 120.0) -> AssembledCatalog[None]:
        return await self._ask(
            "Catalog", device_id, CatalogQuery(sn=next(self._sn), device_id=device_id), timeout
        )  # type: ignore[no-any-return]

    def ptz(self, device_id: str, channel_id: str, command: PtzCommand) -> bool:
        """Send a PTZ command (A.3) for a channel to its device."""
        return self.query(device_id, DeviceControl(sn=next(self._sn), device_id=channel_id, ptz=command))

    # ---------------------------------------------------------------- INVITE (9.2)

    async def invite(
        self,
        device_id: str,
        channel_id: str,
        *,
        media_ip: str,
        media_port: int,
        transport: str = "UDP",
        timeout: float = 10.0,
    ) -> InviteSession:
        """Ask a device to send a channel's live video to ``media_ip:media_port``.

        ``transport`` is ``UDP``, ``TCP-passive`` (we listen, the device connects) or
        ``TCP-active`` (the device listens). Returns the session once the device has
        answered 200 and we have ACKed; raises :class:`InviteError` otherwise.
        """
        presence = self.presence.get(device_id)
        if presence is None:
            raise InviteError(404, f"device {device_id} is not online")
        ssrc = make_ssrc(self.settings.sip_domain, next(self._ssrc_seq))
        if transport == "UDP":
            media = MediaDescription(port=media_port)
        else:
            setup = "passive" if transport == "TCP-passive" else "active"
            media = MediaDescription(port=media_port, transport="TCP/RTP/AVP", setup=setup, connection="new")
        offer = SessionDescription(
            origin_user=self.settings.sip_id,
            connection_address=media_ip,
            media=(media,),
            session_name="Play",
            ssrc=ssrc,
        )
        subject = f"{channel_id}:{ssrc},{self.settings.sip_id}:0"
        request = self.endpoint.make_request(
            "INVITE",
            f"sip:{channel_id}@{presence.address[0]}:{presence.address[1]}",
            from_=f"<sip:{self.settings.sip_id}@{self.settings.sip_domain}>",
            to=f"<sip:{channel_id}@{self.settings.sip_domain}>",
            transport=presence.transport,
            contact=f"<sip:{self.settings.sip_id}@{self.host}:{self.port}>",
            headers=(("Subject", subject),),
            body=offer.to_bytes(),
            content_type="application/sdp",
        )
        try:
            response = await self.transact(request, presence.address, presence.transport, timeout)
        except TimeoutError:
            raise InviteError(408, f"no answer to the INVITE of {channel_id}") from None
        if response.status >= 300:
            raise InviteError(response.status, response.reason)
        dialog = Dialog.from_response(request, response)
        ack = dialog.create_ack()
        now = self.now()
        self.endpoint.send_request(ack, presence.address, presence.transport, now)
        self._pump(now)
        try:
            answer = parse_sdp(response.body)
        except SipError as exc:
            with contextlib.suppress(TimeoutError, SipError):
                await self._send_bye(dialog, presence.address, presence.transport)
            raise InviteError(488, f"unreadable SDP answer: {exc}") from None
        session = InviteSession(
            device_id, channel_id, answer.ssrc or ssrc, answer, dialog, presence.address, presence.transport
        )
        self._sessions[dialog.call_id] = session
        return session

    async def bye(self, session: InviteSession) -> None:
        """End a live session (BYE, 9.2.4); safe to call twice."""
        if session.closed:
            return
        session.closed = True
        self._sessions.pop(session.dialog.call_id, None)
        with contextlib.suppress(TimeoutError, SipError):
            await self._send_bye(session.dialog, session.address, session.transport)
        session.ended.set()

    async def _send_bye(self, dialog: Dialog, address: Address, transport: str) -> None:
        bye = dialog.create_request("BYE")
        await self.transact(bye, address, transport, 5.0)

    async def transact(
        self, request: SipRequest, address: Address, transport: str, timeout: float
    ) -> SipResponse:
        """Send a request and return its final response; TimeoutError if none comes."""
        assert self._loop is not None
        future: asyncio.Future[SipResponse] = self._loop.create_future()
        self._requests[request.call_id] = future
        now = self.now()
        self.endpoint.send_request(request, address, transport, now)
        self._pump(now)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer to {request.method} within {timeout:g} s") from None
        finally:
            self._requests.pop(request.call_id, None)

    def _on_bye(self, event: RequestReceived, now: float) -> None:
        session = self._sessions.pop(event.request.call_id, None)
        self._respond(event, 200 if session else 481, now)
        if session is not None:
            session.closed = True
            session.ended.set()


def _user(request: SipRequest) -> str | None:
    uri = request.from_.uri
    return uri.user if isinstance(uri, SipUri) else None


def parse_catalog_body(body: bytes) -> tuple[str, int, int, list[CatalogEntry]]:
    """Worker-process half of a large catalog MESSAGE: ``(root, SN, SumNum, entries)``."""
    command = parse_manscdp(body).command
    if not isinstance(command, CatalogResponse | CatalogNotify):
        raise ManscdpError(f"a {len(body)}-byte body that is not a catalog")
    return command.ROOT, command.sn, command.sum_num, [_entry(item) for item in command.items]


def _entry(item: CatalogItem) -> CatalogEntry:
    status = (item.status or "").upper()
    return CatalogEntry(
        gb_id=item.device_id,
        name=item.name or "",
        manufacturer=item.manufacturer or "",
        model=item.model or "",
        civil_code=item.civil_code or "",
        parent_id=item.parent_id or "",
        business_group_id=item.business_group_id or "",
        address=item.address or "",
        status_on=None if not status else status in ("ON", "OK"),
        longitude=item.longitude,
        latitude=item.latitude,
        ptz_type=item.ptz_type,
    )
