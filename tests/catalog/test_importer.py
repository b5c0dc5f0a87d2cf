"""Importing and exporting the resource directory, on SQLite and PostgreSQL."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from xueliang.catalog import (
    Channel,
    Device,
    HeaderError,
    Organization,
    Region,
    TabularError,
    export_channels,
    import_channels,
    import_regions,
)

HEADER = (
    "gb_id,name,civil_code,organization,point_class,source,longitude,latitude,address,"
    "resolution,ptz_type,device_gb_id,stream_url\n"
)
ROWS = [
    "34020200001320000001,中山路口,340202,镜湖公安分局,1,skynet,118.376,31.341,中山路,1080P,1,34020200001180000001,",
    "34020200001320000002,步行街,340202,镜湖公安分局,2,sharp_eyes,118.378,31.343,步行街,720P,3,34020200001180000001,",
    "34020700001320000001,汽车站,340207,市交通运输局,2,department,,,,D1,,,rtsp://admin:s3cret@127.0.0.1:8554/cam1",
]


def write(tmp_path: Path, rows: list[str], name: str = "c.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + "\n".join(rows) + "\n").encode(encoding))
    return path


@pytest.fixture
async def regions(session, tmp_path: Path):
    path = tmp_path / "regions.csv"
    path.write_text(
        "civil_code,name,planned_class1,planned_class2,planned_class3\n"
        "34,安徽省,,,\n3402,芜湖市,10,20,30\n340202,镜湖区,5,10,15\n340207,鸠江区,5,10,15\n",
        encoding="utf-8",
    )
    async with session.begin():
        assert await import_regions(session, path) == (4, 0)


async def run_import(sessions, path: Path, **kw):
    async with sessions() as session, session.begin():
        return await import_channels(session, path, **kw)


async def channel_count(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count(Channel.id)))


async def test_import_then_reimport_changes_nothing(regions, sessions, tmp_path):
    path = write(tmp_path, ROWS)
    first = await run_import(sessions, path)
    assert first.applied and (first.result.created, first.result.updated) == (3, 0)
    assert sorted(first.result.organizations_created) == ["市交通运输局", "镜湖公安分局"]
    assert first.result.devices_created == 1
    again = await run_import(sessions, path)
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 3)
    assert again.result.organizations_created == [] and again.result.devices_created == 0
    async with sessions() as session:
        cam = await session.scalar(select(Channel).where(Channel.gb_id == "34020700001320000001"))
        assert cam.stream_url == "rtsp://127.0.0.1:8554/cam1"
        assert (cam.stream_username, cam.stream_password) == ("admin", "s3cret")
        assert cam.hd is False and cam.longitude is None
        nvr = await session.scalar(select(Device).where(Device.gb_id == "34020200001180000001"))
        assert (nvr.kind, nvr.civil_code) == ("nvr", "340202")


async def test_update_changes_only_what_differs(regions, sessions, tmp_path):
    await run_import(sessions, write(tmp_path, ROWS))
    changed = [ROWS[0].replace("中山路口", "中山路口东"), ROWS[1], ROWS[2]]
    outcome = await run_import(sessions, write(tmp_path, changed))
    assert (outcome.result.updated, outcome.result.unchanged) == (1, 2)
    async with sessions() as session:
        names = (await session.scalars(select(Channel.name).order_by(Channel.gb_id))).all()
    assert names[0] == "中山路口东"


async def test_a_bad_row_writes_nothing(regions, sessions, tmp_path):
    bad = ROWS + ["34020200001320000009,越界,340202,,1,skynet,200,31,,,,,"]
    outcome = await run_import(sessions, write(tmp_path, bad))
    assert not outcome.applied
    assert [str(e) for e in outcome.errors] == ["row 5, column longitude: out of range -180..180: 200.0"]
    assert await channel_count(sessions) == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count(Organization.id))) == 0
        assert await session.scalar(select(func.count(Device.id))) == 0


async def test_skip_invalid_imports_the_good_rows(regions, sessions, tmp_path):
    bad = ROWS + ["34020200001320000009,未知区划,349999,,1,skynet,,,,,,,"]
    outcome = await run_import(sessions, write(tmp_path, bad), skip_invalid=True)
    assert outcome.applied and outcome.result.created == 3 and len(outcome.errors) == 1
    assert await channel_count(sessions) == 3


async def test_bad_import_keeps_what_was_stored(regions, sessions, tmp_path):
    await run_import(sessions, write(tmp_path, ROWS))
    broken = [ROWS[0].replace("中山路口", "改名"), ROWS[1] + ",extra", "garbage"]
    outcome = await run_import(sessions, write(tmp_path, broken))
    assert not outcome.applied and outcome.errors
    async with sessions() as session:
        names = (await session.scalars(select(Channel.name).order_by(Channel.gb_id))).all()
    assert names == ["中山路口", "步行街", "汽车站"]


async def test_dry_run_reports_without_writing(regions, sessions, tmp_path):
    outcome = await run_import(sessions, write(tmp_path, ROWS), dry_run=True)
    assert not outcome.applied and outcome.result.created == 3
    assert await channel_count(sessions) == 0


async def test_gb18030_file_and_duplicates(regions, sessions, tmp_path):
    path = write(tmp_path, ROWS + [ROWS[0]], encoding="gb18030")
    outcome = await run_import(sessions, path)
    assert [str(e) for e in outcome.errors] == ["row 5, column gb_id: duplicate of row 2"]
    assert await channel_count(sessions) == 0


async def test_whole_file_problems(regions, sessions, tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(TabularError, match="empty"):
        await run_import(sessions, empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER)
    with pytest.raises(TabularError, match="no rows"):
        await run_import(sessions, header_only)
    wrong = tmp_path / "w.csv"
    wrong.write_text("id,title\n1,2\n")
    with pytest.raises(HeaderError, match="missing required columns"):
        await run_import(sessions, wrong)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_export_round_trips(regions, sessions, tmp_path, suffix):
    await run_import(sessions, write(tmp_path, ROWS))
    out = tmp_path / f"export{suffix}"
    async with sessions() as session:
        assert await export_channels(session, out) == 3
    if suffix == ".csv":
        assert b"s3cret" not in out.read_bytes() and b"admin" not in out.read_bytes()
    again = await run_import(sessions, out)
    assert again.errors == []
    assert (again.result.created, again.result.updated, again.result.unchanged) == (0, 0, 3)
    async with sessions() as session:  # credentials survive an import that does not carry them
        cam = await session.scalar(select(Channel).where(Channel.gb_id == "34020700001320000001"))
        assert cam.stream_password == "s3cret"


async def test_regions_need_their_parents(session, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("civil_code,name\n340202,镜湖区\n")
    with pytest.raises(ValueError, match="parent region 3402 is unknown"):
        async with session.begin():
            await import_regions(session, path)
    assert await session.scalar(select(func.count()).select_from(Region)) == 0


async def test_region_rows_are_checked(session, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("civil_code,name,planned_class1\n34,安徽,x\n999,bad,1\n")
    with pytest.raises(ValueError) as info:
        async with session.begin():
            await import_regions(session, path)
    assert "row 2, column planned_class1" in str(info.value)
    assert "row 3, column civil_code" in str(info.value)
