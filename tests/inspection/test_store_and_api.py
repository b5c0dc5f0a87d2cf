"""Findings, intervals and references on both backends, and the inspection API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select
from tests.support.auth import add_user, log_in_as_admin, login

from xueliang.api.app import create_app
from xueliang.api.context import PlatformContext
from xueliang.catalog import Availability
from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.inspection import CheckConfig, GbInviteOpener, InspectionScheduler, Inspector, TargetOpener
from xueliang.inspection.models import ChannelReference, Finding
from xueliang.inspection.service import FindingWriter
from xueliang.inspection.store import (
    FindingRecord,
    last_inspected,
    load_references,
    load_targets,
    record_findings,
)

from .conftest import Camera, add_channels, channel_gb

CONFIG = CheckConfig(open_timeout=5, keyframe_timeout=4, second_frame_after=1.0, second_frame_timeout=2)


def make_inspector(sessions, device) -> Inspector:
    opener = TargetOpener(gb=GbInviteOpener(device, no_media_timeout=1.5, invite_timeout=2))
    return Inspector(sessions, opener, check=CONFIG, workers=2)


async def open_states(session, channel_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(Availability.kind, Availability.state).where(
            Availability.channel_id == channel_id, Availability.until.is_(None)
        )
    )
    return dict(rows.all())


async def test_findings_intervals_and_reference(sessions, device):
    ids = await add_channels(sessions, 1)
    gb = channel_gb(1)
    inspector = make_inspector(sessions, device)
    try:
        async with sessions() as session:
            (entry,) = await load_targets(session, gb)
        first = await inspector.inspect(entry.target)
        assert first.ok and first.output_ok and first.reference_set and first.via == "gb28181"
        device.cameras[gb] = Camera("too_dark")
        second = await inspector.inspect(entry.target)
        assert not second.ok and second.output_ok
        assert second.defects[0]["kind"] == "too_dark" and not second.reference_set
        async with sessions() as session:
            assert await open_states(session, ids[gb]) == {"output": "ok", "integrity": "too_dark"}
        device.cameras[gb] = Camera(behaviour="silent")
        third = await inspector.inspect(entry.target)
        assert third.failure == "no_media" and not third.output_ok
        async with sessions() as session:
            # no picture: neither intact nor diagnosable, the integrity interval is closed
            assert await open_states(session, ids[gb]) == {"output": "fail"}
            intervals = (
                await session.execute(
                    select(Availability.kind, Availability.state)
                    .where(Availability.kind.in_(("output", "integrity")))
                    .order_by(Availability.id)
                )
            ).all()
            assert [tuple(r) for r in intervals] == [
                ("output", "ok"),
                ("integrity", "intact"),
                ("integrity", "too_dark"),
                ("output", "fail"),
            ]
            reference = await session.scalar(select(ChannelReference))
            assert reference.finding_id == first.id and reference.set_by == "auto"
            assert (await last_inspected(session)) == {ids[gb]: third.at}
            thumbnail = await session.scalar(select(Finding.thumbnail).where(Finding.id == first.id))
            assert thumbnail[:2] == b"\xff\xd8"
    finally:
        await inspector.close()


async def test_checked_is_called_once_per_caller_and_a_joined_inspection_stores_once(sessions, device):
    """The sweep frees a stream's slot at ``checked``: every caller gets it once, the one
    that joined a running inspection of the same channel too; one finding is stored."""
    await add_channels(sessions, 1)
    inspector = make_inspector(sessions, device)
    calls: list[str] = []
    try:
        async with sessions() as session:
            (entry,) = await load_targets(session, channel_gb(1))
        first, joined = await asyncio.gather(
            inspector.inspect(entry.target, checked=lambda: calls.append("first")),
            inspector.inspect(entry.target, checked=lambda: calls.append("joined")),
        )
    finally:
        await inspector.close()
    assert first.id == joined.id and sorted(calls) == ["first", "joined"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Finding)) == 1


async def test_findings_finishing_together_are_written_together(sessions):
    """Many inspections ending at once share transactions; a record whose channel is gone
    fails alone and the others are kept, each with its own times."""
    ids = list((await add_channels(sessions, 3)).values())
    t0 = datetime(2026, 11, 28, 8, tzinfo=UTC)
    writer = FindingWriter(sessions, max_batch=10)
    records = [
        FindingRecord(ids[0], t0, True, integrity="intact"),
        FindingRecord(ids[1], t0 + timedelta(seconds=1), True, integrity="blur"),
        FindingRecord(999_999, t0, True, integrity="intact"),  # no such channel
        FindingRecord(ids[2], t0 + timedelta(seconds=2), False, failure="no_media"),
        FindingRecord(
            ids[0], t0 + timedelta(seconds=3), True, integrity="too_dark"
        ),  # second for one channel
    ]
    results = await asyncio.gather(*(writer.write(r) for r in records), return_exceptions=True)
    await writer.close()
    assert isinstance(results[2], Exception)
    assert [r.channel_id for i, r in enumerate(results) if i != 2] == [ids[0], ids[1], ids[2], ids[0]]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Finding)) == 4
        rows = await session.execute(
            select(Availability.channel_id, Availability.kind, Availability.state, Availability.since)
            .where(Availability.until.is_(None))
            .order_by(Availability.channel_id, Availability.kind)
        )
        since = {(c, k): (state, at.replace(tzinfo=UTC)) for c, k, state, at in rows}
    assert since[(ids[0], "integrity")] == ("too_dark", t0 + timedelta(seconds=3))
    assert since[(ids[1], "integrity")] == ("blur", t0 + timedelta(seconds=1))
    assert since[(ids[2], "output")] == ("fail", t0 + timedelta(seconds=2))
    assert (ids[2], "integrity") not in since


async def test_a_batch_closes_each_integrity_at_its_time_and_replaces_references(sessions):
    """One transaction for many records: each camera without a picture has its own integrity
    interval closed at its own time, and each new reference replaces only its channel's."""
    a, b, c = (await add_channels(sessions, 3)).values()
    t0 = datetime(2026, 11, 28, 8, tzinfo=UTC)
    first = [FindingRecord(x, t0, True, integrity="intact", reference=bytes([x])) for x in (a, b, c)]
    later = [
        FindingRecord(a, t0 + timedelta(seconds=5), False, failure="no_media"),
        FindingRecord(b, t0 + timedelta(seconds=7), False, failure="timeout"),
        FindingRecord(c, t0 + timedelta(seconds=9), True, integrity="intact", reference=b"new"),
    ]
    async with sessions() as session, session.begin():
        await record_findings(session, first)
    async with sessions() as session, session.begin():
        newest = await record_findings(session, later)
    async with sessions() as session:
        rows = await session.execute(
            select(Availability.channel_id, Availability.until).where(Availability.kind == "integrity")
        )
        until = {channel: at and at.replace(tzinfo=UTC) for channel, at in rows}
        references = await load_references(session, [a, b, c, 999_999])
        c_finding = await session.scalar(
            select(ChannelReference.finding_id).where(ChannelReference.channel_id == c)
        )
    assert until == {a: t0 + timedelta(seconds=5), b: t0 + timedelta(seconds=7), c: None}
    assert references == {a: bytes([a]), b: bytes([b]), c: b"new"}
    assert c_finding == newest[2].id


