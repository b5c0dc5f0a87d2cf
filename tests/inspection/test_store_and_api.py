"""Findings, intervals and references on both backends, and the inspection API."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from tests.support.auth import add_user, log_in_as_admin, login

from xueliang.api.app import create_app
from xueliang.api.context import PlatformContext
from xueliang.catalog import Availability
from xueliang.config import Settings
from xueliang.inspection import CheckConfig, GbInviteOpener, Inspector, TargetOpener
from xueliang.inspection.models import ChannelReference, Finding
from xueliang.inspection.store import last_inspected, load_targets

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
    finally:
        await inspector.close()
