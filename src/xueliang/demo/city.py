"""A simulated city (pure, seeded): districts, organisations, devices and channels.

The same plan feeds the demo's seeding, the device simulator and the benchmarks, so every
part of a demo agrees on which camera is where and what is wrong with it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from xueliang.catalog.models import ChannelSource, OrgKind

__all__ = [
    "CITY",
    "DISTRICTS",
    "ORGANIZATIONS",
    "CityChannel",
    "District",
    "city_channels",
    "city_rtsp_cameras",
]


@dataclass(frozen=True, slots=True)
class District:
    civil_code: str
    name: str
    longitude: float
    latitude: float


CITY = ("3402", "芜湖市")
PROVINCE = ("34", "安徽省")
DISTRICTS: tuple[District, ...] = (
    District("340202", "镜湖区", 118.385, 31.340),
    District("340207", "鸠江区", 118.392, 31.369),
    District("340209", "弋江区", 118.373, 31.312),
    District("340210", "湾沚区", 118.573, 31.134),
    District("340212", "繁昌区", 118.198, 31.101),
    District("340223", "南陵县", 118.334, 30.914),
    District("340281", "无为市", 117.902, 31.303),
    District("340271", "经济技术开发区", 118.330, 31.390),
)

# (code, name, kind, source its cameras belong to)
ORGANIZATIONS: tuple[tuple[str, str, OrgKind, ChannelSource], ...] = (
    ("skynet", "市公安局（天网）", OrgKind.PUBLIC_SECURITY, ChannelSource.SKYNET),
    ("sharp_eyes", "农村雪亮工程", OrgKind.PUBLIC_SECURITY, ChannelSource.SHARP_EYES),
    ("transport", "市交通运输局", OrgKind.TRANSPORT, ChannelSource.DEPARTMENT),
    ("tourism", "市文化和旅游局", OrgKind.TOURISM, ChannelSource.DEPARTMENT),
    ("housing", "市住房和城乡建设局", OrgKind.HOUSING, ChannelSource.DEPARTMENT),
    ("urban", "市城市管理局", OrgKind.URBAN_MANAGEMENT, ChannelSource.DEPARTMENT),
    ("education", "市教育局", OrgKind.EDUCATION, ChannelSource.DEPARTMENT),
    ("huiyan", "社区慧眼", OrgKind.COMMUNITY, ChannelSource.HUIYAN),
)
_ORG_WEIGHTS = (30, 25, 10, 4, 5, 8, 6, 12)
PLACES = ("路口", "广场", "学校门口", "菜市场", "公交站", "小区东门", "桥头", "医院", "商业街", "村口")
ROADS = (
    "中山路",
    "北京路",
    "长江路",
    "九华山路",
    "赭山路",
    "银湖路",
    "黄山路",
    "文化路",
    "人民路",
    "滨江路",
)


@dataclass(frozen=True, slots=True)
class CityChannel:
    """One simulated camera with its catalog facts."""

    gb_id: str
    device_gb_id: str
    name: str
    civil_code: str
    organization: str
    point_class: int
    source: str
    longitude: float | None
    latitude: float | None
    resolution: str
    ptz_type: int
    stream_url: str = ""  # RTSP cameras: pulled by URL, no device


#: RTSP cameras take serials from here on, apart from the NVR channels' serials.
RTSP_SERIAL_BASE = 9_000_000


def city_rtsp_cameras(count: int, base_url: str, *, seed: int = 11) -> Iterator[CityChannel]:
    """``count`` stand-alone RTSP cameras (a tourism or education department's own, say)
    spread over the districts, each at ``{base_url}/cam/<its ID>``."""
    rng = random.Random(seed)
    departments = [o for o in ORGANIZATIONS if o[3] is ChannelSource.DEPARTMENT]
    for index in range(count):
        district = DISTRICTS[index % len(DISTRICTS)]
        org_code, _name, _kind, source = rng.choice(departments)
        gb_id = f"{district.civil_code}0000132{RTSP_SERIAL_BASE + index + 1:07d}"
        yield CityChannel(
            gb_id=gb_id,
            device_gb_id="",
            name=f"{district.name}{rng.choice(ROADS)}{rng.choice(PLACES)}(RTSP)",
            civil_code=district.civil_code,
            organization=org_code,
            point_class=3,
            source=source.value,
            longitude=round(district.longitude + rng.gauss(0, 0.04), 6),
            latitude=round(district.latitude + rng.gauss(0, 0.03), 6),
            resolution="1280x720",
            ptz_type=3,
            stream_url=f"{base_url}/cam/{gb_id}",
        )


def city_channels(total: int, *, per_device: int = 8, seed: int = 7) -> Iterator[CityChannel]:
    """``total`` channels over the eight districts, ``per_device`` channels to an NVR.

    About 1 % have no coordinates and 0.5 % have (0, 0), as real directories do.
    """
    rng = random.Random(seed)
    devices = max(1, -(-total // per_device))
    produced = 0
    for device_index in range(devices):
        district = DISTRICTS[device_index % len(DISTRICTS)]
        org_code, _name, _kind, source = rng.choices(ORGANIZATIONS, weights=_ORG_WEIGHTS)[0]
        device_gb_id = f"{district.civil_code}0000118{device_index + 1:07d}"
        for slot in range(per_device):
            if produced == total:
                return
            produced += 1
            serial = produced
            gb_id = f"{district.civil_code}0000132{serial:07d}"
            point_class = rng.choices((1, 2, 3), weights=(10, 30, 60))[0]
            roll = rng.random()
            if roll < 0.01:
                lon = lat = None
            elif roll < 0.015:
                lon = lat = 0.0
            else:
                lon = round(district.longitude + rng.gauss(0, 0.05), 6)
                lat = round(district.latitude + rng.gauss(0, 0.04), 6)
            name = f"{district.name}{rng.choice(ROADS)}{rng.choice(PLACES)}{slot + 1}"
            yield CityChannel(
                gb_id=gb_id,
                device_gb_id=device_gb_id,
                name=name,
                civil_code=district.civil_code,
                organization=org_code,
                point_class=point_class,
                source=source.value,
                longitude=lon,
                latitude=lat,
                resolution=rng.choices(("1920x1080", "1280x720", "704x576"), weights=(70, 22, 8))[0],
                ptz_type=rng.choices((1, 3), weights=(25, 75))[0],
            )
