"""The simulated fleet's plan (pure, seeded): device and channel IDs, names, places.

Nothing per device is stored: everything is a function of (seed, device index), so a
100,000-device fleet costs no memory until a Catalog query asks for one device's channels.

IDs follow :func:`xueliang.demo.city.city_channels` exactly: device ``i`` lives in
``DISTRICTS[i % 8]`` (or the one district asked for) with ID ``{civil code}0000118{i+1:07d}``
(type 118, an NVR) and its channels are ``{civil code}0000132{i*M+k+1:07d}`` (type 132, an
IPC), so a fleet of N devices × M channels has the same IDs as a city seeded with
``city_channels(N*M, per_device=M)``. Names, coordinates and the rest are drawn from the
device's own seeded stream.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from xueliang.demo.city import DISTRICTS, PLACES, ROADS, District
from xueliang.gb28181.manscdp import CatalogItem

__all__ = ["DevicePlan", "FleetPlan", "unit"]

_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit(seed: int, index: int, salt: int = 0) -> float:
    """A uniform number in [0, 1) that depends only on its arguments (splitmix64).

    Cheap and stateless: a device needs no ``random.Random`` of its own (≈ 2.5 KB each).
    """
    x = _splitmix64((seed & _MASK) ^ _splitmix64((index << 16) ^ (salt & 0xFFFF)))
    return (x >> 11) / float(1 << 53)


# (manufacturer, NVR model, camera models, firmware)
_VENDORS = (
    ("Hikvision", "DS-7932N-R4", ("DS-2CD3T47EWD", "DS-2DE4425IW"), "V4.62.210"),
    ("Dahua", "DH-NVR5432-4KS2", ("DH-IPC-HFW2433M", "DH-SD49425XB"), "V4.001.0000000.3"),
    ("Uniview", "NVR304-32E", ("IPC2124LR3", "IPC6424SR"), "B3220.16.10"),
    ("Tiandy", "TC-R3220", ("TC-C34WS", "TC-H332N"), "V3.8.0"),
)
_VENDOR_WEIGHTS = (45, 35, 12, 8)
_SITES = ("派出所", "街道办", "社区服务中心", "交警中队", "客运站", "景区管理处", "中学", "城管中队")


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """One device's fixed facts."""

    index: int
    device_id: str
    district: District
    name: str
    manufacturer: str
    model: str
    firmware: str
    channels: int


class FleetPlan:
    """The plan of a whole fleet: ``devices`` NVRs from ``first_index`` on, ``channels`` each."""

    def __init__(
        self,
        devices: int,
        channels: int,
        *,
        seed: int = 7,
        civil_code: str | None = None,
        first_index: int = 0,
    ) -> None:
        if civil_code is not None:
            districts = tuple(d for d in DISTRICTS if d.civil_code == civil_code)
            if not districts:
                known = ", ".join(f"{d.civil_code} {d.name}" for d in DISTRICTS)
                raise ValueError(f"unknown civil code {civil_code!r} (known: {known})")
            self.districts = districts
        else:
            self.districts = DISTRICTS
        self.devices = devices
        self.channels = channels
        self.seed = seed
        self.first_index = first_index
        self._by_code = {d.civil_code: d for d in DISTRICTS}

    # IDs -------------------------------------------------------------------------------

    def district_of(self, index: int) -> District:
        return self.districts[index % len(self.districts)]

    def device_id(self, index: int) -> str:
        return f"{self.district_of(index).civil_code}0000118{index + 1:07d}"

    def channel_id(self, index: int, slot: int) -> str:
        return f"{self.district_of(index).civil_code}0000132{index * self.channels + slot + 1:07d}"

    def indices(self) -> range:
        return range(self.first_index, self.first_index + self.devices)

    def index_of(self, gb_id: str) -> int | None:
        """The device index an ID of this fleet belongs to (device or channel), else None."""
        if len(gb_id) != 20 or not gb_id.isdigit() or gb_id[6:10] != "0000":
            return None
        serial = int(gb_id[13:])
        if gb_id[10:13] == "118":
            index = serial - 1
        elif gb_id[10:13] == "132" and self.channels:
            index = (serial - 1) // self.channels
        else:
            return None
        if index not in self.indices() or self.district_of(index).civil_code != gb_id[:6]:
            return None
        return index

    # facts ------------------------------------------------------------------------------

    def device(self, index: int) -> DevicePlan:
        rng = random.Random(self.seed * 1_000_003 + index)
        district = self.district_of(index)
        manufacturer, model, _, firmware = rng.choices(_VENDORS, weights=_VENDOR_WEIGHTS)[0]
        name = f"{district.name}{rng.choice(ROADS)}{rng.choice(_SITES)}NVR{index + 1:05d}"
        return DevicePlan(
            index, self.device_id(index), district, name, manufacturer, model, firmware, self.channels
        )

    def catalog(self, index: int) -> list[CatalogItem]:
        """The device's channels as catalog items (A.2.1.9), generated afresh each time.

        About 1 % have no coordinates and 0.5 % have (0, 0), as real directories do.
        """
        device = self.device(index)
        rng = random.Random(self.seed * 1_000_003 + index + 0x5EED)
        vendor = next(v for v in _VENDORS if v[0] == device.manufacturer)
        district = device.district
        items = []
        for slot in range(self.channels):
            roll = rng.random()
            if roll < 0.01:
                lon = lat = None
            elif roll < 0.015:
                lon = lat = 0.0
            else:
                lon = round(district.longitude + rng.gauss(0, 0.05), 6)
                lat = round(district.latitude + rng.gauss(0, 0.04), 6)
            road, place = rng.choice(ROADS), rng.choice(PLACES)
            ptz = rng.choices((1, 3), weights=(25, 75))[0]
            items.append(
                CatalogItem(
                    device_id=self.channel_id(index, slot),
                    name=f"{district.name}{road}{place}{slot + 1}",
                    manufacturer=device.manufacturer,
                    model=vendor[2][0] if ptz == 3 else vendor[2][1],
                    owner="Owner",
                    civil_code=district.civil_code,
                    address=f"{district.name}{road}{rng.randint(1, 999)}号",
                    parental=0,
                    parent_id=device.device_id,
                    safety_way=0,
                    register_way=1,
                    secrecy=0,
                    status="ON",
                    longitude=lon,
                    latitude=lat,
                    ptz_type=ptz,
                )
            )
        return items
