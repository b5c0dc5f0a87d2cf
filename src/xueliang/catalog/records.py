"""Channel rows for import and export: column names, parsing and validation (pure).

One :class:`ChannelRecord` per valid row; every problem is a :class:`RowError` carrying the
row number (as the user sees it in the file, header = row 1), the column and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from xueliang.catalog.models import ChannelSource
from xueliang.gbcode import GbCodeError, is_civil_code, parse_gb_id

__all__ = [
    "COLUMNS",
    "ChannelRecord",
    "HeaderError",
    "ImportCheck",
    "RowError",
    "check_rows",
    "map_header",
    "parse_resolution",
    "split_stream_credentials",
]

COLUMNS: tuple[str, ...] = (
    "gb_id",
    "name",
    "civil_code",
    "organization",
    "point_class",
    "source",
    "longitude",
    "latitude",
    "address",
    "resolution",
    "ptz_type",
    "device_gb_id",
    "stream_url",
)
REQUIRED = ("gb_id", "name", "civil_code")

# Chinese headers as operators' spreadsheets spell them.
HEADER_ALIASES: dict[str, str] = {
    "国标编码": "gb_id",
    "国标编号": "gb_id",
    "通道编码": "gb_id",
    "点位编码": "gb_id",
    "编码": "gb_id",
    "名称": "name",
    "通道名称": "name",
    "点位名称": "name",
    "行政区划": "civil_code",
    "行政区划代码": "civil_code",
    "区划编码": "civil_code",
    "所属单位": "organization",
    "组织": "organization",
    "所属组织": "organization",
    "建设单位": "organization",
    "管理单位": "organization",
    "点位类型": "point_class",
    "点位分类": "point_class",
    "点位等级": "point_class",
    "来源": "source",
    "建设来源": "source",
    "经度": "longitude",
    "纬度": "latitude",
    "地址": "address",
    "安装地址": "address",
    "安装位置": "address",
    "分辨率": "resolution",
    "云台类型": "ptz_type",
    "摄像机类型": "ptz_type",
    "设备编码": "device_gb_id",
    "所属设备": "device_gb_id",
    "设备国标编码": "device_gb_id",
    "取流地址": "stream_url",
    "视频流地址": "stream_url",
    "RTSP地址": "stream_url",
}

SOURCE_ALIASES: dict[str, ChannelSource] = {
    "天网": ChannelSource.SKYNET,
    "雪亮": ChannelSource.SHARP_EYES,
    "农村雪亮": ChannelSource.SHARP_EYES,
    "部门": ChannelSource.DEPARTMENT,
    "行业": ChannelSource.DEPARTMENT,
    "社会": ChannelSource.DEPARTMENT,
    "慧眼": ChannelSource.HUIYAN,
    "其他": ChannelSource.OTHER,
}

# Named resolutions seen in catalogs and spreadsheets, as (width, height).
NAMED_RESOLUTIONS: dict[str, tuple[int, int]] = {
    "QCIF": (176, 144),
    "CIF": (352, 288),
    "D1": (704, 576),
    "720P": (1280, 720),
    "960P": (1280, 960),
    "1080P": (1920, 1080),
    "3MP": (2048, 1536),
    "4MP": (2560, 1440),
    "5MP": (2592, 1944),
    "4K": (3840, 2160),
}
_RES_RE = re.compile(r"^\s*(\d{2,5})\s*[x×*]\s*(\d{2,5})\s*$", re.IGNORECASE)

# Mainland China's extent: a swapped pair lands outside it, the right way round inside.
CHINA = (73.0, 3.0, 136.0, 54.0)
HD_MIN_HEIGHT = 720

Fail = Callable[[str, str], None]


class HeaderError(ValueError):
    """The file's header row cannot be used (missing required columns, duplicates)."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """A validated channel row. ``None`` means the column was empty (keep what is stored)."""

    row: int
    gb_id: str
    name: str
    civil_code: str
    organization: str | None = None
    point_class: int | None = None
    source: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    address: str | None = None
    resolution: str | None = None
    hd: bool | None = None
    ptz_type: int | None = None
    device_gb_id: str | None = None
    stream_url: str | None = None
    stream_username: str | None = None
    stream_password: str | None = None


