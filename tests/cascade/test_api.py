"""The cascade API over a real database (both backends): uplink configuration CRUD with its
validation, the catalog preview, lower platforms and their repaired trees. The running side
(registration, relays) is exercised against real peers in the other cascade tests."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from tests.support.auth import log_in_as_admin

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.catalog import CatalogEntry, Organization, Registration, apply_catalog, register_devices
from xueliang.config import Settings

UPPER = "34000000002000000001"
LOWER = "34022300002000000001"
CAM = "34022300001320000001"
NEW = {"sip_id": UPPER, "domain": "3400000000", "host": "127.0.0.1", "port": 5999, "password": "s3cret"}


@pytest.fixture
async def client(engine, sessions) -> AsyncIterator[httpx.AsyncClient]:
    context = PlatformContext(settings=Settings(), engine=engine, sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(context)), base_url="http://test/api/v1"
    ) as client:
        await log_in_as_admin(client, sessions)
        yield client


@pytest.fixture
async def lower(sessions):
    """A lower platform registered here with a small tree: regions, a group, a loop, channels."""
    at = datetime.now(UTC)
    group, va, vb = "34022300002150000001", "34022300002160000001", "34022300002160000002"
    async with sessions() as session, session.begin():
        session.add(Organization(code="skynet", name="天网", path="/"))
        await register_devices(session, [Registration(LOWER, "127.0.0.1:5070", "UDP", "")], at)
        await apply_catalog(
            session,
            LOWER,
            [
                CatalogEntry("34", "安徽省"),
                CatalogEntry("3402", "芜湖市"),
                CatalogEntry("340223", "南陵县"),
                CatalogEntry(group, "业务分组"),
                CatalogEntry(va, "A", parent_id=vb, business_group_id=group),
                CatalogEntry(vb, "B", parent_id=va, business_group_id=group),
                CatalogEntry(CAM, "路口1", civil_code="340223", parent_id=va, status_on=True),
                CatalogEntry("34022300001320000002", "路口2", civil_code="340223", parent_id="340223"),
            ],
            at,
        )


async def test_create_read_update_delete(client):
    created = await client.post(
        "/cascade/uplinks", json={**NEW, "transport": "tcp", "rules": [{"region": "3402"}]}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["transport"] == "TCP" and body["has_password"] and "password" not in body
    assert (
        body["local_id"] == Settings().sip_id and body["status"]["state"] == "stopped"
    )  # no cascade running
    assert body["rules"] == [{"region": "3402", "organization": None, "point_class": None}]
    assert (await client.post("/cascade/uplinks", json=NEW)).status_code == 409
    patched = await client.patch(
        f"/cascade/uplinks/{UPPER}",
        json={"channels": [CAM], "id_map": {CAM: "34000000001320000009"}, "keepalive_interval": 30},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["channels"] == [CAM] and body["id_map"] == {CAM: "34000000001320000009"}
    assert body["keepalive_interval"] == 30 and body["rules"][0]["region"] == "3402" and body["has_password"]
    listed = (await client.get("/cascade/uplinks")).json()
    assert listed["total"] == 1 and listed["items"][0]["sip_id"] == UPPER
    assert (await client.patch(f"/cascade/uplinks/{UPPER}", json={"password": ""})).json()[
        "has_password"
    ] is False
    assert (await client.delete(f"/cascade/uplinks/{UPPER}")).status_code == 204
    assert (await client.get(f"/cascade/uplinks/{UPPER}")).status_code == 404


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"sip_id": "123"}, "sip_id"),
        ({"sip_id": "00000000002000000001"}, "province code"),
        ({"transport": "sctp"}, "transport"),
        ({"port": 0}, "port"),
        ({"keepalive_interval": 0}, "keepalive_interval"),
        ({"rules": [{}]}, "needs a region"),
        ({"rules": [{"region": "34x"}]}, "region"),
        ({"rules": [{"organization": "nobody"}]}, "unknown organisation"),
        ({"id_map": {CAM: "12"}}, "20 digits"),
        ({"id_map": {CAM: UPPER, "34022300001320000002": UPPER}}, "same upper ID"),
        ({"host": "evil host\r\n"}, "host"),
    ],
)
async def test_bad_configuration_is_refused_and_nothing_is_stored(client, change, words):
    response = await client.post("/cascade/uplinks", json={**NEW, **change})
    assert response.status_code == 422 and words in response.text
    assert (await client.get("/cascade/uplinks")).json()["total"] == 0


async def test_patch_refuses_nulls_and_keeps_the_old_configuration(client):
    await client.post("/cascade/uplinks", json=NEW)
    assert (await client.patch(f"/cascade/uplinks/{UPPER}", json={"host": None})).status_code == 422
    assert (await client.patch(f"/cascade/uplinks/{UPPER}", json={"rules": [{}]})).status_code == 422
    assert (await client.get(f"/cascade/uplinks/{UPPER}")).json()["host"] == "127.0.0.1"


async def test_catalog_preview_shows_the_tree_the_upper_platform_gets(client, lower):
    await client.post(
        "/cascade/uplinks", json={**NEW, "channels": [CAM], "id_map": {CAM: "34000000001320000009"}}
    )
    preview = (await client.get(f"/cascade/uplinks/{UPPER}/catalog")).json()
    assert preview["channels"] == 1
    assert [i["id"] for i in preview["items"]] == ["34", "3402", "340223", "34000000001320000009"]
    assert preview["items"][-1]["gb_id"] == CAM and preview["items"][-1]["parent_id"] == "340223"


async def test_downlinks_and_their_repaired_tree(client, lower):
    downlinks = (await client.get("/cascade/downlinks")).json()
    assert downlinks["items"] == [
        {**downlinks["items"][0], "id": LOWER, "channels": 2, "nodes": 6, "status": "online"}
    ]
    tree = (await client.get(f"/cascade/downlinks/{LOWER}/tree", params={"channels": "true"})).json()
    assert tree["repairs"]["cycles"] == ["34022300002160000001"]  # the A ↔ B loop, cut at A
    seen = []

    def walk(node):
        seen.append(node["id"])
        for child in node.get("children", []):
            walk(child)

    for root in tree["roots"]:
        walk(root)
    assert len(seen) == len(set(seen)) == 8  # every node and channel exactly once
    assert (await client.get("/cascade/downlinks/34999999992000000001/tree")).status_code == 404
    regions = (await client.get("/regions")).json()["items"]
    assert [(r["civil_code"], r["name"], r["parent_code"]) for r in regions] == [
        ("34", "安徽省", None),
        ("3402", "芜湖市", "34"),
        ("340223", "南陵县", "3402"),
    ]