async def test_api(sessions, engine, device, tmp_path):
    await add_channels(sessions, 2)
    gb = channel_gb(1)
    context = PlatformContext(Settings(data_dir=tmp_path), engine, sessions)
    inspector = make_inspector(sessions, device)
    context.inspector = inspector
    app = create_app(context)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://t/api/v1"
        ) as client:
            await log_in_as_admin(client, sessions)
            response = await client.post(f"/channels/{gb}/inspect")
            assert response.status_code == 200, response.text
            finding = response.json()
            assert finding["ok"] and finding["output"] == "ok" and finding["reference_set"]
            assert finding["states"]["integrity"] == "intact" and finding["states"]["output"] == "ok"

            device.cameras[gb] = Camera(behaviour="refuse")
            refused = (await client.post(f"/channels/{gb}/inspect")).json()
            assert refused["output"] == "fail" and refused["failure"] == "refused"
            assert refused["thumbnail_url"] is None

            page = (await client.get(f"/channels/{gb}/findings", params={"page_size": 1})).json()
            assert page["total"] == 2 and [f["id"] for f in page["items"]] == [refused["id"]]
            assert page["states"]["output"] == "fail" and page["states"]["integrity"] is None
            page2 = (await client.get(f"/channels/{gb}/findings", params={"page_size": 1, "page": 2})).json()
            assert [f["id"] for f in page2["items"]] == [finding["id"]]

            thumb = await client.get(finding["thumbnail_url"].removeprefix("/api/v1"))
            assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
            assert thumb.content[:2] == b"\xff\xd8"
            assert (await client.get(f"/findings/{refused['id']}/thumbnail")).status_code == 404

            state = (await client.get(f"/channels/{gb}/inspection")).json()
            assert state["reference"]["set_by"] == "auto"
            cleared = (await client.post(f"/channels/{gb}/reference", json={"source": "next_healthy"})).json()
            assert cleared["cleared"] is True
            assert (await client.get(f"/channels/{gb}/inspection")).json()["reference"] is None

            device.cameras[gb] = Camera("too_dark")  # re-aimed on purpose: take it as it is
            await add_user(sessions, "li.wei", ["operator"])  # the reference is set by who is logged in
            li_wei = await login(client, "li.wei")
            taken = await client.post(
                f"/channels/{gb}/reference", json={"source": "latest_frame"}, headers=li_wei
            )
            assert taken.status_code == 200, taken.text
            assert (await client.get(f"/channels/{gb}/inspection")).json()["reference"]["set_by"] == "li.wei"

            assert (await client.post("/channels/34020000001399999999/inspect")).status_code == 404
            assert (await client.get("/channels/34020000001399999999/findings")).status_code == 404

            assert (await client.get("/inspection/status")).json() == {"enabled": False}
            context.inspection_scheduler = InspectionScheduler(inspector)
            await context.inspection_scheduler.resume()
            await context.inspection_scheduler._refresh_fleet(utcnow())
            status = (await client.get("/inspection/status")).json()
            assert status["enabled"] and (status["fleet"], status["due"]) == (2, 1)  # one never inspected
            await add_user(sessions, "viewer.wu", ["viewer"])
            viewer = await login(client, "viewer.wu")
            assert (await client.get("/inspection/status", headers=viewer)).status_code == 403
    finally:
        await inspector.close()
