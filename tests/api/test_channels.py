"""The directory API: shapes from the public contract, filters, pagination, no secrets."""

from pathlib import Path

import pytest

from xueliang.catalog import Organization, import_channels, import_regions

REGIONS = "civil_code,name\n34,安徽省\n3402,芜湖市\n340202,镜湖区\n340207,鸠江区\n"
HEADER = "gb_id,name,civil_code,organization,point_class,source,longitude,latitude,device_gb_id,stream_url\n"


@pytest.fixture
async def city(sessions, tmp_path: Path):
    regions = tmp_path / "r.csv"
    regions.write_text(REGIONS)
    rows = []
    for i in range(1, 31):
        district = "340202" if i <= 20 else "340207"
        org = "镜湖分局" if i <= 20 else "交通局"
        source = ["skynet", "sharp_eyes", "huiyan"][i % 3]
        rows.append(
            f"{district}00001320{i:06d},{'路口' if i % 2 else '广场'}{i},{district},{org},{i % 3 + 1},"
            f"{source},{118 + i / 100:.2f},{31 + i / 100:.2f},{district}00001180000001,"
            + ("rtsp://admin:hunter2@127.0.0.1/x" if i == 30 else "")
        )
    channels = tmp_path / "c.csv"
    channels.write_text(HEADER + "\n".join(rows) + "\n")
    async with sessions() as session, session.begin():
        await import_regions(session, regions)
        outcome = await import_channels(session, channels)
        assert outcome.applied, outcome.errors
        # Make 交通局 a child of 镜湖分局 to test subtree filtering.
        parent = await session.scalar(Organization.__table__.select().where(Organization.code == "镜湖分局"))
        child = (
            await session.execute(Organization.__table__.select().where(Organization.code == "交通局"))
        ).first()
        await session.execute(
            Organization.__table__.update()
            .where(Organization.id == child.id)
            .values(parent_id=parent, path=f"/{parent}/{child.id}/")
        )


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_list_shape_and_stable_order(client, city):
    body = (await client.get("/channels", params={"page_size": 7})).json()
    assert body["total"] == 30 and body["page"] == 1 and len(body["items"]) == 7
    first = body["items"][0]
    for key in ("id", "name", "device_id", "civil_code", "status", "longitude", "latitude"):
        assert key in first
    assert first["status"] == "offline"
    seen = []
    for page in range(1, 6):
        items = (await client.get("/channels", params={"page_size": 7, "page": page})).json()["items"]
        seen += [c["id"] for c in items]
    assert seen == sorted(seen) and len(set(seen)) == 30


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({"region": "3402"}, 30),
        ({"region": "340207"}, 10),
        ({"region": "3401"}, 0),
        ({"class": 1}, 10),
        ({"source": "skynet"}, 10),
        ({"q": "广场"}, 15),
        ({"q": "34020700"}, 10),
        ({"bbox": "118.0,31.0,118.105,31.105"}, 10),
        ({"status": "online"}, 0),
        ({"org": "交通局"}, 10),
        ({"org": "镜湖分局"}, 30),
        ({"org": "nobody"}, 0),
        ({"device": "34020700001180000001"}, 10),
        ({"region": "340202", "class": 2, "source": "huiyan"}, 0),
        ({"region": "340202", "class": 2}, 7),
    ],
)
async def test_filters(client, city, params, total):
    response = await client.get("/channels", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == total


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "119,31,118,32"},
        {"region": "34x"},
        {"page": 0},
        {"page_size": 5000},
        {"status": "maybe"},
        {"source": "aliens"},
    ],
)
async def test_bad_parameters_are_422(client, city, params):
    assert (await client.get("/channels", params=params)).status_code == 422


async def test_channel_by_gb_id_and_not_found(client, city):
    body = (await client.get("/channels/34020700001320000030")).json()
    assert body["id"] == "34020700001320000030" and body["device_id"] == "34020700001180000001"
    assert body["stream_url"] == "rtsp://127.0.0.1/x" and body["has_stream_credentials"] is True
    assert (await client.get("/channels/34020700001320009999")).status_code == 404


async def test_secrets_never_leave_the_api(client, city):
    for path in ("/channels?page_size=1000", "/channels/34020700001320000030", "/devices"):
        text = (await client.get(path)).text
        assert "hunter2" not in text and "admin" not in text and "password" not in text


async def test_devices(client, city):
    body = (await client.get("/devices")).json()
    assert body["total"] == 2
    assert {d["id"]: d["channels"] for d in body["items"]} == {
        "34020200001180000001": 20,
        "34020700001180000001": 10,
    }
    assert body["items"][0]["type_name"] == "NVR"
    assert (await client.get("/devices/34020200001180000001")).json()["channels"] == 20
    assert (await client.get("/devices/1")).status_code == 404


async def test_regions_and_organizations(client, city):
    regions = (await client.get("/regions")).json()
    assert [r["civil_code"] for r in regions["items"]] == ["34", "3402", "340202", "340207"]
    orgs = (await client.get("/organizations")).json()
    assert {o["code"] for o in orgs["items"]} == {"镜湖分局", "交通局"}


async def test_openapi_is_published(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/channels/{gb_id}" in spec["paths"] and "/api/v1/health" in spec["paths"]


async def test_availability_intervals(client, city, sessions):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from xueliang.catalog import Channel, record_states

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    async with sessions() as session, session.begin():
        cid = await session.scalar(select(Channel.id).where(Channel.gb_id == "34020200001320000001"))
        await record_states(session, "online", {cid: "online"}, t0)
        await record_states(session, "online", {cid: "offline"}, t0 + timedelta(hours=2))
    body = (await client.get("/channels/34020200001320000001/availability")).json()
    assert [(i["state"], i["until"] is None) for i in body["items"]] == [("online", False), ("offline", True)]
    later = {"from": (t0 + timedelta(hours=3)).isoformat()}
    assert [
        i["state"]
        for i in (await client.get("/channels/34020200001320000001/availability", params=later)).json()[
            "items"
        ]
    ] == ["offline"]
    bad = {"from": t0.isoformat(), "to": (t0 - timedelta(hours=1)).isoformat()}
    assert (await client.get("/channels/34020200001320000001/availability", params=bad)).status_code == 422
    assert (await client.get("/channels/34020200001320009999/availability")).status_code == 404


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("name", "name", False), ("-name", "name", True), ("-id", "id", True), ("class", None, None)],
)
async def test_sorting(client, city, sort, key, reverse):
    response = await client.get("/channels", params={"sort": sort, "page_size": 1000})
    if key is None:
        assert response.status_code == 422 and "sort" in response.text
        return
    items = response.json()["items"]
    assert [c[key] for c in items] == sorted((c[key] for c in items), reverse=reverse)


async def test_export_in_the_import_format(client, city, tmp_path):
    from xueliang.catalog import read_table
    from xueliang.catalog.records import COLUMNS

    response = await client.get("/channels/export", params={"format": "csv", "org": "交通局"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="xueliang-channels.csv"' in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 11 and "hunter2" not in text
    response = await client.get("/channels/export", params={"format": "xlsx", "region": "340202"})
    assert 'filename="xueliang-channels-340202.xlsx"' in response.headers["content-disposition"]
    path = tmp_path / "out.xlsx"
    path.write_bytes(response.content)
    header, rows = read_table(path)
    assert list(header)[:3] == ["gb_id", "name", "civil_code"] and len(list(rows)) == 20
    assert (await client.get("/channels/export", params={"format": "pdf"})).status_code == 422
