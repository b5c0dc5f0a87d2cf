"""The web map's API: compact points coloured by state, excluded positions counted, district
outlines for the offline base map, and the deployment's web settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from xueliang.catalog import Channel, record_states
from xueliang.db import utcnow
from xueliang.demo import city_channels, seed_city
from xueliang.insight import valid_annotation

CHANNELS = 1000


@pytest.fixture
async def city(sessions):
    """The simulated city; the first ten channels online, three of those with a defect."""
    async with sessions() as session, session.begin():
        await seed_city(session, CHANNELS)
        ids = dict((await session.execute(select(Channel.gb_id, Channel.id).order_by(Channel.gb_id))).all())
        first = list(ids)[:10]
        now = utcnow()
        await record_states(session, "online", {ids[g]: "online" for g in first}, now)
        await record_states(session, "integrity", {ids[g]: "intact" for g in first[3:]}, now)
        await record_states(session, "integrity", {ids[first[0]]: "blur", ids[first[1]]: "too_dark"}, now)
        await record_states(session, "output", {ids[first[2]]: "fail"}, now)
        await session.execute(update(Channel).where(Channel.gb_id.in_(first)).values(status="online"))
    return first


def expected_positions() -> tuple[dict[str, tuple[float, float]], int, int]:
    positions, missing, invalid = {}, 0, 0
    for channel in city_channels(CHANNELS):
        if channel.longitude is None or channel.latitude is None:
            missing += 1
        elif not valid_annotation(channel.longitude, channel.latitude):
            invalid += 1
        else:
            positions[channel.gb_id] = (channel.longitude, channel.latitude)
    return positions, missing, invalid


async def test_points_are_compact_rows_with_state_and_excluded_counts(client, city):
    response = await client.get("/map/points")
    assert response.status_code == 200
    body = response.json()
    assert body["fields"] == ["id", "longitude", "latitude", "state"]
    assert body["states"] == ["offline", "online", "defect"]
    positions, missing, invalid = expected_positions()
    assert missing and invalid, "the city plan has channels without and with (0, 0) positions"
    assert body["excluded"] == {"missing": missing, "invalid": invalid}
    assert body["total"] == CHANNELS
    assert {p[0]: (p[1], p[2]) for p in body["points"]} == positions
    states = {p[0]: body["states"][p[3]] for p in body["points"]}
    defects = {g for g in city[:3] if g in positions}
    assert {g for g, s in states.items() if s == "defect"} == defects
    assert {g for g, s in states.items() if s == "online"} == {g for g in city[3:] if g in positions}


@pytest.mark.parametrize(
    ("params", "check"),
    [
        ({"state": "defect"}, lambda ids, city: ids == set(city[:3])),
        ({"state": "online"}, lambda ids, city: ids == set(city[3:10])),
        ({"state": "offline"}, lambda ids, city: not ids & set(city)),
        ({"region": "340202"}, lambda ids, city: ids and all(i.startswith("340202") for i in ids)),
        ({"class": 1, "source": "skynet"}, lambda ids, city: 0 < len(ids) < 100),
        ({"q": "不存在的名字"}, lambda ids, city: not ids),
    ],
)
async def test_points_filters(client, city, params, check):
    body = (await client.get("/map/points", params=params)).json()
    ids = {p[0] for p in body["points"]}
    assert check(ids, city), (params, len(ids))
    assert body["total"] == len(ids) + body["excluded"]["missing"] + body["excluded"]["invalid"]


async def test_points_reject_bad_filters_in_words(client, city):
    response = await client.get("/map/points", params={"state": "burning"})
    assert response.status_code == 422 and "online" in response.text


async def test_outlines_are_one_polygon_per_district(client, city):
    body = (await client.get("/map/outlines")).json()
    assert body["type"] == "FeatureCollection"
    names = {f["properties"]["civil_code"]: f["properties"]["name"] for f in body["features"]}
    assert names["340202"] == "镜湖区" and len(names) == 8
    for feature in body["features"]:
        ring = feature["geometry"]["coordinates"][0]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 4
        assert all(valid_annotation(lon, lat) for lon, lat in ring)


async def test_web_config_tells_map_and_targets(client):
    body = (await client.get("/web/config")).json()
    assert body["map"] == {"tile_url": None, "coord_system": "wgs84", "area": [73.4, 18.1, 135.1, 53.6]}
    assert body["targets"]["by_class"] == {"1": 0.98, "2": 0.95, "3": 0.95}
    assert body["point_classes"] == 3 and body["timezone"] == "Asia/Shanghai"


async def test_a_scoped_user_sees_only_the_channels_of_their_scope(client, sessions, city):
    from tests.support.auth import add_user, login

    from xueliang.security import AccessGrant, find_user

    await add_user(sessions, "zhou", [])
    async with sessions() as session, session.begin():
        zhou = await find_user(session, "zhou")
        session.add(AccessGrant(user_id=zhou.id, role="operator", region="340202"))
    headers = await login(client, "zhou")
    points = (await client.get("/map/points", headers=headers)).json()
    everything = (await client.get("/map/points")).json()
    assert points["points"] and all(p[0].startswith("340202") for p in points["points"])
    assert len(points["points"]) < len(everything["points"])
    outlines = (await client.get("/map/outlines", headers=headers)).json()
    assert [f["properties"]["civil_code"] for f in outlines["features"]] == ["340202"]
    export = await client.get("/channels/export", params={"format": "csv"}, headers=headers)
    rows = export.content.decode("utf-8-sig").strip().splitlines()[1:]
    assert rows and all(row.startswith("340202") for row in rows)
