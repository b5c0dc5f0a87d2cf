"""Registration to one upper platform (GB/T 28181-2022 §7, 9.1, 9.6): the asyncio adapter.

An :class:`UplinkLink` registers this platform to its upper platform as a type-200 device
through the signalling server's SIP endpoint (UDP, or a TCP connection it opens and keeps),
answers the digest challenge with the configured password, refreshes the registration
before it expires (:func:`refresh_after`), and sends a keepalive MESSAGE every
``keepalive_interval`` seconds. Any failure (a 4xx/5xx to REGISTER, no answer, a keepalive
refused or unanswered three times, the TCP connection dropped) ends the session; after
:class:`Backoff` the link registers afresh. :attr:`UplinkLink.status` says where it stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from xueliang.cascade.store import UplinkConfig
from xueliang.cascade.timing import Backoff, refresh_after
from xueliang.gb28181.digest import authorize, parse_challenge
from xueliang.gb28181.errors import SipError
from xueliang.gb28181.manscdp import CONTENT_TYPE, Command, Keepalive, encode_manscdp
from xueliang.gb28181.message import Address, SipRequest, SipResponse

if TYPE_CHECKING:
    from xueliang.gb28181.server import SignallingServer

__all__ = ["LinkState", "LinkStatus", "RegistrationError", "UplinkLink"]

log = logging.getLogger(__name__)

KEEPALIVE_MISSES = 3  # GB/T 28181-2022 9.6: offline after three missed keepalives
REQUEST_TIMEOUT = 10.0
UNREGISTER_TIMEOUT = 3.0


class RegistrationError(Exception):
    """The upper platform refused us (its status and reason in the message)."""


class LinkState(StrEnum):
    DISABLED = "disabled"  # configured off
    REGISTERING = "registering"  # connecting, or REGISTER on its way
    REGISTERED = "registered"
    FAILING = "failing"  # the last attempt failed; waiting to try again
    STOPPED = "stopped"


@dataclass(slots=True)
class LinkStatus:
    state: LinkState = LinkState.REGISTERING
    last_error: str | None = None
    failures: int = 0  # in a row
    registered_at: datetime | None = None
    expires: int | None = None
    last_keepalive_at: datetime | None = None
    next_attempt_at: datetime | None = None


class UplinkLink:
    """Keeps this platform registered to one upper platform; ``run()`` until cancelled."""

    def __init__(
        self, config: UplinkConfig, server: SignallingServer, *, backoff: Backoff | None = None
    ) -> None:
        self.config = config
        self.server = server
        self.backoff = backoff or Backoff()
        self.status = LinkStatus(state=LinkState.REGISTERING if config.enabled else LinkState.DISABLED)
        self.address: Address | None = None
        self._call_id = server.endpoint.new_call_id()
        self._cseq = 0
        self._sn = 0
        self._lost = asyncio.Event()
        self._registered = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_down: Callable[[], None] | None = None  # told when a registered session fails

    @property
    def transport(self) -> str:
        return self.config.transport

    @property
    def registered(self) -> bool:
        return self.status.state is LinkState.REGISTERED

    async def wait_registered(self) -> None:
        await self._registered.wait()

    # ------------------------------------------------------------------ the session loop

    def start(self) -> None:
        if self._task is None and self.config.enabled:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"uplink-{self.config.sip_id}"
            )

    async def stop(self) -> None:
        """Stop; a registered link first unregisters (``Expires: 0``)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.unregister()
        self._hang_up()
        self._registered.clear()
        self.status.state = LinkState.STOPPED if self.config.enabled else LinkState.DISABLED

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except (RegistrationError, TimeoutError, OSError, SipError) as exc:
                self._registered.clear()
                self._failed(exc)
                self._hang_up()
            delay = self.backoff.delay(self.status.failures, random.random())
            self.status.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            await asyncio.sleep(delay)

    def _hang_up(self) -> None:
        if self.transport == "TCP" and self.address is not None:
            self.server.disconnect(self.address)

    async def _session(self) -> None:
        config = self.config
        self.status.state = LinkState.REGISTERING
        self._lost.clear()
        if self.transport == "TCP":
            self.address = await self.server.connect(config.host, config.port, on_close=self._lost.set)
        else:
            self.address = await _resolve(config.host, config.port)
        expires = await self._register(config.register_expires)
        self._on_registered(expires)
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + refresh_after(expires)
        next_keepalive = loop.time() + config.keepalive_interval
        misses = 0
        while True:
            wake = min(refresh_at, next_keepalive)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), max(0.0, wake - loop.time()))
            if self._lost.is_set():
                raise ConnectionError("the TCP connection to the upper platform was dropped")
            if loop.time() >= refresh_at:
                expires = await self._register(config.register_expires)
                self._on_registered(expires)
                refresh_at = loop.time() + refresh_after(expires)
                continue
            next_keepalive = loop.time() + config.keepalive_interval
            try:
                response = await self.transact(self._keepalive(), timeout=self._keepalive_timeout)
            except TimeoutError:
                misses += 1
                log.warning("uplink %s: keepalive unanswered (%d in a row)", config.sip_id, misses)
                if misses >= KEEPALIVE_MISSES:
                    raise TimeoutError(f"{misses} keepalives in a row unanswered") from None
                continue
            if response.status >= 300:  # e.g. 403: the upper platform no longer knows us
                raise RegistrationError(f"keepalive refused: {response.status} {response.reason}")
            misses = 0
            self.status.last_keepalive_at = datetime.now(UTC)

    @property
    def _keepalive_timeout(self) -> float:
        return max(1.0, min(REQUEST_TIMEOUT, float(self.config.keepalive_interval)))

    def _on_registered(self, expires: int) -> None:
        status = self.status
        if status.state is not LinkState.REGISTERED:
            log.info(
                "uplink %s: registered as %s (expires %d s)",
                self.config.sip_id,
                self.config.local_id,
                expires,
            )
            status.registered_at = datetime.now(UTC)
        status.state = LinkState.REGISTERED
        status.expires = expires
        status.failures = 0
        status.last_error = None
        status.next_attempt_at = None
        self._registered.set()

    def _failed(self, exc: BaseException) -> None:
        if self.status.state is LinkState.REGISTERED and self.on_down is not None:
            self.on_down()
        status = self.status
        status.state = LinkState.FAILING
        status.failures += 1
        status.last_error = str(exc) or type(exc).__name__
        status.registered_at = None
        log.warning(
            "uplink %s (%s:%d/%s): %s (failure %d in a row)",
            self.config.sip_id,
            self.config.host,
            self.config.port,
            self.transport,
            status.last_error,
            status.failures,
        )

    # ------------------------------------------------------------------ REGISTER (9.1)

    async def _register(self, expires: int) -> int:
        """REGISTER, answering one digest challenge; returns the expiry granted."""
        response = await self.transact(self._register_request(expires), timeout=REQUEST_TIMEOUT)
        answered = False
        while response.status in (401, 407):
            header = response.get("WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate")
            try:
                challenge = parse_challenge(header or "")
            except SipError as exc:
                raise RegistrationError(
                    f"{response.status} with an unusable challenge: {exc.reason}"
                ) from None
            if answered and not challenge.stale:
                raise RegistrationError(f"{response.status} {response.reason}: our credentials were refused")
            answered = True
            request = self._register_request(expires)
            credentials = authorize(
                challenge,
                username=self.config.local_id,
                password=self.config.password,
                method="REGISTER",
                uri=request.uri,
                cnonce=secrets.token_hex(8),
            )
            request = request.with_header("Authorization", credentials.to_header())
            response = await self.transact(request, timeout=REQUEST_TIMEOUT)
        if 200 <= response.status < 300:
            try:
                granted = response.expires
            except SipError:
                granted = None
            return granted if granted else expires
        raise RegistrationError(f"REGISTER answered {response.status} {response.reason}")

    def _register_request(self, expires: int) -> SipRequest:
        self._cseq += 1  # one Call-ID, rising CSeq (RFC 3261 §10.2.4)
        config = self.config
        server = self.server
        return server.endpoint.make_request(
            "REGISTER",
            f"sip:{config.sip_id}@{config.domain}",
            from_=self.local_uri,
            to=f"<sip:{config.local_id}@{server.settings.sip_domain}>",
            transport=self.transport,
            call_id=self._call_id,
            cseq=self._cseq,
            contact=f"<sip:{config.local_id}@{server.host}:{server.port}>",
            headers=(("Expires", str(expires)),),
        )

    async def unregister(self) -> None:
        """``Expires: 0`` (best effort, briefly): the upper platform sees us leave at once."""
        if not self.registered or self.address is None:
            return
        with contextlib.suppress(RegistrationError, TimeoutError, OSError, SipError):
            await asyncio.wait_for(self._register(0), UNREGISTER_TIMEOUT)
            log.info("uplink %s: unregistered", self.config.sip_id)

    # ------------------------------------------------------------------ requests to the upper platform

    @property
    def local_uri(self) -> str:
        return f"<sip:{self.config.local_id}@{self.server.settings.sip_domain}>"

    def _keepalive(self) -> SipRequest:
        self._sn += 1
        return self.message(Keepalive(self._sn, self.config.local_id, "OK"))

    def next_sn(self) -> int:
        self._sn += 1
        return self._sn

    def message(self, command: Command) -> SipRequest:
        """A MANSCDP MESSAGE to the upper platform (GB 2312 XML, as devices send)."""
        config = self.config
        return self.server.endpoint.make_request(
            "MESSAGE",
            f"sip:{config.sip_id}@{config.domain}",
            from_=self.local_uri,
            to=f"<sip:{config.sip_id}@{config.domain}>",
            transport=self.transport,
            cseq=1,
            body=encode_manscdp(command, encoding="GB2312"),
            content_type=CONTENT_TYPE,
        )

    async def transact(self, request: SipRequest, *, timeout: float = REQUEST_TIMEOUT) -> SipResponse:
        """Send a request to the upper platform and wait for its final answer."""
        if self.address is None:
            raise ConnectionError("not connected to the upper platform")
        return await self.server.transact(request, self.address, self.transport, timeout)


async def _resolve(host: str, port: int) -> Address:
    """The IPv4/IPv6 address of ``host`` (an address stays as it is)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"cannot resolve {host}")
    address = infos[0][4]
    return str(address[0]), int(address[1])
