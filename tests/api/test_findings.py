"""``GET /findings``: every channel's findings newest first, the dashboard's recent faults."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from xueliang.catalog import Channel
from xueliang.db import utcnow
from xueliang.demo import seed_city
from xueliang.inspection.store import FindingRecord, record_finding


async def test_recent_faults_across_channels(client, sessions):
    now = utcnow()
    async with sessions() as session, session.begin():
        await seed_city(session, 16)
        ids = (await session.execute(select(Channel.id, Channel.gb_id).order_by(Channel.gb_id))).all()
        for minute, (channel_id, _gb) in enumerate(ids[:6]):
            fault = minute % 2 == 0
            await record_finding(
                session,
                FindingRecord(
                    channel_id=channel_id,
                    at=now - timedelta(minutes=10 - minute),
                    output_ok=minute != 4,
                    failure="no_media" if minute == 4 else None,
                    integrity=None if minute == 4 else ("blur" if fault else "intact"),
                    thumbnail=None if minute == 4 else b"\xff\xd8jpeg",
                ),
            )
    body = (await client.get("/findings", params={"ok": "false"})).json()
    assert body["total"] == 3
    assert [i["channel_id"] for i in body["items"]] == [ids[4][1], ids[2][1], ids[0][1]]
    newest = body["items"][0]
    assert newest["output"] == "fail" and newest["thumbnail_url"] is None and newest["channel_name"]
    assert body["items"][1]["thumbnail_url"] == f"/api/v1/findings/{body['items'][1]['id']}/thumbnail"
    assert (await client.get("/findings")).json()["total"] == 6
    region = ids[0][1][:6]
    assert all(
        i["channel_id"].startswith(region)
        for i in (await client.get("/findings", params={"region": region})).json()["items"]
    )
    assert (await client.get("/findings", params={"region": "34x"})).status_code == 422


async def test_a_scoped_user_sees_the_findings_of_their_channels_only(client, sessions):
    from tests.support.auth import add_user, login

    from xueliang.security import AccessGrant, find_user

    async with sessions() as session, session.begin():
        await seed_city(session, 16)
        ids = (await session.execute(select(Channel.id, Channel.gb_id).order_by(Channel.gb_id))).all()
        for channel_id, _gb in ids:
            await record_finding(
                session, FindingRecord(channel_id=channel_id, at=utcnow(), output_ok=True, integrity="blur")
            )
    await add_user(sessions, "zhou", [])
    async with sessions() as session, session.begin():
        zhou = await find_user(session, "zhou")
        session.add(AccessGrant(user_id=zhou.id, role="viewer", region="340207"))
    body = (await client.get("/findings", headers=await login(client, "zhou"))).json()
    assert body["total"] == sum(1 for _id, gb in ids if gb.startswith("340207")) > 0
    assert all(item["channel_id"].startswith("340207") for item in body["items"])
