"""The demo's seeded city: its past leads up to what the simulator then shows, and the
directory's status columns agree with the last intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import Availability, Channel, Device
from xueliang.demo.city import city_rtsp_cameras
from xueliang.demo.history import ending_in, seed_history
from xueliang.demo.run import truth
from xueliang.demo.seed import seed_city

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
H = timedelta(hours=1)


def test_ending_in_cuts_the_past_and_keeps_one_open_state() -> None:
    t0 = NOW - 10 * H
    spans = [("online", t0, t0 + 2 * H), ("offline", t0 + 2 * H, t0 + 3 * H), ("online", t0 + 3 * H, None)]
    assert ending_in(spans, "offline", t0 + 5 * H) == [
        ("online", t0, t0 + 2 * H),
        ("offline", t0 + 2 * H, t0 + 3 * H),
        ("online", t0 + 3 * H, t0 + 5 * H),
        ("offline", t0 + 5 * H, None),
    ]
    assert ending_in(spans, "offline", t0 + 2.5 * H) == [
        ("online", t0, t0 + 2 * H),
        ("offline", t0 + 2 * H, None),
    ]


async def test_history_leads_up_to_the_simulated_truth(session: AsyncSession) -> None:
    cameras = list(city_rtsp_cameras(4, "rtsp://127.0.0.1:8554"))
    async with session.begin():
        assert await seed_city(session, 800, extra=cameras) == 804
        assert await seed_history(session, NOW, days=30, truth=truth) > 800 * 3
    rows = (
        await session.execute(
            select(Channel.gb_id, Device.gb_id, Channel.status, Channel.stream_url).outerjoin(
                Device, Channel.device_id == Device.id
            )
        )
    ).all()
    assert sum(1 for r in rows if r.stream_url.startswith("rtsp://127.0.0.1:8554/cam/")) == 4
    open_states = {
        (channel_id, kind): state
        for channel_id, kind, state in (
            await session.execute(
                select(Channel.gb_id, Availability.kind, Availability.state)
                .join(Channel, Availability.channel_id == Channel.id)
                .where(Availability.until.is_(None))
            )
        ).all()
    }
    offline = defective = 0
    for gb_id, device_gb_id, status, _ in rows:
        dead, defect = truth(gb_id, device_gb_id)
        online_now = open_states.get((gb_id, "online"))
        assert status == (online_now or "offline"), gb_id  # the column says what the interval says
        if dead and online_now is not None:
            offline += 1
            assert online_now == "offline", gb_id
        if defect:
            defective += 1
            assert open_states[(gb_id, "integrity")] == defect, gb_id
    assert offline > 0 and defective > 0  # the fault mix reached this small city
    await session.commit()
    # a second seeding changes nothing and writes no second history
    async with session.begin():
        await seed_city(session, 800, extra=cameras)
        assert await seed_history(session, NOW, days=30, truth=truth) == 0
