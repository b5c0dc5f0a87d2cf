"""Scheduler: fairness and starvation (pure, explicit ``now``), resume from the findings
table, and a sweep of a small fleet over real sockets on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from xueliang.catalog import Availability, Channel
from xueliang.inspection import Candidate, InspectionConfig, InspectionScheduler, plan
from xueliang.inspection.models import Finding

from .conftest import Camera, add_channels, channel_gb
from .test_store_and_api import make_inspector

NOW = datetime(2026, 11, 2, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)


def fleet(regions: dict[str, int], point_class: int = 3, start: int = 0) -> list[Candidate]:
    out, n = [], start
    for region, count in regions.items():
        for _ in range(count):
            n += 1
            out.append(Candidate(n, region, point_class))
    return out


def test_class_one_first_and_regions_interleaved():
    class3 = fleet({"340202": 3, "340203": 1}, 3)
    class1 = fleet({"340202": 2, "340203": 2, "340204": 1}, 1, start=100)
    order = plan(class3 + class1, {}, NOW, interval=HOUR)
    assert order[:5] == [101, 103, 105, 102, 104]  # class 1, regions taking turns
    assert order[5:] == [1, 4, 2, 3]  # then class 3, the small region not waiting behind the big one


def test_nothing_is_due_before_its_interval_and_the_most_overdue_goes_first():
    candidates = fleet({"340202": 3}, 3) + fleet({"340202": 1}, 1, start=10)
    last = {
        1: NOW - 30 * timedelta(minutes=1),
        2: NOW - 3 * HOUR,
        3: NOW - 2 * HOUR,
        11: NOW - 61 * timedelta(minutes=1),
    }
    assert plan(candidates, last, NOW, interval=HOUR) == [2, 3, 11]


def test_no_camera_starves_behind_class_one():
    """Class-1 points due again and again never push a long-overdue class-3 point back."""
    class1 = fleet({"340202": 50}, 1)
    starving = Candidate(999, "340299", 3)
    last = {c.channel_id: NOW - HOUR for c in class1}
    last[999] = NOW - 5 * HOUR
    order = plan([*class1, starving], last, NOW, interval=HOUR, limit=10)
    assert order[0] == 999
    # and a per-class interval inspects class 1 more often without starving the rest
    last = {c.channel_id: NOW - 40 * timedelta(minutes=1) for c in class1} | {999: NOW - 2 * HOUR}
    order = plan([*class1, starving], last, NOW, interval=HOUR, class_interval={1: 0.5}, limit=5)
    assert order[0] == 999 and len(order) == 5


def test_in_flight_channels_are_excluded():
    assert plan(fleet({"340202": 3}), {}, NOW, interval=HOUR, exclude={2}) == [1, 3]


async def test_sweep_resume_and_on_demand(sessions, device):
    ids = await add_channels(sessions, 6, regions=("340202", "340203"), classes=(1, 3))
    device.cameras[channel_gb(4)] = Camera(behaviour="silent")
    clock = [NOW]
    config = InspectionConfig(interval=HOUR, concurrency=3, probe_interval=timedelta(0), idle_tick=0.05)
    inspector = make_inspector(sessions, device)
    inspector.clock = lambda: clock[0]
    scheduler = InspectionScheduler(inspector, config, clock=lambda: clock[0])
    task = asyncio.create_task(scheduler.run())
    try:
        while scheduler.inspected < 6:
            await asyncio.sleep(0.05)
        async with sessions() as session:
            assert await session.scalar(select(func.count()).select_from(Finding)) == 6
            failures = (await session.execute(select(Finding.channel_id, Finding.failure))).all()
            assert {c: f for c, f in failures if f} == {ids[channel_gb(4)]: "no_media"}
            outputs = await session.scalar(
                select(func.count()).select_from(Availability).where(Availability.kind == "output")
            )
            assert outputs == 6
        # nothing is due again within the interval; an operator's request still runs
        await asyncio.sleep(0.2)
        assert scheduler.inspected == 6
        status = scheduler.status(NOW)
        assert (status["fleet"], status["eligible"], status["due"], status["in_flight"]) == (6, 6, 0, 0)
        assert status["last_sweep"]["inspected"] == 6 and status["last_sweep"]["seconds"] == 0
        assert scheduler.status(NOW + 2 * HOUR)["due"] == 6
        scheduler.request(ids[channel_gb(2)])
        while scheduler.inspected < 7:
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # a restarted scheduler resumes from the findings: nothing due now, all due an hour later
    restarted = InspectionScheduler(inspector, config, clock=lambda: clock[0])
    await restarted.resume()
    await restarted._refresh_fleet(NOW)
    assert set(restarted.last) == set(ids.values())
    assert restarted.next_batch(NOW, 10) == []
    assert len(restarted.next_batch(NOW + 2 * HOUR, 10)) == 6
    # an offline channel is not output-checked
    async with sessions() as session, session.begin():
        await session.execute(
            Channel.__table__.update().where(Channel.id == ids[channel_gb(1)]).values(status="offline")
        )
    restarted._fleet_at = None
    await restarted._refresh_fleet(NOW)
    assert ids[channel_gb(1)] not in restarted.next_batch(NOW + 2 * HOUR, 10)
    await inspector.close()


async def test_rtsp_probe_writes_online_intervals(sessions):
    from .test_probe import Responder

    responder = Responder()
    server = await asyncio.start_server(responder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    ids = await add_channels(sessions, 2)
    async with sessions() as session, session.begin():
        await session.execute(
            Channel.__table__.update()
            .where(Channel.id == ids[channel_gb(1)])
            .values(stream_url=f"rtsp://127.0.0.1:{port}/a")
        )
        await session.execute(
            Channel.__table__.update()
            .where(Channel.id == ids[channel_gb(2)])
            .values(stream_url="rtsp://127.0.0.1:1/b")
        )
    inspector = make_inspector(sessions, None)
    scheduler = InspectionScheduler(inspector, InspectionConfig(probe_timeout=2))
    try:
        await scheduler._refresh_fleet(NOW)
        states = await scheduler.probe_rtsp_fleet(NOW)
        assert states == {ids[channel_gb(1)]: "online", ids[channel_gb(2)]: "offline"}
        async with sessions() as session:
            rows = dict((await session.execute(select(Channel.id, Channel.status))).all())
        assert rows[ids[channel_gb(1)]] == "online" and rows[ids[channel_gb(2)]] == "offline"
        # between full probes, only cameras that are not online are asked again
        scheduler._fleet_at = None
        await scheduler._refresh_fleet(NOW)
        assert await scheduler.probe_rtsp_fleet(NOW, offline_only=True) == {ids[channel_gb(2)]: "offline"}
    finally:
        server.close()
        await inspector.close()
