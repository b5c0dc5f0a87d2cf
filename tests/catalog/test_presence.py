"""Devices registering, reporting catalogs and going away, written as availability intervals."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from xueliang.catalog import (
    Availability,
    CatalogEntry,
    Channel,
    Device,
    DirectoryNode,
    apply_catalog,
    delete_catalog_entries,
    register_device,
    set_devices_online,
    update_device_info,
)

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
NVR = "34020000001180000001"


def cams(n: int, **kw) -> list[CatalogEntry]:
    return [
        CatalogEntry(
            gb_id=f"340200000013200000{i:02d}", name=f"摄像机{i}", civil_code="340200", status_on=True, **kw
        )
        for i in range(1, n + 1)
    ]


async def intervals(session, gb_id: str) -> list[tuple[str, datetime, datetime | None]]:
    rows = await session.execute(
        select(Availability.state, Availability.since, Availability.until)
        .join(Channel, Channel.id == Availability.channel_id)
        .where(Channel.gb_id == gb_id, Availability.kind == "online")
        .order_by(Availability.since)
    )
    return [tuple(r) for r in rows]


async def test_register_creates_device_from_its_id(session):
    async with session.begin():
        device = await register_device(
            session, NVR, address="127.0.0.1:5070", transport="UDP", gb_version="3.0", at=T0
        )
    assert (device.kind, device.type_code, device.civil_code, device.status) == (
        "nvr",
        "118",
        "3402",
        "online",
    )


async def test_catalog_then_offline_then_online_makes_intervals(session):
    async with session.begin():
        await register_device(
            session, NVR, address="127.0.0.1:5070", transport="UDP", gb_version="2.0", at=T0
        )
        entries = cams(3) + [
            CatalogEntry(gb_id="34020000002150000001", name="业务分组"),
            CatalogEntry(gb_id="340200", name="芜湖市"),
            CatalogEntry(gb_id="3402000000132000009X", name="bad id"),
        ]
        entries[2] = CatalogEntry(gb_id=entries[2].gb_id, name="坏了", status_on=False)
        outcome = await apply_catalog(session, NVR, entries, T0 + timedelta(seconds=1))
    assert (outcome.created, outcome.nodes, outcome.rejected) == (3, 2, 1)
    statuses = dict((await session.execute(select(Channel.gb_id, Channel.status))).all())
    assert list(statuses.values()) == ["online", "online", "offline"]
    assert (await session.scalar(select(Channel.civil_code).order_by(Channel.gb_id).limit(1))) == "340200"
    nodes = (await session.scalars(select(DirectoryNode.kind).order_by(DirectoryNode.gb_id))).all()
    assert nodes == ["region", "business_group"]
    await session.commit()

    t_off, t_on = T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)
    async with session.begin():
        assert await set_devices_online(session, [NVR], False, t_off) == 2  # the OFF one was already offline
        assert await set_devices_online(session, [NVR], False, t_off + timedelta(seconds=30)) == 0
        assert await set_devices_online(session, [NVR], True, t_on) == 2
    assert await intervals(session, "34020000001320000001") == [
        ("online", T0 + timedelta(seconds=1), t_off),
        ("offline", t_off, t_on),
        ("online", t_on, None),
    ]
    assert await intervals(session, "34020000001320000003") == [("offline", T0 + timedelta(seconds=1), None)]


async def test_catalog_update_and_delete(session):
    async with session.begin():
        await register_device(session, NVR, address="a", transport="TCP", gb_version="2.0", at=T0)
        await apply_catalog(session, NVR, cams(2), T0)
        outcome = await apply_catalog(session, NVR, cams(2, longitude=118.1, latitude=31.2), T0)
        assert (outcome.created, outcome.updated) == (0, 2)
        assert await delete_catalog_entries(session, NVR, ["34020000001320000001"], T0) == 1
    remaining = (await session.scalars(select(Channel.gb_id))).all()
    assert remaining == ["34020000001320000002"]
    assert (await session.scalar(select(Channel.longitude))) == pytest.approx(118.1)


async def test_device_info_and_unknown_device(session):
    async with session.begin():
        await register_device(session, NVR, address="a", transport="UDP", gb_version="", at=T0)
        await update_device_info(
            session, NVR, name="镜湖NVR", manufacturer="Hikvision", model="DS-8632", firmware="V4.1"
        )
    device = await session.scalar(select(Device))
    assert (device.name, device.manufacturer, device.firmware) == ("镜湖NVR", "Hikvision", "V4.1")
    await session.commit()
    with pytest.raises(LookupError):
        async with session.begin():
            await apply_catalog(session, "34020000001180000099", cams(1), T0)


async def test_catalog_fills_gaps_but_keeps_curated_facts(session):
    from xueliang.catalog import ChannelRecord, Organization, apply_channel_records

    async with session.begin():
        org = Organization(code="skynet", name="天网", path="/")
        session.add(org)
        await session.flush()
        await apply_channel_records(
            session,
            [
                ChannelRecord(
                    row=2,
                    gb_id="34020000001320000001",
                    name="中山路口",
                    civil_code="340202",
                    organization="skynet",
                    longitude=118.3,
                    latitude=31.3,
                    device_gb_id=NVR,
                )
            ],
        )
        await register_device(session, NVR, address="a", transport="UDP", gb_version="", at=T0)
        await apply_catalog(
            session,
            NVR,
            [
                CatalogEntry(
                    gb_id="34020000001320000001",
                    name="IPCamera 01",
                    civil_code="340200",
                    longitude=0.0,
                    latitude=0.0,
                    address="Gate",
                    status_on=True,
                    manufacturer="Dahua",
                )
            ],
            T0,
        )
    channel = await session.scalar(select(Channel).where(Channel.gb_id == "34020000001320000001"))
    assert (channel.name, channel.civil_code, channel.longitude) == ("中山路口", "340202", 118.3)
    assert channel.organization_id == org.id and channel.address == "Gate" and channel.manufacturer == "Dahua"
    assert channel.status == "online"
    await session.commit()