@dataclass(slots=True)
class ImportCheck:
    """The outcome of checking a whole file: good records and every error found."""

    records: list[ChannelRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def map_header(header: Sequence[str]) -> list[str | None]:
    """Map a header row (English or Chinese names) to column keys; unknown columns → None."""
    keys: list[str | None] = []
    for raw in header:
        name = (raw or "").strip().lstrip("\ufeff")
        key = name.lower() if name.lower() in COLUMNS else HEADER_ALIASES.get(name)
        keys.append(key)
    present = [k for k in keys if k]
    duplicated = sorted({k for k in present if present.count(k) > 1})
    if duplicated:
        raise HeaderError(f"columns given twice: {', '.join(duplicated)}")
    missing = [c for c in REQUIRED if c not in present]
    if missing:
        raise HeaderError(f"missing required columns: {', '.join(missing)} (expected: {', '.join(COLUMNS)})")
    return keys


def parse_resolution(text: str) -> tuple[int, int] | None:
    """'1920x1080', '1080P', 'D1' → (width, height); None if not recognised."""
    match = _RES_RE.match(text)
    if match:
        return int(match.group(1)), int(match.group(2))
    return NAMED_RESOLUTIONS.get(text.strip().upper())


def split_stream_credentials(url: str) -> tuple[str, str | None, str | None]:
    """Remove user:password from an RTSP URL so it can be shown; return them separately."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def check_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    known_civil_codes: set[str] | frozenset[str],
    point_classes: int = 3,
) -> ImportCheck:
    """Validate rows ``(row_number, {column: text})``; never raises for bad data."""
    result = ImportCheck()
    first_row: dict[str, int] = {}
    for number, values in rows:
        result.rows += 1
        errors: list[RowError] = []
        record = _check_row(number, values, known_civil_codes, point_classes, errors)
        if record is not None and not errors:
            if record.gb_id in first_row:
                errors.append(RowError(number, "gb_id", f"duplicate of row {first_row[record.gb_id]}"))
            else:
                first_row[record.gb_id] = number
        if errors:
            result.errors.extend(errors)
        elif record is not None:
            result.records.append(record)
    return result


def _check_row(
    row: int,
    values: Mapping[str, str],
    known_civil_codes: set[str] | frozenset[str],
    point_classes: int,
    errors: list[RowError],
) -> ChannelRecord | None:
    def text(column: str) -> str | None:
        value = (values.get(column) or "").strip()
        return value or None

    def fail(column: str, reason: str) -> None:
        errors.append(RowError(row, column, reason))

    gb_id = text("gb_id")
    if gb_id is None:
        fail("gb_id", "required")
    else:
        try:
            parse_gb_id(gb_id)
        except GbCodeError as exc:
            fail("gb_id", str(exc))
    name = text("name")
    if name is None:
        fail("name", "required")
    elif len(name) > 200:
        fail("name", "longer than 200 characters")
    civil_code = text("civil_code")
    if civil_code is None:
        fail("civil_code", "required")
    elif not is_civil_code(civil_code):
        fail("civil_code", f"not a 2, 4, 6 or 8-digit civil code: {civil_code!r}")
    elif civil_code not in known_civil_codes:
        fail("civil_code", f"unknown civil code {civil_code} (import or create the region first)")

    point_class = _int(text("point_class"), "point_class", fail)
    if point_class is not None and not 1 <= point_class <= point_classes:
        fail("point_class", f"must be 1..{point_classes}, got {point_class}")
    source = text("source")
    if source is not None:
        resolved = SOURCE_ALIASES.get(source) or _enum_value(source.lower())
        if resolved is None:
            fail("source", f"must be one of {', '.join(s.value for s in ChannelSource)}")
        source = resolved

    longitude = _float(text("longitude"), "longitude", fail)
    latitude = _float(text("latitude"), "latitude", fail)
    _check_coordinates(longitude, latitude, fail)

    resolution = text("resolution")
    hd: bool | None = None
    if resolution is not None:
        size = parse_resolution(resolution)
        if size is None:
            fail("resolution", f"not a resolution (WIDTHxHEIGHT, 720P, 1080P, D1…): {resolution!r}")
        else:
            resolution = f"{size[0]}x{size[1]}"
            hd = size[1] >= HD_MIN_HEIGHT
    ptz_type = _int(text("ptz_type"), "ptz_type", fail)
    if ptz_type is not None and not 0 <= ptz_type <= 4:
        fail("ptz_type", "must be 0-4 (1 dome, 2 half-dome, 3 fixed, 4 remote-controlled fixed)")
    device_gb_id = text("device_gb_id")
    if device_gb_id is not None:
        try:
            parse_gb_id(device_gb_id)
        except GbCodeError as exc:
            fail("device_gb_id", str(exc))
    stream_url = text("stream_url")
    user = password = None
    if stream_url is not None:
        scheme = urlsplit(stream_url).scheme.lower()
        if scheme not in ("rtsp", "rtsps") or not urlsplit(stream_url).hostname:
            fail("stream_url", "must be an rtsp:// URL with a host")
        else:
            stream_url, user, password = split_stream_credentials(stream_url)
    address = text("address")

    if errors or gb_id is None or name is None or civil_code is None:
        return None
    return ChannelRecord(
        row=row,
        gb_id=gb_id,
        name=name,
        civil_code=civil_code,
        organization=text("organization"),
        point_class=point_class,
        source=source,
        longitude=longitude,
        latitude=latitude,
        address=address,
        resolution=resolution,
        hd=hd,
        ptz_type=ptz_type,
        device_gb_id=device_gb_id,
        stream_url=stream_url,
        stream_username=user,
        stream_password=password,
    )


def _enum_value(text: str) -> str | None:
    try:
        return ChannelSource(text).value
    except ValueError:
        return None


def _int(text: str | None, column: str, fail: Fail) -> int | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        fail(column, f"not a number: {text!r}")
        return None
    if not value.is_integer():
        fail(column, f"not a whole number: {text!r}")
        return None
    return int(value)


def _float(text: str | None, column: str, fail: Fail) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        fail(column, f"not a number: {text!r}")
        return None
    if value != value or value in (float("inf"), float("-inf")):
        fail(column, f"not a finite number: {text!r}")
        return None
    return value


def _check_coordinates(lon: float | None, lat: float | None, fail: Fail) -> None:
    """WGS-84 longitude/latitude: both or neither, in range, not (0, 0), not swapped."""
    if lon is None and lat is None:
        return
    if lon is None or lat is None:
        missing = "longitude" if lon is None else "latitude"
        fail(missing, "give both longitude and latitude, or neither")
        return
    min_lon, min_lat, max_lon, max_lat = CHINA
    if min_lon <= lat <= max_lon and min_lat <= lon <= max_lat and not (min_lat <= lat <= max_lat):
        fail("latitude", f"longitude and latitude look swapped ({lon}, {lat})")
        return
    if not -180.0 <= lon <= 180.0:
        fail("longitude", f"out of range -180..180: {lon}")
    if not -90.0 <= lat <= 90.0:
        fail("latitude", f"out of range -90..90: {lat}")
    if lon == 0.0 and lat == 0.0:
        fail("longitude", "(0, 0) is not a camera location; leave both empty when unknown")
