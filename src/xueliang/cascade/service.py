"""The cascade as a lower platform (下级平台): the running side.

:class:`CascadeService` keeps one :class:`UplinkLink` per enabled upper platform (registered,
kept alive) and one :class:`UpperPeer` answering what that upper platform asks. Every
``cascade_poll_interval`` seconds it reads the directory once, works out what each upper
platform sees (:func:`share`) and pushes the difference as catalog notifications (ADD, DEL,
UPDATE, ON, OFF). :meth:`CascadeService.reload` applies configuration changes from the
database at once: links whose registration parameters changed register afresh, share
rules take effect with the poll it triggers.

What an upper platform asks (:class:`UpperPeer`, by SIP method, then by MANSCDP command):
Catalog (answered in parts), DeviceInfo, DeviceStatus, DeviceControl (PTZ relayed to the
channel's device), INVITE for live view (a :class:`LiveRelay`), ACK, BYE, OPTIONS.
Requests from any address but the upper platform's get 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from xueliang import __version__
from xueliang.cascade.catalog import catalog_changes, catalog_parts, notify_parts
from xueliang.cascade.offer import OfferRejected, invited_channel, read_offer
from xueliang.cascade.relay import LiveRelay, RelayMedia
from xueliang.cascade.rules import SharePolicy
from xueliang.cascade.share import DirectorySnapshot, SharedView, share
from xueliang.cascade.store import UplinkConfig, directory_mark, load_directory, load_uplinks
from xueliang.cascade.uplink import LinkStatus, UplinkLink
from xueliang.gb28181.errors import ManscdpError, SipError, UnknownCommandError
from xueliang.gb28181.events import RequestCancelled, RequestReceived
from xueliang.gb28181.manscdp import (
    CatalogItem,
    CatalogQuery,
    Command,
    DeviceControl,
    DeviceInfoQuery,
    DeviceInfoResponse,
    DeviceStatusQuery,
    DeviceStatusResponse,
    parse_manscdp,
)
from xueliang.security import AuditEntry, record_audit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from xueliang.config import Settings
    from xueliang.gb28181.server import SignallingServer
    from xueliang.media import MediaHub

__all__ = ["CascadeService", "UpperPeer"]

log = logging.getLogger(__name__)

FULL_LOOK_EVERY = 30  # looks: even when the directory's mark is unchanged (a renamed region...)


def _share_all(
    snapshot: DirectorySnapshot,
    policies: dict[str, tuple[SharePolicy, str]],
    previous: dict[str, SharedView | None],
) -> tuple[dict[str, SharedView], dict[str, list[CatalogItem]]]:
    """Each upper platform's view and what changed since the last one (none the first time)."""
    views: dict[str, SharedView] = {}
    changes: dict[str, list[CatalogItem]] = {}
    for sip_id, (policy, local_id) in policies.items():
        before = previous.get(sip_id)
        views[sip_id] = view = share(snapshot, policy, platform_id=local_id, previous=before)
        if before is not None:
            changes[sip_id] = catalog_changes(before.items, view.items)
    return views, changes


def _report_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("cascade: %s failed", task.get_name(), exc_info=error)


