import pytest

from xueliang.catalog.records import (
    HeaderError,
    check_rows,
    map_header,
    parse_resolution,
    split_stream_credentials,
)

KNOWN = frozenset({"34", "3402", "340202"})
GOOD = {
    "gb_id": "34020200001320000001",
    "name": "中山路口",
    "civil_code": "340202",
    "point_class": "1",
    "source": "skynet",
    "longitude": "118.37",
    "latitude": "31.34",
}


def check(*rows, **kw):
    return check_rows(list(enumerate(rows, start=2)), known_civil_codes=KNOWN, **kw)


def errors(row):
    return [(e.column, e.reason) for e in check(row).errors]


def test_good_row():
    result = check(GOOD)
    assert result.ok and result.rows == 1
    record = result.records[0]
    assert (record.row, record.point_class, record.longitude, record.latitude) == (2, 1, 118.37, 31.34)


def test_chinese_headers_and_sources():
    keys = map_header(["国标编码", "点位名称", "行政区划", "来源", "经度", "纬度", "备注"])
    assert keys == ["gb_id", "name", "civil_code", "source", "longitude", "latitude", None]
    assert check({**GOOD, "source": "慧眼"}).records[0].source == "huiyan"


def test_header_problems():
    with pytest.raises(HeaderError, match="missing required columns: civil_code"):
        map_header(["gb_id", "name"])
    with pytest.raises(HeaderError, match="given twice: gb_id"):
        map_header(["gb_id", "国标编码", "name", "civil_code"])


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        ({"gb_id": "123"}, "gb_id", "20 digits"),
        ({"gb_id": ""}, "gb_id", "required"),
        ({"name": ""}, "name", "required"),
        ({"civil_code": "340299"}, "civil_code", "unknown civil code"),
        ({"civil_code": "34020"}, "civil_code", "2, 4, 6 or 8-digit"),
        ({"point_class": "4"}, "point_class", "1..3"),
        ({"point_class": "1.5"}, "point_class", "whole number"),
        ({"source": "aliens"}, "source", "must be one of"),
        ({"longitude": "181", "latitude": "31"}, "longitude", "out of range"),
        ({"longitude": "118", "latitude": "-91"}, "latitude", "out of range"),
        ({"longitude": "31.34", "latitude": "118.37"}, "latitude", "swapped"),
        ({"longitude": "0", "latitude": "0"}, "longitude", "(0, 0)"),
        ({"longitude": "", "latitude": "31"}, "longitude", "both"),
        ({"longitude": "east"}, "longitude", "not a number"),
        ({"longitude": "nan"}, "longitude", "finite"),
        ({"resolution": "huge"}, "resolution", "not a resolution"),
        ({"ptz_type": "7"}, "ptz_type", "0-4"),
        ({"device_gb_id": "x"}, "device_gb_id", "20 digits"),
        ({"stream_url": "http://cam/1"}, "stream_url", "rtsp://"),
    ],
)
def test_bad_values_name_row_column_and_reason(change, column, reason):
    found = errors({**GOOD, **change})
    assert any(c == column and reason in r for c, r in found), found


def test_every_error_in_a_row_is_reported():
    found = errors({**GOOD, "gb_id": "1", "point_class": "9", "source": "x"})
    assert {c for c, _ in found} == {"gb_id", "point_class", "source"}


def test_duplicate_ids_point_to_the_first_row():
    result = check(GOOD, {**GOOD, "name": "again"})
    assert [str(e) for e in result.errors] == ["row 3, column gb_id: duplicate of row 2"]
    assert len(result.records) == 1


def test_configured_point_classes():
    assert check({**GOOD, "point_class": "5"}, point_classes=5).ok


def test_resolution_and_hd():
    assert parse_resolution("1920×1080") == (1920, 1080)
    assert parse_resolution("720p") == (1280, 720)
    assert parse_resolution("D1") == (704, 576)
    record = check({**GOOD, "resolution": "D1"}).records[0]
    assert record.resolution == "704x576" and record.hd is False
    assert check({**GOOD, "resolution": "1080P"}).records[0].hd is True


def test_stream_credentials_are_split_off():
    assert split_stream_credentials("rtsp://admin:p%40ss@10.0.0.5:554/h264") == (
        "rtsp://10.0.0.5:554/h264",
        "admin",
        "p@ss",
    )
    assert split_stream_credentials("rtsp://cam/1") == ("rtsp://cam/1", None, None)
    record = check({**GOOD, "stream_url": "rtsp://u:pw@127.0.0.1/s"}).records[0]
    assert (record.stream_url, record.stream_username, record.stream_password) == (
        "rtsp://127.0.0.1/s",
        "u",
        "pw",
    )
