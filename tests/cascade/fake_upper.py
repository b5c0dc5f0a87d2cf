"""A tiny upper platform for the cascade's tests, built from the project's own SIP core
(test helper only): the simulator's stub platform on real loopback sockets, plus what an
upper platform does to a lower one — refuse its REGISTER with a chosen status, drop its
TCP connection, and send it requests (Catalog, INVITE, BYE, DeviceControl) awaiting the
answers."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.sim.stub_platform import AsyncStubPlatform, StubPlatform

from xueliang.gb28181 import Dialog, RequestReceived, SipRequest, SipResponse, make_cancel
from xueliang.gb28181.manscdp import Command


class UpperStub(StubPlatform):
    """``refuse_with``: answer every REGISTER with this status (None: challenge and accept)."""

    refuse_with: int | None = None

    def _on_register(self, event: RequestReceived, now: float) -> None:
        if self.refuse_with is None:
            super()._on_register(event, now)
            return
        self.register_requests.append(event.request)
        self.endpoint.respond(event.request, self.refuse_with, now)


class FakeUpper(AsyncStubPlatform):
    """On 127.0.0.1 (UDP and TCP, one port), with the upper platform's ID and domain."""

    async def __aenter__(self) -> FakeUpper:
        await super().__aenter__()
        self.platform = UpperStub("127.0.0.1", self.platform.port, **self.kw)
        return self

    @property
    def stub(self) -> UpperStub:
        assert isinstance(self.platform, UpperStub)
        return self.platform

    def drop_connections(self) -> int:
        dropped = list(self.connections.values())
        for transport in dropped:
            transport.abort()
        return len(dropped)

    async def message(self, lower_id: str, command: Command, *, to: str | None = None) -> SipResponse:
        """A MANSCDP MESSAGE to the registered lower platform; its answer."""
        request = self.query(lower_id, command, to=to)
        return await self.answer_to(request)

    async def invite(
        self, lower_id: str, channel_id: str, sdp: bytes, *, cancel: bool = False
    ) -> tuple[SipRequest, SipResponse]:
        """A live-view INVITE for ``channel_id`` through the lower platform; its final answer
        (with ``cancel``, a CANCEL follows at once)."""
        stub = self.stub
        registration = stub.registered[lower_id]
        request = stub.endpoint.make_request(
            "INVITE",
            f"sip:{channel_id}@{registration.addr[0]}:{registration.addr[1]}",
            from_=f"<sip:{stub.platform_id}@{stub.domain}>",
            to=f"<sip:{channel_id}@{stub.domain}>",
            transport=registration.transport,
            contact=f"<sip:{stub.platform_id}@{stub.host}:{stub.port}>",
            headers=(("Subject", f"{channel_id}:0,{stub.platform_id}:0"),),
            body=sdp,
            content_type="application/sdp",
        )
        stub.endpoint.send_request(request, registration.addr, registration.transport, self.now())
        if cancel:
            stub.endpoint.send_request(
                make_cancel(request), registration.addr, registration.transport, self.now()
            )
        self.flush()
        return request, await self.answer_to(request)

    async def answer_to(self, request: SipRequest, timeout: float = 20.0) -> SipResponse:
        found: list[SipResponse] = []

        def answered() -> bool:
            found[:] = [r for q, r in self.platform.responses if q.call_id == request.call_id]
            return bool(found)

        await self.wait_for(answered, timeout, f"an answer to {request.method}")
        return found[-1]

    def ack(self, invite: SipRequest, response: SipResponse, device_id: str) -> Dialog:
        dialog = Dialog.from_response(invite, response)
        registration = self.platform.registered[device_id]
        self.platform.endpoint.send_request(
            dialog.create_ack(), registration.addr, registration.transport, self.now()
        )
        self.flush()
        return dialog

    async def bye(self, dialog: Dialog, device_id: str) -> SipResponse:
        registration = self.platform.registered[device_id]
        bye = self.platform.endpoint.send_request(
            dialog.create_request("BYE"), registration.addr, registration.transport, self.now()
        )
        self.flush()
        return await self.answer_to(bye)

    async def until(self, predicate: Any, timeout: float, what: str) -> None:
        await asyncio.wait_for(self.wait_for(predicate, timeout, what), timeout + 1)
