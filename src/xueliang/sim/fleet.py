"""The fleet's asyncio adapter: sockets in, sockets out, one timer (aioquic ``asyncio`` style).

UDP: devices share sockets, at most ``devices_per_socket`` (100) to a socket, each socket
bound to an ephemeral port on ``bind_host`` (127.0.0.1) and carried by one
:class:`~xueliang.sim.port.SimPort`. Devices are dealt to sockets round robin, so the
registration wave (``rate`` a second, in device order) is spread over every socket: a
platform limits messages per source address (``xueliang serve``: 500/s per IP:port) and
locks a source out after repeated digest failures, and a simulated socket must not look
like one very busy device. TCP: one connection, and one port, per device, framed
with :class:`~xueliang.gb28181.framing.SipStreamFramer`; a lost connection is re-opened after
``register_retry`` seconds.

There is no task per device: one loop timer serves a heap of ports (each port keeps a heap of
its devices), registrations are started at ``rate`` per second from a cursor, and a device's
state is a slotted object of a few hundred bytes. Catalogs are generated when asked for.

Live view: :class:`MediaRunner` carries out the devices' :class:`~xueliang.sim.media.StartMedia`
and :class:`~xueliang.sim.media.StopMedia` with :class:`~xueliang.media.sender.PsRtpSender`.
A channel's clip (its ID and a running clock drawn on every frame) is encoded lazily, on the
first INVITE of that channel, in a small thread pool, and kept in a small LRU (and
:func:`~xueliang.media.clips.clip_frames`' disk cache): encoding every channel up front
(≈ 0.4 s H.264, 1.3 s H.265 per 4-s clip) would take hours for 20,000 channels, while only
``max_streams`` of them stream at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import ipaddress
import itertools
import logging
import math
import signal
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from xueliang.gb28181.errors import FramingError
from xueliang.gb28181.framing import SipStreamFramer
from xueliang.gb28181.message import Address
from xueliang.sim.config import Fault, SimConfig
from xueliang.sim.device import DeviceState, SimContext, SimDevice
from xueliang.sim.media import StartMedia, StopMedia, channel_serial
from xueliang.sim.port import MAX_MESSAGE_SIZE, SimPort

__all__ = ["Fleet", "MediaRunner", "run_fleet"]

log = logging.getLogger(__name__)

GRANULARITY = 0.01  # timer wake-ups are rounded up to this, so due work is done in batches
UDP_BUFFER = 4 * 1024 * 1024


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.port: SimPort | None = None  # set once the socket's address is known

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.port is not None:
            self.fleet._received(self.port, data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        log.debug("UDP error: %s", exc)


class _Tcp(asyncio.Protocol):
    def __init__(self, fleet: Fleet, device: SimDevice) -> None:
        self.fleet = fleet
        self.device = device
        self.port: SimPort | None = None
        self.framer = SipStreamFramer(max_message_size=MAX_MESSAGE_SIZE)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.port = self.fleet._connected(self.device, transport)

    def data_received(self, data: bytes) -> None:
        if self.port is None:
            return
        try:
            messages = self.framer.feed(data)
        except FramingError as exc:
            log.warning("closing TCP of %s: %s", self.device.device_id, exc)
            self.fleet.stats.malformed += 1
            if self.port.wire is not None:
                self.port.wire.close()
            return
        for message in messages:
            self.fleet._received(self.port, message, self.port.platform)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.port is not None:
            self.fleet._disconnected(self.device, self.port)


ClipKey = tuple[str, str, str]  # (channel ID, fault, codec)


class MediaRunner:
    """The fleet's media senders: one :class:`PsRtpSender` per live session (by Call-ID).

    ``clip_cache`` channel clips are kept in memory (least recently used go first); encoding
    runs in ``encoders`` threads so the SIP loop keeps running.
    """

    def __init__(
        self,
        fleet: Fleet,
        *,
        clip_seconds: float = 4.0,
        clip_cache: int = 32,
        encoders: int = 2,
        cache_dir: Path | None = None,
    ) -> None:
        self.fleet = fleet
        self.clip_seconds = clip_seconds
        self.clip_cache = clip_cache
        self.cache_dir = cache_dir
        self.senders: dict[str, Any] = {}  # Call-ID → PsRtpSender
        self._starting: dict[str, asyncio.Task[None]] = {}
        self._clips: OrderedDict[ClipKey, asyncio.Future[list[Any]]] = OrderedDict()
        self._encoders = encoders
        self._stopping: set[asyncio.Future[None]] = set()
        self._pool: ThreadPoolExecutor | None = None

    def handle(self, action: StartMedia | StopMedia) -> None:
        if isinstance(action, StartMedia):
            task = asyncio.ensure_future(self._start(action))
            self._starting[action.call_id] = task
            task.add_done_callback(functools.partial(self._started, action.call_id))
        else:
            starting = self._starting.pop(action.call_id, None)
            if starting is not None:
                starting.cancel()
            sender = self.senders.pop(action.call_id, None)
            if sender is not None:
                stopping = asyncio.ensure_future(sender.stop())
                self._stopping.add(stopping)
                stopping.add_done_callback(self._stopping.discard)

    def _started(self, call_id: str, task: asyncio.Task[None]) -> None:
        if self._starting.get(call_id) is task:
            del self._starting[call_id]

    def clip(self, channel_id: str, fault: str, codec: str) -> asyncio.Future[list[Any]]:
        """The channel's clip frames (encoded once; shared while in the LRU). With a clip
        pool, channels share a few clips a fault, labelled by pool slot, not channel ID."""
        pool = self.fleet.config.clip_pool
        label = f"sim clip {channel_serial(channel_id) % pool + 1}" if pool else channel_id
        key = (label, fault, codec)
        future = self._clips.get(key)
        if future is not None and not (future.done() and future.exception() is not None):
            self._clips.move_to_end(key)
            return future
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._encoders, thread_name_prefix="sim-clip")
        from xueliang.media.clips import clip_frames

        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._pool,
            lambda: clip_frames(label, fault, codec, seconds=self.clip_seconds, cache_dir=self.cache_dir),
        )
        self._clips[key] = future
        while len(self._clips) > self.clip_cache:
            self._clips.popitem(last=False)
        return future

    async def _start(self, action: StartMedia) -> None:
        from xueliang.media.sender import PsRtpSender

        fleet, call_id = self.fleet, action.call_id
        sender = None
        try:
            if action.transport != "TCP-active" and not ipaddress.ip_address(action.remote[0]).is_loopback:
                raise ValueError(f"media address {action.remote[0]} is not on loopback")  # never sent off
            frames = await asyncio.shield(self.clip(action.channel_id, action.fault, action.codec))
            sender = PsRtpSender(frames, action.ssrc)
            remote = None if action.transport == "TCP-active" else action.remote
            _host, port = await sender.start(action.transport, remote, host=fleet.config.bind_host)
        except asyncio.CancelledError:
            if sender is not None:
                await sender.stop()
            raise
        except Exception as exc:  # noqa: BLE001 - any failure ends the session, not the sim
            log.warning("media for %s (%s) failed: %s", action.channel_id, action.transport, exc)
            if sender is not None:
                await sender.stop()
            fleet._media_failed(action.device_id, call_id)
            return
        self.senders[call_id] = sender
        fleet._media_started(action.device_id, call_id, port)

    async def close(self) -> None:
        for task in list(self._starting.values()):
            task.cancel()
        for task in list(self._starting.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        senders, self.senders = list(self.senders.values()), {}
        for sender in senders:
            await sender.stop()
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class Fleet:
    """A running fleet: :meth:`start`, then :meth:`stop` (or :meth:`run` for both)."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.ctx = SimContext.create(config)
        self.stats = self.ctx.stats
        self.devices = [SimDevice(self.ctx, i) for i in self.ctx.plan.indices()]
        self.stats.devices = len(self.devices)
        self.ports: list[SimPort] = []  # UDP: one per socket, device i on ports[i % sockets]
        self.connections: set[SimPort] = set()  # TCP: one per live connection
        self._heap: list[tuple[float, int, SimPort]] = []
        self._reconnects: list[tuple[float, int, SimDevice]] = []
        self._seq = itertools.count()
        self._cursor = 0  # devices[:cursor] have been started
        self._t0 = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._unregistering = False
        self._stop = asyncio.Event()
        self.media = MediaRunner(self)

    # ---------------------------------------------------------------- lifecycle

    def now(self) -> float:
        """The fleet's clock: ``time.monotonic`` (uvloop's ``loop.time()`` is cached per
        iteration and in whole milliseconds, too coarse for latencies)."""
        return time.monotonic()

    async def start(self) -> None:
        """Open the UDP sockets (TCP connections open as devices start) and begin."""
        loop = self._loop = asyncio.get_running_loop()
        self.ctx.wall_offset = time.time() - self.now()
        config = self.config
        if config.transport == "UDP":
            sockets = max(1, math.ceil(len(self.devices) / config.devices_per_socket))
            for first in range(sockets):
                transport, protocol = await loop.create_datagram_endpoint(
                    lambda: _Udp(self), local_addr=(config.bind_host, 0)
                )
                sock = transport.get_extra_info("socket")
                for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER)
                host, port_number = sock.getsockname()[:2]
                port = SimPort(self.ctx, host, port_number, config.platform, transport="UDP")
                port.wire = transport
                protocol.port = port
                for device in self.devices[first::sockets]:  # round robin: see the module doc
                    port.add(device)
                self.ports.append(port)
        self._t0 = self.now()
        self._on_timer()

    def request_stop(self) -> None:
        """Ask :meth:`run` to finish (signal handlers call this)."""
        self._stop.set()

    async def run(
        self,
        *,
        stop_after: float | None = None,
        report_every: float = 5.0,
        report: Callable[[str], None] | None = None,
        handle_signals: bool = False,
    ) -> dict[str, Any]:
        """Start, run until ``stop_after`` seconds or :meth:`request_stop`, stop; the final stats."""
        await self.start()
        loop = asyncio.get_running_loop()
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(signum, self.request_stop)
        deadline = None if stop_after is None else self.now() + stop_after
        try:
            while not self._stop.is_set():
                wait = report_every
                if deadline is not None:
                    wait = min(wait, deadline - self.now())
                    if wait <= 0:
                        break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                if report is not None and not self._stop.is_set():
                    report(self.stats.line())
        finally:
            await self.stop()
            if handle_signals:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                        loop.remove_signal_handler(signum)
        if report is not None:
            report(self.stats.line())
        return self.stats.as_dict()

    async def stop(self, *, unregister: bool | None = None, timeout: float = 5.0) -> None:
        """Stop every device and close every socket.

        By default devices just go silent (the platform sees them drop after its keepalive
        window); with ``unregister`` each registered device first sends ``Expires: 0`` and
        waits up to ``timeout`` seconds for the answers.
        """
        if self._stopping or self._unregistering:
            return
        self._unregistering = True  # no more starts or reconnects, but answers still count
        if unregister is None:
            unregister = self.config.unregister_on_stop
        if self._loop is not None and self.ctx.media.active:  # hang up: our BYE for each session
            now = self.now()
            byes = self.stats.byes_sent
            for device in self.devices:
                if device.sessions:
                    device.hang_up(now)
                    if isinstance(device.link, SimPort):
                        self._touch(device.link)
            end = self.now() + min(timeout, 2.0)
            awaited = self.stats.byes_answered + self.stats.byes_sent - byes
            while self.now() < end and self.stats.byes_answered < awaited:
                await asyncio.sleep(0.02)
        if unregister and self._loop is not None:
            now = self.now()
            for device in self.devices:
                registering = device.state in (DeviceState.REGISTERING, DeviceState.CHALLENGED)
                if (registering or device.state is DeviceState.REGISTERED) and device.link is not None:
                    device.stop(now, unregister=True)
                    assert isinstance(device.link, SimPort)
                    self._touch(device.link)
            end = self.now() + timeout
            while self.now() < end and self.stats.states[DeviceState.UNREGISTERING] > 0:
                await asyncio.sleep(0.05)
        self._stopping = True
        now = self.now() if self._loop is not None else 0.0
        for device in self.devices:
            device.stop(now)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        for task in list(self._connecting):
            task.cancel()
        self._drain_media()
        await self.media.close()
        for port in [*self.ports, *self.connections]:
            if port.wire is not None:
                port.wire.close()
        self.ports.clear()
        self.connections.clear()
        await asyncio.sleep(0)

    # ---------------------------------------------------------------- wire in/out

    def _received(self, port: SimPort, data: bytes, addr: Address) -> None:
        if self._stopping:
            return
        port.receive(data, addr, self.now())
        self._touch(port)

    def _flush(self, port: SimPort) -> None:
        wire = port.wire
        out = port.datagrams_to_send(self.now())
        if wire is None:  # a TCP connection that just closed
            return
        if port.transport == "UDP":
            for data, addr in out:
                wire.sendto(data, addr)
        elif not wire.is_closing():
            for data, _addr in out:
                wire.write(data)

    def _touch(self, port: SimPort) -> None:
        """After a port did something: send what it queued, re-arm for its next deadline."""
        self._flush(port)
        if self.ctx.media.actions:
            self._drain_media()
        deadline = port.get_timer()
        if deadline is not None and (port.scheduled_at is None or deadline < port.scheduled_at):
            heapq.heappush(self._heap, (deadline, next(self._seq), port))
            port.scheduled_at = deadline
            self._arm(deadline)

    # ---------------------------------------------------------------- media

    def _drain_media(self) -> None:
        actions = self.ctx.media.actions
        while actions:
            action = actions.popleft()
            if self._loop is not None:
                self.media.handle(action)

    def _device(self, device_id: str) -> SimDevice | None:
        index = self.ctx.plan.index_of(device_id)
        if index is None:
            return None
        return self.devices[index - self.config.first_index]

    def _media_started(self, device_id: str, call_id: str, port: int) -> None:
        device = self._device(device_id)
        if device is not None and isinstance(device.link, SimPort) and not self._stopping:
            device.on_media_started(call_id, port, self.now())
            self._touch_device(device)

    def _media_failed(self, device_id: str, call_id: str) -> None:
        device = self._device(device_id)
        if device is not None and not self._stopping:
            device.on_media_failed(call_id, self.now())
            self._touch_device(device)

    def _touch_device(self, device: SimDevice) -> None:
        link = device.link
        if isinstance(link, SimPort):
            link.reschedule(device)
            self._touch(link)
        else:
            self._drain_media()

    # ---------------------------------------------------------------- the one timer

    def _arm(self, at: float) -> None:
        if self._stopping or self._loop is None:
            return
        if self._timer_at is not None and self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        at = math.ceil(at / GRANULARITY) * GRANULARITY
        self._timer_at = at
        self._timer = self._loop.call_later(max(0.0, at - self.now()), self._on_timer)

    def _on_timer(self) -> None:
        # a loop may fire a hair early by our clock; what was due at ``at`` is due now
        now = max(self.now(), self._timer_at or 0.0)
        self._timer = self._timer_at = None
        if self._stopping:
            return
        if not self._unregistering:
            self._start_due(now)
        while not self._unregistering and self._reconnects and self._reconnects[0][0] <= now:
            _, _, device = heapq.heappop(self._reconnects)
            self._open(device)
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, port = heapq.heappop(heap)
            if port.scheduled_at != deadline:
                continue
            port.scheduled_at = None
            if port.wire is None:  # a closed TCP connection
                continue
            port.handle_timer(now)
            self._touch(port)
        upcoming = [
            t
            for t in (
                heap[0][0] if heap else None,
                None if self._unregistering else self._next_start(),
                self._reconnects[0][0] if self._reconnects else None,
            )
            if t is not None
        ]
        if upcoming:
            self._arm(min(upcoming))

    # ---------------------------------------------------------------- staggered start

    def _next_start(self) -> float | None:
        if self._cursor >= len(self.devices):
            return None
        return self._t0 + self._cursor / self.config.rate

    def _start_due(self, now: float) -> None:
        due = min(len(self.devices), math.floor((now - self._t0) * self.config.rate) + 1)
        while self._cursor < due:
            index = self._cursor
            self._cursor += 1
            device = self.devices[index]
            self.stats.started += 1
            if self.config.transport == "UDP":
                port = self.ports[index % len(self.ports)]
                port.start(device, now)
                self._touch(port)
            elif not device.faults & Fault.OFFLINE:
                self._open(device)

    # ---------------------------------------------------------------- TCP connections

    def _open(self, device: SimDevice) -> None:
        if self._stopping or self._unregistering or device.state is DeviceState.STOPPED:
            return
        task = asyncio.ensure_future(self._connect(device))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, device: SimDevice) -> None:
        assert self._loop is not None
        host, port = self.config.platform
        try:
            await self._loop.create_connection(
                lambda: _Tcp(self, device), host, port, local_addr=(self.config.bind_host, 0)
            )
        except OSError as exc:
            log.debug("TCP connect for %s failed: %s", device.device_id, exc)
            self.stats.tcp_failures += 1
            self._retry_connect(device)

    def _retry_connect(self, device: SimDevice) -> None:
        if self._stopping or self._unregistering:
            return
        at = self.now() + self.config.register_retry
        heapq.heappush(self._reconnects, (at, next(self._seq), device))
        self._arm(at)

    def _connected(self, device: SimDevice, transport: asyncio.BaseTransport) -> SimPort:
        host, port_number = transport.get_extra_info("sockname")[:2]
        port = SimPort(self.ctx, host, port_number, self.config.platform, transport="TCP")
        port.wire = transport
        self.stats.tcp_connects += 1
        self.connections.add(port)
        port.add(device)
        port.start(device, self.now())
        self._touch(port)
        return port

    def _disconnected(self, device: SimDevice, port: SimPort) -> None:
        port.wire = None
        self.connections.discard(port)
        if self._stopping:
            return
        device.on_link_lost(self.now())
        self._retry_connect(device)


async def run_fleet(
    config: SimConfig,
    *,
    stop_after: float | None = None,
    report_every: float = 5.0,
    report: Callable[[str], None] | None = None,
    handle_signals: bool = True,
) -> dict[str, Any]:
    """Run a fleet until ``stop_after`` seconds, SIGINT or SIGTERM; return its final stats."""
    fleet = Fleet(config)
    return await fleet.run(
        stop_after=stop_after, report_every=report_every, report=report, handle_signals=handle_signals
    )
