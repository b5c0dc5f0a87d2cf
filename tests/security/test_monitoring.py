"""The asset monitor as the platform builds it from the resource directory (both backends):
curated or discovering, where each device last registered, and devices added later."""

from __future__ import annotations

import asyncio
import contextlib

from xueliang.catalog import Device
from xueliang.config import Settings
from xueliang.db import utcnow
from xueliang.security.assets import AlertKind
from xueliang.security.monitoring import follow_directory, load_monitor

K1, K2, NEW = "34020000001320000001", "34020000001320000002", "34020000001320000003"


async def test_a_directory_with_devices_is_curated_and_remembers_addresses(sessions) -> None:
    async with sessions() as session:
        assert (await load_monitor(session, Settings())).known is None, "empty: discovering"
        strict = await load_monitor(session, Settings(sip_accept_unknown=False))
        assert strict.known == set() and not strict.is_known(K1), "refusing unknown IDs: curated"
    async with sessions() as session, session.begin():
        session.add_all(
            [
                Device(gb_id=K1, name="a", address="10.0.0.1:5060", transport="UDP"),
                Device(gb_id=K2, name="b"),  # imported, never registered
            ]
        )
    async with sessions() as session:
        monitor = await load_monitor(session, Settings(keepalive_interval=30, keepalive_misses=2))
    assert monitor.known == {K1, K2} and monitor.window == 60
    assert monitor.registered(K1, ("10.0.0.1", 5999), "UDP", 0, default_password=False) == []
    moved = monitor.registered(K2, ("10.0.0.9", 5060), "UDP", 0, default_password=False)
    assert moved == [], "no address on record: nothing to compare"
    elsewhere = monitor.registered(K1, ("10.0.0.2", 5060), "UDP", 1, default_password=False)
    assert [e.kind for e in elsewhere] == [AlertKind.ADDRESS_CHANGED]


async def test_devices_added_later_are_learnt(sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(Device(gb_id=K1, name="a"))
    since = utcnow()
    async with sessions() as session:
        monitor = await load_monitor(session, Settings())
    assert not monitor.is_known(NEW)
    following = asyncio.create_task(follow_directory(sessions, monitor, since, every=0.05))
    try:
        async with sessions() as session, session.begin():
            session.add(Device(gb_id=NEW, name="imported"))
        for _ in range(200):
            if monitor.is_known(NEW):
                break
            await asyncio.sleep(0.05)
        assert monitor.is_known(NEW)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
