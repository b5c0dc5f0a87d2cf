"""One simulated GB/T 28181 device (NVR) as a pure state machine driven by ``now``.

The device never touches a socket or a clock. It is told the time and what arrived
(:meth:`SimDevice.on_timer`, :meth:`~SimDevice.on_response`, :meth:`~SimDevice.on_timeout`,
:meth:`~SimDevice.on_request`) and acts through its :class:`Link` (a
:class:`~xueliang.sim.port.SimPort`: a shared SIP endpoint), which builds, sends and
retransmits the SIP messages. :attr:`SimDevice.deadline` says when it next wants
``on_timer``.

Registration (GB/T 28181-2022 9.1)::

    idle ──timer──▶ registering ──401──▶ challenged ──200──▶ registered
      ▲                 │                    │                  │ │ refresh (before expiry):
      └── retry ≥ 60 s ─┴── 403 / time-out ──┘                  │ └─▶ registering
      └──────────── keepalive refused or unanswered 3× ─────────┘
                                   registered ──flap──▶ silent ──later──▶ idle

Keepalive (9.6): a MESSAGE every ``keepalive`` seconds, the first at a random phase within
the interval. Catalog (9.5, Appendix M): 200 to the query, then the parts one at a time,
each after the previous part's 200. Unknown or unimplemented MANSCDP commands get 200 and
nothing more (as devices do); an unreadable body gets 400; SIP methods not implemented get
501.

Live view (9.2): an INVITE for one of the device's channels (Request-URI user, else the
Subject's first ID; 404 for any other) is answered 200 with an SDP answer
(:mod:`xueliang.sim.media`), 488 for an offer we will not serve (e.g. media off loopback), 486
when the sim already streams ``max_streams``. The ACK queues a :class:`~xueliang.sim.media.StartMedia`
for the adapter (TCP-active: at the INVITE, as the 200 must carry the port we listen on); a
BYE (200), a missing ACK, the device going away or stopping queue a
:class:`~xueliang.sim.media.StopMedia`; stopping with a session open also sends our BYE.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from xueliang.gb28181.dialog import Dialog
from xueliang.gb28181.digest import authorize, parse_challenge
from xueliang.gb28181.errors import DialogError, ManscdpError, SipError, UnknownCommandError
from xueliang.gb28181.manscdp import (
    CONTENT_TYPE,
    CatalogItem,
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
from xueliang.gb28181.message import SipRequest, SipResponse, SipUri
from xueliang.sim.config import Fault, SimConfig
from xueliang.sim.media import (
    MediaContext,
    MediaSession,
    SessionState,
    StartMedia,
    StopMedia,
    VideoFaultSpec,
    answer_sdp,
    channel_codec,
    channel_serial,
    negotiate,
)
from xueliang.sim.plan import FleetPlan, unit
from xueliang.sim.stats import SimStats

__all__ = ["CatalogJob", "DeviceState", "Link", "SimContext", "SimDevice"]

Header = tuple[str, str]


class DeviceState(StrEnum):
    IDLE = "idle"  # not registered; ``next_register`` says when to try (None: never)
    REGISTERING = "registering"  # REGISTER sent without credentials
    CHALLENGED = "challenged"  # REGISTER sent again with digest credentials
    REGISTERED = "registered"
    SILENT = "silent"  # flapping: the network is gone, nothing is sent or answered
    UNREGISTERING = "unregistering"  # REGISTER with Expires: 0 on the way
    STOPPED = "stopped"


_S = DeviceState
# The moves a device may make (h11 ``_state.py`` style): anything else is a bug.
MOVES: dict[DeviceState, frozenset[DeviceState]] = {
    _S.IDLE: frozenset({_S.REGISTERING, _S.STOPPED}),
    _S.REGISTERING: frozenset({_S.CHALLENGED, _S.REGISTERED, _S.IDLE, _S.UNREGISTERING, _S.STOPPED}),
    _S.CHALLENGED: frozenset({_S.CHALLENGED, _S.REGISTERED, _S.IDLE, _S.UNREGISTERING, _S.STOPPED}),
    _S.REGISTERED: frozenset({_S.REGISTERING, _S.IDLE, _S.SILENT, _S.UNREGISTERING, _S.STOPPED}),
    _S.SILENT: frozenset({_S.IDLE, _S.STOPPED}),
    _S.UNREGISTERING: frozenset({_S.UNREGISTERING, _S.STOPPED}),
    _S.STOPPED: frozenset(),
}


_REGISTRATION_STATES = frozenset({_S.REGISTERING, _S.CHALLENGED, _S.REGISTERED})


@dataclass(slots=True)
class SimContext:
    """What every device of a fleet shares: configuration, plan, counters, wall clock.

    ``wall_offset`` turns the caller's ``now`` into UNIX time (for DeviceTime); the
    asyncio adapter sets it from ``time.time() - loop.time()``.
    """

    config: SimConfig
    plan: FleetPlan
    stats: SimStats = field(default_factory=SimStats)
    wall_offset: float = 0.0
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    media: MediaContext = field(default_factory=MediaContext)

    @classmethod
    def create(cls, config: SimConfig, **kw: Any) -> SimContext:
        plan = FleetPlan(
            config.devices,
            config.channels,
            seed=config.seed,
            civil_code=config.civil_code,
            first_index=config.first_index,
        )
        kw.setdefault(
            "media",
            MediaContext(
                faults=VideoFaultSpec.parse(config.video_faults),
                h265=config.h265,
                max_streams=config.max_streams,
                ack_timeout=config.ack_timeout,
            ),
        )
        return cls(config, plan, **kw)

    def local_time(self, now: float) -> str:
        moment = datetime.fromtimestamp(self.wall_offset + now, UTC).astimezone(self.zone)
        return moment.strftime("%Y-%m-%dT%H:%M:%S")


class Link(Protocol):
    """How a device speaks: implemented by :class:`~xueliang.sim.port.SimPort`."""

    host: str
    port: int
    transport: str

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
        """Send an out-of-dialog request from ``device`` to the platform; returns it."""

    def respond(
        self,
        request: SipRequest,
        status: int,
        now: float,
        headers: Iterable[Header] = (),
        *,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> SipResponse: ...

    def send_in_dialog(self, device: SimDevice, request: SipRequest, now: float) -> SipRequest:
        """Send an in-dialog request (our BYE) to the platform; returns it as sent."""

    def new_tag(self) -> str: ...

    def new_call_id(self) -> str: ...

    def set_silent(self, device: SimDevice, silent: bool) -> None: ...


@dataclass(slots=True)
class CatalogJob:
    """A catalog answer in progress: parts ``order`` (indices into ``bounds``) sent one by one."""

    sn: int
    items: list[CatalogItem]
    bounds: list[tuple[int, int]]
    order: list[int]
    position: int = 0
    call_id: str | None = None  # the part in flight, waiting for its 200
    next_at: float | None = None  # when the next part goes (slow catalogs)

    @classmethod
    def build(
        cls, sn: int, items: list[CatalogItem], part_size: int, *, shuffle: random.Random | None = None
    ) -> CatalogJob:
        """Parts of ``part_size`` items in order; with ``shuffle``, out of order and one twice."""
        bounds = [(i, min(i + part_size, len(items))) for i in range(0, len(items), part_size)]
        bounds = bounds or [(0, 0)]  # zero items: one part, SumNum 0 (Appendix M)
        order = list(range(len(bounds)))
        if shuffle is not None and len(order) > 1:
            shuffle.shuffle(order)
            if order == sorted(order):
                order.reverse()
            order.insert(shuffle.randrange(1, len(order) + 1), order[shuffle.randrange(len(order))])
        return cls(sn, items, bounds, order)

    @property
    def done(self) -> bool:
        return self.position >= len(self.order)

    def part(self, device_id: str) -> CatalogResponse:
        lo, hi = self.bounds[self.order[self.position]]
        return CatalogResponse(self.sn, device_id, len(self.items), tuple(self.items[lo:hi]), hi - lo)


class SimDevice:
    """One simulated device. Small on purpose (``__slots__``): a fleet holds 100,000."""

    __slots__ = (
        "ctx",
        "index",
        "device_id",
        "faults",
        "state",
        "link",
        "holds",
        "online",
        "call_id",
        "cseq",
        "sn",
        "reg_sent_at",
        "ka_call_id",
        "ka_sent_at",
        "misses",
        "next_register",
        "next_keepalive",
        "next_flap",
        "job",
        "scheduled_at",
        "sessions",
    )

    def __init__(self, ctx: SimContext, index: int, faults: Fault | None = None) -> None:
        config = ctx.config
        self.ctx = ctx
        self.index = index
        self.device_id = ctx.plan.device_id(index)
        self.faults = config.faults.faults_for(config.seed, index) if faults is None else faults
        self.state = DeviceState.IDLE
        self.link: Link | None = None
        self.holds = False  # holds a registration the platform granted
        self.online = False  # ... and the platform answered the last REGISTER/keepalive
        self.call_id: str | None = None  # REGISTER Call-ID, kept across refreshes (RFC 3261 §10.2.4)
        self.cseq = 0
        self.sn = 0
        self.reg_sent_at = 0.0
        self.ka_call_id: str | None = None
        self.ka_sent_at = 0.0
        self.misses = 0
        self.next_register: float | None = None
        self.next_keepalive: float | None = None
        self.next_flap: float | None = None
        self.job: CatalogJob | None = None
        self.scheduled_at: float | None = None  # owned by the port's timer heap
        self.sessions: dict[str, MediaSession] | None = None  # live view, by Call-ID
        ctx.stats.states[self.state] += 1

    def __repr__(self) -> str:
        return f"<SimDevice {self.device_id} {self.state} faults={self.faults!r}>"

    # ------------------------------------------------------------------ schedule

    @property
    def deadline(self) -> float | None:
        """When this device next needs :meth:`on_timer` (None: nothing pending)."""
        job_at = self.job.next_at if self.job is not None else None
        ack_at = None
        if self.sessions:
            acks = [s.ack_deadline for s in self.sessions.values() if s.ack_deadline is not None]
            ack_at = min(acks) if acks else None
        times = [
            t
            for t in (self.next_register, self.next_keepalive, self.next_flap, job_at, ack_at)
            if t is not None
        ]
        return min(times) if times else None

    def start(self, now: float) -> None:
        """Begin (or begin again on a new TCP connection): register now, unless the device
        has the ``offline`` fault (it never does)."""
        if self.state is DeviceState.IDLE and not self.faults & Fault.OFFLINE:
            self.next_register = now

    def stop(self, now: float, *, unregister: bool = False) -> None:
        """Stop; with ``unregister``, a registered device (or one whose registration is on
        its way) first sends ``Expires: 0``; answers to the earlier REGISTER are then stale."""
        self.hang_up(now)
        if unregister and self.state in _REGISTRATION_STATES and self.link is not None:
            self._clear_timers()
            self._move(DeviceState.UNREGISTERING)
            self._send_register(now, expires=0)
            return
        if self.state is not DeviceState.STOPPED:
            self._drop_registration()
            self._clear_timers()
            self._move(DeviceState.STOPPED)

    def on_timer(self, now: float) -> None:
        """Do whatever is due at ``now``."""
        if self.next_flap is not None and self.next_flap <= now:
            self._flap(now)
        if self.next_register is not None and self.next_register <= now:
            self.next_register = None
            if self.state in (DeviceState.IDLE, DeviceState.REGISTERED):
                self._move(DeviceState.REGISTERING)
                self._send_register(now, expires=self.ctx.config.register_expires)
        if self.next_keepalive is not None and self.next_keepalive <= now:
            self.next_keepalive = now + self.ctx.config.keepalive
            if self.state is DeviceState.REGISTERED:
                self._send_keepalive(now)
        job = self.job
        if job is not None and job.next_at is not None and job.next_at <= now:
            job.next_at = None
            self._send_part(now)
        if self.sessions:
            for session in list(self.sessions.values()):
                if session.ack_deadline is not None and session.ack_deadline <= now:
                    self.ctx.stats.acks_missed += 1
                    self._end_session(session, "no ACK")

    def on_link_lost(self, now: float) -> None:
        """The TCP connection went away: everything in flight is lost; the owner reconnects."""
        self.link = None
        self._end_all("SIP link lost")
        self._drop_registration()
        self._clear_timers()
        if self.state not in (DeviceState.IDLE, DeviceState.STOPPED):
            self._move(DeviceState.STOPPED if self.state is DeviceState.UNREGISTERING else DeviceState.IDLE)

    # ------------------------------------------------------------------ registration (9.1)

    def _move(self, to: DeviceState) -> None:
        if to not in MOVES[self.state]:
            raise RuntimeError(f"{self.device_id}: no move from {self.state} to {to}")
        states = self.ctx.stats.states
        states[self.state] -= 1
        states[to] += 1
        self.state = to

    def _send_register(self, now: float, *, expires: int, credentials: str | None = None) -> None:
        config, link = self.ctx.config, self.link
        if link is None:
            return
        if self.call_id is None:
            self.call_id = link.new_call_id()
        self.cseq += 1
        headers: list[Header] = [("Expires", str(expires))]
        if credentials is not None:
            headers.append(("Authorization", credentials))
        if config.gb_version:
            headers.append(("X-GB-ver", config.gb_version))  # GB/T 28181-2022 9.1.2
        link.send(self, "REGISTER", now, call_id=self.call_id, cseq=self.cseq, headers=headers, contact=True)
        self.reg_sent_at = now
        self.ctx.stats.registers_sent += 1

    def _on_register_response(self, request: SipRequest, response: SipResponse, now: float) -> None:
        if request.call_id != self.call_id or request.cseq.number != self.cseq:
            return  # an answer to an earlier attempt
        stats, config = self.ctx.stats, self.ctx.config
        stats.register_latency.add(now - self.reg_sent_at)
        status = response.status
        unregistering = self.state is DeviceState.UNREGISTERING
        if status in (401, 407) and self.state in (
            DeviceState.REGISTERING,
            DeviceState.UNREGISTERING,
            DeviceState.CHALLENGED,
        ):
            header = response.get("WWW-Authenticate" if status == 401 else "Proxy-Authenticate")
            try:
                challenge = parse_challenge(header or "")
            except SipError:
                challenge = None
            answered = request.get("Authorization") is not None
            if challenge is not None and (not answered or challenge.stale):
                stats.challenges += 1
                password = config.password
                if self.faults & Fault.WRONG_PASSWORD:
                    password = f"wrong-{password}"
                credentials = authorize(
                    challenge,
                    username=self.device_id,
                    password=password,
                    method="REGISTER",
                    uri=request.uri,
                    cnonce=f"{self.index:08x}{self.cseq:04x}",
                )
                if not unregistering:
                    self._move(DeviceState.CHALLENGED)
                expires = 0 if unregistering else config.register_expires
                self._send_register(now, expires=expires, credentials=credentials.to_header())
                return
        if unregistering:
            if 200 <= status < 300:
                stats.unregistrations += 1
            self._drop_registration()
            self._move(DeviceState.STOPPED)
            return
        if self.state not in (DeviceState.REGISTERING, DeviceState.CHALLENGED):
            return
        if 200 <= status < 300:
            self._registered(response, now)
        else:
            self._register_failed(now)

    def _registered(self, response: SipResponse, now: float) -> None:
        stats, config = self.ctx.stats, self.ctx.config
        try:
            granted = response.expires
        except SipError:
            granted = None
        expires = granted if granted else config.register_expires
        stats.registrations += 1
        fresh = not self.holds
        self._move(DeviceState.REGISTERED)
        if fresh:
            self.holds = True
            stats.registered += 1
            # keepalives start at a random phase within the interval, so a fleet that
            # registered in the same second does not keep alive in the same second
            phase = 0.05 + 0.95 * unit(self.ctx.config.seed, self.index, 0x4B41)
            self.next_keepalive = now + config.keepalive * phase
            self.misses = 0
        self._set_online(True)
        # refresh before expiry (RFC 3261 §10.2.4): 90 % of the way, at least 30 s early
        self.next_register = now + max(expires - max(expires * 0.1, 30.0), expires / 2)
        if self.faults & Fault.FLAPPING and self.next_flap is None:
            period = config.flap_period * (0.5 + unit(config.seed, self.index, int(now) & 0xFFFF))
            self.next_flap = now + period

    def _register_failed(self, now: float) -> None:
        """Refused or unanswered: drop any registration and try again ≥ retry seconds later."""
        self.ctx.stats.register_failures += 1
        self._drop_registration()
        self._clear_timers()
        self._move(DeviceState.IDLE)
        self.next_register = now + self.ctx.config.register_retry

    def _reregister_now(self, now: float) -> None:
        """The platform no longer knows us (keepalive refused or lost): register afresh."""
        self._drop_registration()
        self._clear_timers()
        self._move(DeviceState.IDLE)
        self.next_register = now

    def _drop_registration(self) -> None:
        self._set_online(False)
        if self.holds:
            self.holds = False
            self.ctx.stats.registered -= 1

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.ctx.stats.online += 1 if online else -1

    def _clear_timers(self) -> None:
        self.next_register = self.next_keepalive = self.next_flap = None
        self.job = None

    # ------------------------------------------------------------------ keepalive (9.6)

    def _send_keepalive(self, now: float) -> None:
        link = self.link
        if link is None:
            return
        self.sn += 1
        body = encode_manscdp(Keepalive(self.sn, self.device_id, "OK"), self.encoding)
        request = link.send(self, "MESSAGE", now, body=body, content_type=CONTENT_TYPE)
        self.ka_call_id = request.call_id
        self.ka_sent_at = now
        self.ctx.stats.keepalives_sent += 1

    def _on_keepalive_answer(self, response: SipResponse, now: float) -> None:
        stats = self.ctx.stats
        self.ka_call_id = None
        stats.keepalive_latency.add(now - self.ka_sent_at)
        if 200 <= response.status < 300:
            stats.keepalives_ok += 1
            self.misses = 0
            if self.state is DeviceState.REGISTERED:
                self._set_online(True)
            return
        stats.keepalive_failures += 1
        if self.state is DeviceState.REGISTERED:
            self._reregister_now(now)

    def _on_keepalive_lost(self, now: float) -> None:
        stats = self.ctx.stats
        self.ka_call_id = None
        stats.keepalive_failures += 1
        self.misses += 1
        self._set_online(False)
        if self.state is DeviceState.REGISTERED and self.misses >= self.ctx.config.keepalive_failures:
            self._reregister_now(now)

    # ------------------------------------------------------------------ flapping

    def _flap(self, now: float) -> None:
        config, link = self.ctx.config, self.link
        if self.state is DeviceState.SILENT:  # the network is back: register afresh
            if link is not None:
                link.set_silent(self, False)
            self._move(DeviceState.IDLE)
            self.next_flap = None
            self.next_register = now
            return
        if self.state is not DeviceState.REGISTERED:
            self.next_flap = now + config.keepalive  # try again once registered
            return
        self.ctx.stats.flaps += 1
        self._end_all("network gone")  # a device whose network is down streams nothing
        self._drop_registration()
        self._clear_timers()
        self._move(DeviceState.SILENT)
        if link is not None:
            link.set_silent(self, True)
        self.next_flap = now + config.flap_silence

    # ------------------------------------------------------------------ responses and time-outs

    def on_response(self, request: SipRequest, response: SipResponse, now: float) -> None:
        """A final response to a request this device sent (provisional ones are ignored)."""
        if response.status < 200:
            return
        if request.method == "REGISTER":
            self._on_register_response(request, response, now)
        elif request.method == "MESSAGE":
            if request.call_id == self.ka_call_id:
                self._on_keepalive_answer(response, now)
            elif self.job is not None and request.call_id == self.job.call_id:
                self._on_part_answer(response, now)
        elif request.method == "BYE":
            self.ctx.stats.byes_answered += 1

    def on_timeout(self, request: SipRequest, now: float) -> None:
        """No answer at all to a request this device sent (RFC 3261 timer F: as a 408)."""
        if request.method == "REGISTER":
            if request.call_id == self.call_id and request.cseq.number == self.cseq:
                if self.state is DeviceState.UNREGISTERING:
                    self._drop_registration()
                    self._move(DeviceState.STOPPED)
                elif self.state in (DeviceState.REGISTERING, DeviceState.CHALLENGED):
                    self._register_failed(now)
        elif request.method == "MESSAGE":
            if request.call_id == self.ka_call_id:
                self._on_keepalive_lost(now)
            elif self.job is not None and request.call_id == self.job.call_id:
                self.job = None
                self.ctx.stats.catalogs_aborted += 1
        elif request.method == "INVITE":  # our 200 was never ACKed (timer L, RFC 6026)
            session = self.sessions.get(request.call_id) if self.sessions else None
            if session is not None and session.state is not SessionState.STREAMING:
                self.ctx.stats.acks_missed += 1
                self._end_session(session, "no ACK")

    # ------------------------------------------------------------------ requests from the platform

    def on_request(self, request: SipRequest, now: float) -> None:
        """A request addressed to this device (or one of its channels)."""
        link = self.link
        if link is None:
            return
        self.ctx.stats.requests_received += 1
        if self.state is DeviceState.SILENT:  # the port filters these; a race lands here
            self._reject(request, 480, now)
            return
        handler = METHODS.get(request.method)
        if handler is None:  # RFC 3261 §8.2.1: 501 for methods we do not implement
            self._reject(request, 501, now, (("Allow", ", ".join(METHODS)),))
            return
        handler(self, request, now)

    def _reject(self, request: SipRequest, status: int, now: float, headers: Iterable[Header] = ()) -> None:
        self.ctx.stats.requests_rejected += 1
        if self.link is not None:
            self.link.respond(request, status, now, headers)

    def _on_options(self, request: SipRequest, now: float) -> None:
        assert self.link is not None
        self.link.respond(request, 200, now, (("Allow", ", ".join(METHODS)),))

    # ------------------------------------------------------------------ live view (9.2)

    def _on_invite(self, request: SipRequest, now: float) -> None:
        """A live-view INVITE: 200 with our SDP answer, or 404 / 486 / 488 (module doc)."""
        link, ctx, stats = self.link, self.ctx, self.ctx.stats
        assert link is not None
        stats.invites += 1
        if request.to.tag is not None:  # a re-INVITE: nothing to change mid-stream
            self._reject(request, 488, now)
            return
        channel_id = self._invited_channel(request)
        if channel_id is None:
            self._reject(request, 404, now)
            return
        media = ctx.media
        offer = negotiate(request.body, domain=ctx.config.domain, sequence=media.sequence + 1)
        if isinstance(offer, int):
            self._reject(request, offer, now)
            return
        if media.active >= media.max_streams:
            stats.invites_busy += 1
            self._reject(request, 486, now)
            return
        media.sequence += 1
        serial = channel_serial(channel_id)
        session = MediaSession(
            call_id=request.call_id,
            channel_id=channel_id,
            offer=offer,
            fault=media.faults.fault_for(ctx.config.seed, serial),
            codec=channel_codec(ctx.config.seed, serial, media.h265),
            invite=request,
            state=SessionState.ANSWERED,
            ack_deadline=now + media.ack_timeout,
        )
        if self.sessions is None:
            self.sessions = {}
        self.sessions[session.call_id] = session
        media.active += 1
        stats.streams_active += 1
        if offer.transport == "TCP-active":  # the 200 carries the port we listen on: listen first
            session.state = SessionState.LISTENING
            self._start_media(session)
            return
        # UDP / TCP-passive: the answer's port is informative only (the platform listens);
        # we name our SIP port, as the real sending port exists only once the ACK starts media
        self._answer(session, link.port, now)

    def _invited_channel(self, request: SipRequest) -> str | None:
        """The channel asked for: the Request-URI user, else the Subject's first ID."""
        uri = request.request_uri
        candidates = [uri.user if isinstance(uri, SipUri) else None]
        subject = request.get("Subject")
        if subject:
            candidates.append(subject.split(",")[0].split(":")[0].strip())
        plan = self.ctx.plan
        for gb_id in candidates:
            if gb_id and gb_id[10:13] == "132" and plan.index_of(gb_id) == self.index:
                return gb_id
        return None

    def _answer(self, session: MediaSession, port: int, now: float) -> None:
        link = self.link
        assert link is not None
        body = answer_sdp(session.channel_id, session.offer, host=link.host, port=port, codec=session.codec)
        contact = f"<sip:{session.channel_id}@{link.host}:{link.port}>"
        headers = (("Contact", contact), ("Content-Type", "application/sdp"))
        response = link.respond(session.invite, 200, now, headers, body=body, to_tag=link.new_tag())
        session.dialog = Dialog.from_request(session.invite, response, local_contact=contact)
        session.state = SessionState.ANSWERED
        self.ctx.stats.invites_answered += 1

    def _start_media(self, session: MediaSession) -> None:
        offer = session.offer
        session.media = True
        self.ctx.media.actions.append(
            StartMedia(
                self.device_id,
                session.call_id,
                session.channel_id,
                offer.transport,
                offer.remote,
                int(offer.ssrc),
                session.fault,
                session.codec,
            )
        )

    def on_media_started(self, call_id: str, port: int, now: float) -> None:
        """The adapter's sender is up (TCP-active: listening on ``port``): answer the INVITE."""
        session = self.sessions.get(call_id) if self.sessions else None
        if session is None or session.state is not SessionState.LISTENING or self.link is None:
            return
        self._answer(session, port, now)

    def on_media_failed(self, call_id: str, now: float) -> None:
        """The adapter could not start (or keep) the media: 500 or our BYE, then forget it."""
        session = self.sessions.get(call_id) if self.sessions else None
        if session is None:
            return
        self.ctx.stats.media_failures += 1
        if session.state is SessionState.LISTENING and self.link is not None:
            self._reject(session.invite, 500, now)
            self._end_session(session, "media failed", stop=False)
            return
        self._bye(session, now)
        self._end_session(session, "media failed", stop=False)

    def _on_ack(self, request: SipRequest, now: float) -> None:
        """ACK is never answered (RFC 3261 §17.1.1.3); the ACK of our 200 starts the media."""
        session = self.sessions.get(request.call_id) if self.sessions else None
        if session is None or session.state is not SessionState.ANSWERED:
            return
        session.ack_deadline = None
        session.state = SessionState.STREAMING
        self.ctx.stats.streams_started += 1
        if session.offer.transport != "TCP-active":  # TCP-active started at the INVITE
            self._start_media(session)

    def _on_bye(self, request: SipRequest, now: float) -> None:
        session = self.sessions.get(request.call_id) if self.sessions else None
        if session is None or session.dialog is None:
            self._reject(request, 481, now)  # Call/Transaction Does Not Exist
            return
        try:
            session.dialog.receive_request(request)
        except DialogError as exc:
            self._reject(request, exc.status if exc.status >= 400 else 481, now)
            return
        assert self.link is not None
        self.link.respond(request, 200, now)
        self.ctx.stats.byes_received += 1
        self._end_session(session, "BYE")

    def hang_up(self, now: float) -> None:
        """End every session; the answered ones with our BYE (the sim is stopping)."""
        if not self.sessions:
            return
        for session in list(self.sessions.values()):
            if session.dialog is not None:
                self._bye(session, now)
            self._end_session(session, "stopped")

    def _bye(self, session: MediaSession, now: float) -> None:
        dialog, link = session.dialog, self.link
        if dialog is None or link is None:
            return
        try:
            bye = dialog.create_request("BYE")
        except DialogError:
            return
        link.send_in_dialog(self, bye, now)
        self.ctx.stats.byes_sent += 1

    def _end_all(self, reason: str) -> None:
        if self.sessions:
            for session in list(self.sessions.values()):
                self._end_session(session, reason)

    def _end_session(self, session: MediaSession, reason: str, *, stop: bool = True) -> None:
        """Forget ``session`` and, if its media may have started, tell the adapter to stop it."""
        assert self.sessions is not None
        if self.sessions.pop(session.call_id, None) is None:
            return
        session.state = SessionState.ENDED
        session.ack_deadline = None
        media = self.ctx.media
        media.active -= 1
        self.ctx.stats.streams_active -= 1
        if stop and session.media:
            media.actions.append(StopMedia(self.device_id, session.call_id, reason))
        if not self.sessions:
            self.sessions = None

    def _on_message(self, request: SipRequest, now: float) -> None:
        try:
            message = parse_manscdp(request.body)
        except UnknownCommandError:  # e.g. RecordInfo answers, Alarm: acknowledged, then nothing
            assert self.link is not None
            self.link.respond(request, 200, now)
            return
        except ManscdpError:
            self._reject(request, 400, now)
            return
        handler = COMMANDS.get(type(message.command))
        assert self.link is not None
        self.link.respond(request, 200, now)
        if handler is not None:
            handler(self, message.command, now)

    # ------------------------------------------------------------------ MANSCDP answers (A.2.6)

    @property
    def encoding(self) -> str:
        return "GB2312" if self.faults & Fault.GB2312 else self.ctx.config.manscdp_encoding

    def _send_body(self, command: Command, now: float) -> SipRequest | None:
        if self.link is None:
            return None
        body = encode_manscdp(command, self.encoding)
        return self.link.send(self, "MESSAGE", now, body=body, content_type=CONTENT_TYPE)

    def _on_catalog_query(self, query: Command, now: float) -> None:
        assert isinstance(query, CatalogQuery)
        config = self.ctx.config
        self.ctx.stats.catalog_queries += 1
        if self.job is not None:  # a newer query replaces one still being answered
            self.ctx.stats.catalogs_aborted += 1
        items = self.ctx.plan.catalog(self.index)
        if self.faults & Fault.FRAGMENTED:
            rng = random.Random(config.seed * 7919 + self.index * 31 + query.sn)
            self.job = CatalogJob.build(query.sn, items, config.fragment_part_size, shuffle=rng)
        else:
            self.job = CatalogJob.build(query.sn, items, config.part_size)
        self._send_part(now)

    def _send_part(self, now: float) -> None:
        job = self.job
        if job is None or job.done:
            return
        request = self._send_body(job.part(self.device_id), now)
        if request is None:
            self.job = None
            return
        job.call_id = request.call_id
        job.position += 1
        self.ctx.stats.catalog_parts_sent += 1

    def _on_part_answer(self, response: SipResponse, now: float) -> None:
        job = self.job
        assert job is not None
        job.call_id = None
        if not 200 <= response.status < 300:
            self.job = None
            self.ctx.stats.catalogs_aborted += 1
            return
        if job.done:
            self.job = None
            self.ctx.stats.catalogs_done += 1
        elif self.faults & Fault.SLOW_CATALOG:
            job.next_at = now + self.ctx.config.slow_catalog_delay
        else:
            self._send_part(now)

    def _on_device_info(self, query: Command, now: float) -> None:
        plan = self.ctx.plan.device(self.index)
        self.ctx.stats.info_answers += 1
        self._send_body(
            DeviceInfoResponse(
                query.sn,
                query.device_id,
                device_name=plan.name,
                result="OK",
                manufacturer=plan.manufacturer,
                model=plan.model,
                firmware=plan.firmware,
                channel=plan.channels,
            ),
            now,
        )

    def _on_device_status(self, query: Command, now: float) -> None:
        self.ctx.stats.status_answers += 1
        self._send_body(
            DeviceStatusResponse(
                query.sn,
                query.device_id,
                result="OK",
                online="ONLINE",
                status="OK",
                encode="ON",
                record="OFF",
                device_time=self.ctx.local_time(now),
            ),
            now,
        )

    def _on_control(self, command: Command, now: float) -> None:
        """PTZ and other controls: the 200 is the whole answer (devices send no Response)."""


# SIP method → handler (RFC 3261 §8.2.1).
METHODS: dict[str, Callable[[SimDevice, SipRequest, float], None]] = {
    "MESSAGE": SimDevice._on_message,
    "INVITE": SimDevice._on_invite,
    "ACK": SimDevice._on_ack,
    "BYE": SimDevice._on_bye,
    "OPTIONS": SimDevice._on_options,
}

# MANSCDP command → handler, after the 200 (A.2.4 queries, A.2.3 control).
COMMANDS: dict[type[Any], Callable[[SimDevice, Command, float], None]] = {
    CatalogQuery: SimDevice._on_catalog_query,
    DeviceInfoQuery: SimDevice._on_device_info,
    DeviceStatusQuery: SimDevice._on_device_status,
    DeviceControl: SimDevice._on_control,
}
