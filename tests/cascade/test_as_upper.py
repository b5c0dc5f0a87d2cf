"""``xueliang serve`` as the upper platform of a lower platform that misbehaves: a type-200
platform registers, and answers the Catalog query with thousands of channels in fragmented,
shuffled parts, one part twice, IDs given twice with different parents, and virtual
organisations whose parents form loops. Every channel lands in the directory, the tree is
rebuilt with the repairs listed and logged, nothing is lost. The lower platform here is a
small UA built from the project's SIP core on a loopback socket."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.support.platform import RunningPlatform, running_platform

from xueliang.gb28181 import (
    CONTENT_TYPE,
    CatalogItem,
    CatalogQuery,
    CatalogResponse,
    RequestReceived,
    ResponseReceived,
    SipEndpoint,
    SipResponse,
    authorize,
    encode_manscdp,
    parse_challenge,
    parse_manscdp,
)

UPPER, DOMAIN, PASSWORD = "34020000002000000001", "3402000000", "12345678"
LOWER = "34022300002000000009"
GROUP = "34022300002150000001"
VA, VB, VC, VD = (f"34022300002160{n:06d}" for n in (1, 2, 3, 4))
CHANNELS = 3000
PART = 40


def channel_id(n: int) -> str:
    return f"340223000013{n + 1:08d}"


def lower_catalog() -> list[CatalogItem]:
    nodes = [
        CatalogItem(device_id="34", name="安徽省"),
        CatalogItem(device_id="3402", name="芜湖市"),
        CatalogItem(device_id="340223", name="南陵县"),
        CatalogItem(device_id=GROUP, name="雪亮工程"),
        CatalogItem(device_id=VA, name="A", parent_id=VB, business_group_id=GROUP),  # A ↔ B: a loop
        CatalogItem(device_id=VB, name="B", parent_id=VA, business_group_id=GROUP),
        CatalogItem(device_id=VC, name="C", parent_id=VC, business_group_id=GROUP),  # its own parent
        CatalogItem(device_id=VD, name="D", parent_id=f"{GROUP}/{VA}", business_group_id=GROUP),
    ]
    parents = [VA, VB, VC, VD, "340223", "34022300002169999999"]  # the last is unknown
    channels = [
        CatalogItem(
            device_id=channel_id(n),
            name=f"路口{n}",
            civil_code="340223",
            parent_id=parents[n % len(parents)],
            status="ON",
        )
        for n in range(CHANNELS)
    ]
    return nodes + channels


class FakeLower:
    """A lower platform on a UDP socket: registers, acknowledges queries, sends catalog parts."""

    def __init__(self, platform: tuple[str, int]) -> None:
        self.platform = platform
        self.queries: list[CatalogQuery] = []
        self.endpoint: SipEndpoint
        self._answers: dict[str, asyncio.Future[SipResponse]] = {}

    async def __aenter__(self) -> FakeLower:
        loop = asyncio.get_running_loop()

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(inner, data: bytes, addr: Any) -> None:  # noqa: N805
                self.endpoint.receive(data, (addr[0], addr[1]), "UDP", loop.time())
                self._pump()

        self.transport, _ = await loop.create_datagram_endpoint(Protocol, local_addr=("127.0.0.1", 0))
        port = self.transport.get_extra_info("sockname")[1]
        self.endpoint = SipEndpoint("127.0.0.1", port, symmetric=True)
        self._ticker = asyncio.ensure_future(self._tick())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._ticker.cancel()
        self.transport.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.05)
            self.endpoint.handle_timer(asyncio.get_running_loop().time())
            self._pump()

    def _pump(self) -> None:
        while (event := self.endpoint.next_event()) is not None:
            if isinstance(event, ResponseReceived) and event.response.status >= 200:
                future = self._answers.pop(event.response.call_id, None)
                if future is not None and not future.done():
                    future.set_result(event.response)
            elif isinstance(event, RequestReceived):
                request = event.request
                if request.method == "MESSAGE":
                    command = parse_manscdp(request.body).command
                    if isinstance(command, CatalogQuery):
                        self.queries.append(command)
                self.endpoint.respond(request, 200, asyncio.get_running_loop().time())
        for data, addr, _ in self.endpoint.datagrams_to_send(0):
            self.transport.sendto(data, addr)

    async def send(self, method: str, *, call_id: str | None = None, cseq: int = 1, **kw: Any) -> SipResponse:
        request = self.endpoint.make_request(
            method,
            f"sip:{UPPER}@{DOMAIN}",
            from_=f"<sip:{LOWER}@{DOMAIN}>",
            to=f"<sip:{LOWER if method == 'REGISTER' else UPPER}@{DOMAIN}>",
            call_id=call_id,
            cseq=cseq,
            **kw,
        )
        future: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self._answers[request.call_id] = future
        self.endpoint.send_request(request, self.platform, "UDP", asyncio.get_running_loop().time())
        self._pump()
        return await asyncio.wait_for(future, 10)

    async def register(self) -> None:
        contact = f"<sip:{LOWER}@127.0.0.1:{self.endpoint.port}>"
        headers = (("Expires", "3600"),)
        call_id = self.endpoint.new_call_id()
        first = await self.send("REGISTER", call_id=call_id, contact=contact, headers=headers)
        assert first.status == 401
        credentials = authorize(
            parse_challenge(first.require_header("WWW-Authenticate")),
            username=LOWER,
            password=PASSWORD,
            method="REGISTER",
            uri=f"sip:{UPPER}@{DOMAIN}",
            cnonce="c0ffee",
        )
        headers += (("Authorization", credentials.to_header()),)
        assert (
            await self.send("REGISTER", call_id=call_id, cseq=2, contact=contact, headers=headers)
        ).status == 200

    async def answer_catalog(self, query: CatalogQuery, items: list[CatalogItem]) -> None:
        parts = [items[i : i + PART] for i in range(0, len(items), PART)]
        order = list(range(len(parts)))
        random.Random(7).shuffle(order)
        order.insert(5, order[2])  # one part twice
        for index in order:
            part = CatalogResponse(query.sn, LOWER, len(items), tuple(parts[index]), len(parts[index]))
            body = encode_manscdp(part, "GB2312")
            assert (await self.send("MESSAGE", body=body, content_type=CONTENT_TYPE)).status == 200


@pytest.fixture(scope="module")
def upper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with running_platform(
        tmp_path_factory.mktemp("upper"), sip_id=UPPER, sip_domain=DOMAIN, inspection_interval="0"
    ) as platform:
        yield platform


async def test_a_messy_fragmented_catalog_loses_nothing(upper):
    items = lower_catalog()
    # the same channel twice in one part, with another parent: the last one given is kept
    repeated = CatalogItem(
        device_id=channel_id(5), name="路口5", civil_code="340223", parent_id=VD, status="ON"
    )
    items.insert(8 + 6, repeated)
    async with FakeLower(("127.0.0.1", upper.sip_port)) as lower:
        await lower.register()
        await asyncio.wait_for(_until(lambda: lower.queries), 10)
        await lower.answer_catalog(lower.queries[0], items)

        def imported() -> bool:
            return upper.get("/channels", device=LOWER)["total"] == CHANNELS

        await asyncio.wait_for(_until(imported), 60)
    device = upper.get(f"/devices/{LOWER}")
    assert device["kind"] == "platform" and device["channels"] == CHANNELS
    [downlink] = [d for d in upper.get("/cascade/downlinks")["items"] if d["id"] == LOWER]
    assert downlink["nodes"] == 8 and downlink["channels"] == CHANNELS
    tree = httpx.get(
        f"{upper.api}/cascade/downlinks/{LOWER}/tree",
        params={"channels": "true"},
        headers=upper.headers,
        timeout=30,
    ).json()
    repairs = tree["repairs"]
    assert sorted(repairs["cycles"]) == [VA, VC]
    unknown_parent = sum(1 for n in range(CHANNELS) if n % 6 == 5) - 1  # channel 5 got VD the second time
    assert repairs["counts"]["orphans"] == unknown_parent
    seen: list[str] = []

    def walk(node: dict) -> None:
        seen.append(node["id"])
        for child in node.get("children", []):
            walk(child)

    for root in tree["roots"]:
        walk(root)
    assert len(seen) == len(set(seen)) == CHANNELS + 8  # every node and channel exactly once
    log = upper.log()
    assert "repeats 1 item IDs" in log and "loops cut" in log  # at import, and when the tree is shown
    assert f"form 2 loop(s); cut at {VA}, {VC}" in log
    channel = upper.get(f"/channels/{channel_id(5)}")
    assert channel["parent_id"] == VD and channel["civil_code"] == "340223"
    # under their region: the divisions it reported are regions here, so they can be reported on
    regions = {r["civil_code"]: r["name"] for r in upper.get("/regions")["items"]}
    assert regions == {"34": "安徽省", "3402": "芜湖市", "340223": "南陵县"}
    assert upper.get("/stats/summary", region="340223")["channels"] == CHANNELS


async def _until(predicate: Any) -> None:
    while not predicate():
        await asyncio.sleep(0.1)
