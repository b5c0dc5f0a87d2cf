"""A small directory whose every figure is computed by hand in the tests' docstrings.

T0 = 2026-11-02 00:00 UTC, the period P = [T0, T0 + 10 h).

| channel | region | org | class | source | coordinates | hd | status | created |
|---|---|---|---|---|---|---|---|---|
| c1 | 340202 | police/sub | 1 | skynet | valid | True | online | T0 - 1 d |
| c2 | 340202 | police | 2 | sharp_eyes | (0, 0) | False | offline | T0 - 1 d |
| c3 | 340203 | transport | 1 | department | swapped | None | online | T0 - 1 d |
| c4 | 340203 | — | 3 | huiyan | none | True | offline | T0 + 6 h |

online: c1 online −1d→2h, offline 2h→3h, online 3h→open; c2 offline −1d→open; c3 online 5h→open.
integrity: c1 intact 0→4h, blur 4h→open; c2 intact 8h→open.
output: c1 ok −1d→open; c3 fail 0→5h, ok 5h→open.
Plans: 340202 {1: 2, 2: 2}, 340203 {1: 1}.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert
from tests.support.auth import log_in_as_admin

from xueliang.catalog import Availability, Channel, Organization, RegionRow, upsert_regions
from xueliang.config import Settings

T0 = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass
class City:
    ids: dict[str, int]
    orgs: dict[str, int]


async def build_city(session) -> City:
    await upsert_regions(
        session,
        [
            RegionRow("34", "安徽省"),
            RegionRow("3402", "芜湖市"),
            RegionRow("340202", "镜湖区", {1: 2, 2: 2}),
            RegionRow("340203", "弋江区", {1: 1}),
        ],
    )
    police = Organization(code="police", name="公安局", kind="public_security")
    transport = Organization(code="transport", name="交通局", kind="transport")
    session.add_all([police, transport])
    await session.flush()
    police.path, transport.path = f"/{police.id}/", f"/{transport.id}/"
    sub = Organization(code="police-sub", name="分局", kind="public_security", parent_id=police.id)
    session.add(sub)
    await session.flush()
    sub.path = f"/{police.id}/{sub.id}/"
    specs = {
        "c1": ("340202", sub.id, 1, "skynet", (118.38, 31.34), True, "online", T0 - D),
        "c2": ("340202", police.id, 2, "sharp_eyes", (0.0, 0.0), False, "offline", T0 - D),
        "c3": ("340203", transport.id, 1, "department", (31.34, 118.38), None, "online", T0 - D),
        "c4": ("340203", None, 3, "huiyan", (None, None), True, "offline", T0 + 6 * H),
    }
    ids = {}
    for number, (name, spec) in enumerate(specs.items(), start=1):
        civil, org, point_class, source, (lon, lat), hd, status, created = spec
        channel = Channel(
            gb_id=f"{civil}0000132{number:07d}",
            name=name,
            civil_code=civil,
            organization_id=org,
            point_class=point_class,
            source=source,
            longitude=lon,
            latitude=lat,
            hd=hd,
            resolution="" if hd is None else ("1920x1080" if hd else "704x576"),
            status=status,
            created_at=created,
            updated_at=created,
        )
        session.add(channel)
        await session.flush()
        ids[name] = channel.id
    spans = [
        ("c1", "online", "online", T0 - D, T0 + 2 * H),
        ("c1", "online", "offline", T0 + 2 * H, T0 + 3 * H),
        ("c1", "online", "online", T0 + 3 * H, None),
        ("c2", "online", "offline", T0 - D, None),
        ("c3", "online", "online", T0 + 5 * H, None),
        ("c1", "integrity", "intact", T0, T0 + 4 * H),
        ("c1", "integrity", "blur", T0 + 4 * H, None),
        ("c2", "integrity", "intact", T0 + 8 * H, None),
        ("c1", "output", "ok", T0 - D, None),
        ("c3", "output", "fail", T0, T0 + 5 * H),
        ("c3", "output", "ok", T0 + 5 * H, None),
    ]
    await session.execute(
        insert(Availability),
        [
            {"channel_id": ids[c], "kind": kind, "state": state, "since": since, "until": until}
            for c, kind, state, since, until in spans
        ],
    )
    return City(ids=ids, orgs={"police": police.id, "police-sub": sub.id, "transport": transport.id})


@pytest.fixture
async def city(session) -> City:
    async with session.begin():
        built = await build_city(session)
    return built


@pytest.fixture
async def client(engine, sessions, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    from xueliang.api import create_app
    from xueliang.api.context import PlatformContext

    context = PlatformContext(settings=Settings(data_dir=tmp_path), engine=engine, sessions=sessions)
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        await log_in_as_admin(client, sessions)
        yield client
