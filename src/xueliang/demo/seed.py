"""Seeding the simulated city into the resource directory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog import ChannelRecord, Organization, RegionRow, apply_channel_records, upsert_regions
from xueliang.demo.city import CITY, DISTRICTS, ORGANIZATIONS, PROVINCE, CityChannel, city_channels

__all__ = ["seed_city"]

_BATCH = 5000


async def seed_city(
    session: AsyncSession,
    channels: int,
    progress: Callable[[int], None] | None = None,
    *,
    extra: Iterable[CityChannel] = (),
) -> int:
    """Regions, organisations, ``channels`` NVR channels and the ``extra`` ones (RTSP cameras),
    upserted, so seeding twice is harmless."""
    per_district = channels // len(DISTRICTS)
    await upsert_regions(
        session,
        [RegionRow(*PROVINCE), RegionRow(*CITY)]
        + [
            RegionRow(
                d.civil_code,
                d.name,
                {1: per_district // 10, 2: per_district * 3 // 10, 3: per_district * 7 // 10},
            )
            for d in DISTRICTS
        ],
    )
    existing = set((await session.scalars(select(Organization.code))).all())
    for code, name, kind, _source in ORGANIZATIONS:
        if code not in existing:
            org = Organization(code=code, name=name, kind=kind.value)
            session.add(org)
            await session.flush()
            org.path = f"/{org.id}/"
    await session.flush()
    batch: list[ChannelRecord] = []
    done = 0
    for row, channel in enumerate(itertools.chain(city_channels(channels), extra), start=1):
        batch.append(
            ChannelRecord(
                row=row,
                gb_id=channel.gb_id,
                name=channel.name,
                civil_code=channel.civil_code,
                organization=channel.organization,
                point_class=channel.point_class,
                source=channel.source,
                longitude=channel.longitude,
                latitude=channel.latitude,
                resolution=channel.resolution,
                hd=int(channel.resolution.split("x")[1]) >= 720,
                ptz_type=channel.ptz_type,
                device_gb_id=channel.device_gb_id or None,
                stream_url=channel.stream_url or None,
            )
        )
        if len(batch) == _BATCH:
            await apply_channel_records(session, batch)
            done += len(batch)
            batch = []
            if progress:
                progress(done)
    if batch:
        await apply_channel_records(session, batch)
        done += len(batch)
        if progress:
            progress(done)
    return done