class UpperPeer:
    """Answers one upper platform's requests (a :class:`~xueliang.gb28181.server.Peer`)."""

    def __init__(self, service: CascadeService, link: UplinkLink) -> None:
        self.service = service
        self.link = link
        self.server = service.server
        self.relays: dict[str, tuple[LiveRelay, asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ssrc = itertools.count(1)
        self._methods: dict[str, Callable[[RequestReceived], None]] = {
            "MESSAGE": self._on_message,
            "INVITE": self._on_invite,
            "ACK": self._on_ack,
            "BYE": self._on_bye,
            "OPTIONS": lambda event: self._answer(event, 200),
        }
        self._commands: dict[type[Any], Callable[[Any, RequestReceived], int]] = {
            CatalogQuery: self._on_catalog,
            DeviceInfoQuery: self._on_device_info,
            DeviceStatusQuery: self._on_device_status,
            DeviceControl: self._on_control,
        }

    @property
    def config(self) -> UplinkConfig:
        return self.link.config

    # ------------------------------------------------------------------ the Peer interface

    def on_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        address = self.link.address
        if address is None or event.addr[0] != address[0]:
            log.warning(
                "cascade: %s from %s:%d claims to be upper platform %s (at %s); refused",
                request.method,
                event.addr[0],
                event.addr[1],
                self.config.sip_id,
                f"{address[0]}" if address else "not connected",
            )
            if request.method != "ACK":
                self._answer(event, 403, "Forbidden: not the upper platform's address")
            return
        handler = self._methods.get(request.method)
        if handler is None:
            self._answer(event, 405, headers=(("Allow", ", ".join(self._methods)),))
            return
        handler(event)

    def on_cancel(self, event: RequestCancelled) -> None:
        entry = self.relays.pop(event.invite.call_id, None)
        if entry is not None:
            log.info("cascade: %s cancelled the live view of %s", self.config.sip_id, entry[0].channel_id)
            entry[1].cancel()

    # ------------------------------------------------------------------ helpers

    def _answer(
        self,
        event: RequestReceived,
        status: int,
        reason: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        with contextlib.suppress(SipError):
            self.server.answer(event.request, status, reason=reason, headers=headers)

    def _audit(
        self, event: RequestReceived, outcome: str, channel: str, upper_id: str, **detail: str
    ) -> None:
        """An upper platform's live view is audited as a person's is: who, what, from where."""
        entry = AuditEntry(
            actor=f"platform:{self.config.sip_id}",
            action="view_live",
            outcome=outcome,
            channel=channel,
            client_address=f"{event.addr[0]}:{event.addr[1]}",
            reason="cascade",
            detail={"as": upper_id, **detail},
        )
        self._spawn(record_audit(self.service.sessions, entry), "cascade-audit")

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_report_failure)
        return task

    async def end_relays(self) -> None:
        """End every relay: its upstream released, our BYE upward (all at once)."""
        relays = list(self.relays.values())
        self.relays.clear()
        for _, task in relays:
            task.cancel()
        await asyncio.gather(*(task for _, task in relays), return_exceptions=True)
        await asyncio.gather(*(relay.hang_up() for relay, _ in relays), return_exceptions=True)

    def on_link_down(self) -> None:
        """The upper platform is unreachable or refused us: nobody is watching up there."""
        if self.relays:
            log.info("cascade: ending %d live views relayed to %s", len(self.relays), self.config.sip_id)
            self._spawn(self.end_relays(), f"cascade-end-relays-{self.config.sip_id}")

    async def close(self) -> None:
        """End every relay and pending answer."""
        await self.end_relays()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ MESSAGE (A.2)

    def _on_message(self, event: RequestReceived) -> None:
        try:
            message = parse_manscdp(event.request.body)
        except UnknownCommandError as exc:
            log.debug("cascade: %s sent %s/%s; acknowledged", self.config.sip_id, exc.root, exc.cmd_type)
            self._answer(event, 200)
            return
        except ManscdpError as exc:
            log.warning("cascade: unreadable MANSCDP from %s: %s", self.config.sip_id, exc.reason)
            self._answer(event, 400, "Bad Request: unreadable MANSCDP body")
            return
        handler = self._commands.get(type(message.command))
        if handler is None:
            self._answer(event, 200)
            return
        self._answer(event, handler(message.command, event))

    def _on_catalog(self, query: CatalogQuery, event: RequestReceived) -> int:
        self._spawn(self._send_catalog(query), f"cascade-catalog-{self.config.sip_id}")
        return 200

    async def _send_catalog(self, query: CatalogQuery) -> None:
        """The parts one after another, each after the previous one's 200 (Appendix M)."""
        view = await self.service.fresh_view(self.config)
        parts = catalog_parts(query.sn, self.config.local_id, view.items, self.link.transport)
        for number, part in enumerate(parts, 1):
            try:
                response = await self.link.transact(self.link.message(part))
            except (TimeoutError, OSError) as exc:
                log.warning(
                    "cascade: catalog part %d/%d to %s: %s", number, len(parts), self.config.sip_id, exc
                )
                return
            if response.status >= 300:
                log.warning(
                    "cascade: %s refused catalog part %d/%d: %d %s",
                    self.config.sip_id,
                    number,
                    len(parts),
                    response.status,
                    response.reason,
                )
                return
        log.info(
            "cascade: catalog of %d items (%d channels) sent to %s in %d parts",
            len(view.items),
            len(view.channels),
            self.config.sip_id,
            len(parts),
        )

    def _on_device_info(self, query: DeviceInfoQuery, event: RequestReceived) -> int:
        view = self.service.view(self.config.sip_id)
        answer = DeviceInfoResponse(
            query.sn,
            self.config.local_id,
            device_name=f"xueliang {self.config.local_id}",
            result="OK",
            manufacturer="xueliang",
            model="platform",
            firmware=__version__,
            channel=len(view.channels),
        )
        self._spawn(self._send(answer), "cascade-device-info")
        return 200

    def _on_device_status(self, query: DeviceStatusQuery, event: RequestReceived) -> int:
        row = self.service.view(self.config.sip_id).channels.get(query.device_id)
        online = row.online if row is not None else True  # asked about the platform itself
        answer = DeviceStatusResponse(
            query.sn,
            query.device_id,
            result="OK",
            online="ONLINE" if online else "OFFLINE",
            status="OK" if online else "ERROR",
            encode="ON",
            record="OFF",
            device_time=datetime.now(self.service.zone).strftime("%Y-%m-%dT%H:%M:%S"),
        )
        self._spawn(self._send(answer), "cascade-device-status")
        return 200

    async def _send(self, command: Command) -> None:
        with contextlib.suppress(TimeoutError, OSError):
            await self.link.transact(self.link.message(command))

    def _on_control(self, command: DeviceControl, event: RequestReceived) -> int:
        """PTZ (A.3) for a shared channel, relayed to the device (or lower platform) serving it."""
        if command.device_id == self.config.local_id:
            return 200  # a control of the platform itself (TeleBoot...): acknowledged, not acted on
        row = self.service.view(self.config.sip_id).channels.get(command.device_id)
        if row is None:
            return 404
        if command.ptz is None:
            return 200
        if row.device_id is None or not self.server.ptz(row.device_id, row.gb_id, command.ptz):
            return 480
        log.info("cascade: %s PTZ %s on %s relayed", self.config.sip_id, command.ptz.to_hex(), row.gb_id)
        return 200

    # ------------------------------------------------------------------ live view (9.2)

    def _on_invite(self, event: RequestReceived) -> None:
        request = event.request
        if request.to.tag is not None:  # a re-INVITE: nothing to change mid-stream
            self._answer(event, 488, "Not Acceptable Here: re-INVITE is not supported")
            return
        if request.contact is None:  # the dialog's remote target (RFC 3261 §12.1.1)
            self._answer(event, 400, "Bad Request: INVITE without Contact")
            return
        upper_id = invited_channel(request) or ""
        row = self.service.view(self.config.sip_id).channels.get(upper_id)
        if row is None:
            log.warning("cascade: %s asked for %s, which is not shared with it", self.config.sip_id, upper_id)
            self._audit(event, "denied", upper_id, upper_id)
            self._answer(event, 404, "Not Found: the channel is not shared with this platform")
            return
        settings = self.service.settings
        try:
            offer = read_offer(request.body, domain=settings.sip_domain, sequence=next(self._ssrc))
        except OfferRejected as exc:
            log.warning("cascade: INVITE from %s for %s refused: %s", self.config.sip_id, upper_id, exc)
            self._answer(event, exc.status, f"Not Acceptable Here: {exc.reason}")
            return
        if offer.ssrc_chosen:
            log.warning(
                "cascade: INVITE from %s for %s has no usable y= SSRC; answering with SSRC %s",
                self.config.sip_id,
                upper_id,
                offer.ssrc,
            )
        log.info(
            "cascade: upper platform %s opens a live view of %s (as %s) over %s",
            self.config.sip_id,
            row.gb_id,
            upper_id,
            offer.transport,
        )
        self._audit(event, "ok", row.gb_id, upper_id, transport=offer.transport)
        relay = LiveRelay(
            server=self.server,
            hub=self.service.hub,
            media=self.service.media,
            invite=request,
            source=event.addr,
            transport=event.transport,
            channel_id=row.gb_id,
            offer=offer,
            local_id=self.config.local_id,
        )
        task = self._spawn(relay.run(), f"cascade-relay-{row.gb_id}")
        self.relays[request.call_id] = (relay, task)
        task.add_done_callback(lambda _: self.relays.pop(request.call_id, None))

    def _on_ack(self, event: RequestReceived) -> None:
        entry = self.relays.get(event.request.call_id)
        if entry is not None:
            entry[0].on_ack()

    def _on_bye(self, event: RequestReceived) -> None:
        entry = self.relays.get(event.request.call_id)
        if entry is None:
            self._answer(event, 481)
            return
        relay, task = entry
        status = relay.on_bye(event.request)
        self._answer(event, status)
        if status == 200:
            log.info("cascade: %s ended the live view of %s (BYE)", self.config.sip_id, relay.channel_id)
            task.cancel()


class CascadeService:
    """Every upper platform this platform registers to, and what each is shown."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        server: SignallingServer,
        hub: MediaHub,
        media: RelayMedia,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.server = server
        self.hub = hub
        self.media = media
        self.zone = ZoneInfo(settings.timezone)
        self.links: dict[str, UplinkLink] = {}
        self.peers: dict[str, UpperPeer] = {}
        self._views: dict[str, SharedView] = {}
        self._notifying: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._mark: tuple[Any, ...] | None = None
        self._snapshot: DirectorySnapshot | None = None
        self._looks = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.reload()
        self._poller = asyncio.get_running_loop().create_task(self._poll_forever(), name="cascade-poll")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        for task in self._notifying.values():
            task.cancel()
        for sip_id in list(self.links):
            await self._drop(sip_id)

    async def reload(self) -> None:
        """Apply the configuration in the database now (after the API changed it)."""
        async with self._lock:
            async with self.sessions() as session:
                configs = {c.sip_id: c for c in await load_uplinks(session, self.settings.sip_id)}
            for sip_id in list(self.links):
                config = configs.get(sip_id)
                if config is None or config.link_key != self.links[sip_id].config.link_key:
                    await self._drop(sip_id)
            for sip_id, config in configs.items():
                link = self.links.get(sip_id)
                if link is not None:
                    link.config = config  # share rules and name: no need to register again
                    continue
                link = self.links[sip_id] = UplinkLink(config, self.server)
                if config.enabled:
                    peer = self.peers[sip_id] = UpperPeer(self, link)
                    self.server.peers[sip_id] = peer
                    link.on_down = peer.on_link_down
                    link.start()
            await self._poll_once(notify=True, force=True)

    async def _drop(self, sip_id: str) -> None:
        link = self.links.pop(sip_id)
        self.server.peers.pop(sip_id, None)
        peer = self.peers.pop(sip_id, None)
        if peer is not None:
            await peer.close()
        await link.stop()
        self._views.pop(sip_id, None)

    # ------------------------------------------------------------------ what each upper platform sees

    def status(self, sip_id: str) -> LinkStatus | None:
        link = self.links.get(sip_id)
        return link.status if link is not None else None

    def relays(self, sip_id: str) -> int:
        peer = self.peers.get(sip_id)
        return len(peer.relays) if peer is not None else 0

    def view(self, sip_id: str) -> SharedView:
        """What the upper platform saw at the last poll."""
        return self._views.get(sip_id) or SharedView({}, [])

    async def fresh_view(self, config: UplinkConfig) -> SharedView:
        async with self.sessions() as session:
            snapshot = await load_directory(session)
        return await asyncio.to_thread(share, snapshot, config.policy, platform_id=config.local_id)

    # ------------------------------------------------------------------ catalog notifications

    async def _poll_forever(self) -> None:
        interval = self.settings.cascade_poll_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            try:
                async with self._lock:
                    await self._poll_once(notify=True)
            except Exception:  # the next round tries again
                log.exception("cascade: reading the directory for the upper platforms failed")

    async def _poll_once(self, *, notify: bool, force: bool = False) -> None:
        links = {
            sip_id: link
            for sip_id, link in self.links.items()
            if link.config.enabled
            and (sip_id not in self._notifying or self._notifying[sip_id].done())  # else: next round
        }
        if not links:
            return
        self._looks += 1
        force = (
            force or self._looks % FULL_LOOK_EVERY == 0 or any(sip_id not in self._views for sip_id in links)
        )
        async with self.sessions() as session:
            mark = await directory_mark(session)
            if mark == self._mark and not force:
                return  # nothing changed since the last look
            snapshot = await load_directory(session, self._snapshot)
        self._mark, self._snapshot = mark, snapshot
        policies = {sip_id: (link.config.policy, link.config.local_id) for sip_id, link in links.items()}
        previous: dict[str, SharedView | None] = {sip_id: self._views.get(sip_id) for sip_id in links}
        views, changes = await asyncio.to_thread(_share_all, snapshot, policies, previous)
        for sip_id, view in views.items():
            link = links[sip_id]
            if view.hidden:
                log.warning(
                    "cascade: %d channels shared with %s are left out: their upper ID is mapped to another",
                    view.hidden,
                    sip_id,
                )
            if self.links.get(sip_id) is not link:
                continue  # dropped meanwhile
            self._views[sip_id] = view
            if notify and link.registered and changes.get(sip_id):
                self._notifying[sip_id] = asyncio.get_running_loop().create_task(
                    self._notify(link, changes[sip_id]), name=f"cascade-notify-{sip_id}"
                )

    async def _notify(self, link: UplinkLink, changes: list[CatalogItem]) -> None:
        """Catalog notifications (A.2.5), as MESSAGEs: one part after another."""
        parts = notify_parts(link.next_sn(), link.config.local_id, changes, link.transport)
        for part in parts:
            try:
                response = await link.transact(link.message(part))
            except (TimeoutError, OSError) as exc:
                log.warning("cascade: catalog notification to %s: %s", link.config.sip_id, exc)
                return
            if response.status >= 300:
                log.warning(
                    "cascade: %s refused a catalog notification: %d %s",
                    link.config.sip_id,
                    response.status,
                    response.reason,
                )
                return
        events: dict[str, int] = {}
        for item in changes:
            events[item.event or "?"] = events.get(item.event or "?", 0) + 1
        log.info(
            "cascade: told %s of %s", link.config.sip_id, ", ".join(f"{n} {e}" for e, n in events.items())
        )

    def poll_now(self) -> None:
        """Diff and notify at once rather than at the next interval."""
        self._wake.set()
