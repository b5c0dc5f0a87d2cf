import pytest

from xueliang.gbcode import (
    DeviceCategory,
    GbCodeError,
    civil_code_ancestors,
    civil_code_level,
    is_civil_code,
    parse_gb_id,
)


def test_parse_camera_id_fields():
    gb = parse_gb_id("34020000001320000001")
    assert (gb.centre, gb.industry, gb.type_code, gb.network, gb.serial) == (
        "34020000",
        "00",
        "132",
        "0",
        "000001",
    )
    assert gb.province == "34" and gb.city == "3402" and gb.district == "340200"
    assert gb.civil_code == "3402"
    assert gb.type_name == "IPC" and gb.category is DeviceCategory.CHANNEL


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("34020000002000000001", DeviceCategory.PLATFORM),
        ("34020000001180000001", DeviceCategory.DEVICE),
        ("34020000002150000001", DeviceCategory.NODE),
        ("34020000009990000001", DeviceCategory.OTHER),
    ],
)
def test_categories(value, category):
    assert parse_gb_id(value).category is category


def test_civil_code_of_grassroots_centre():
    assert parse_gb_id("34020212001320000001").civil_code == "34020212"
    assert parse_gb_id("34000000001320000001").civil_code == "34"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("3402000000132000001", "20 digits"),
        ("340200000013200000011", "20 digits"),
        ("3402000000132000000A", "only the digits"),
        ("３４020000001320000001", "only the digits"),
        ("00020000001320000001", "province code"),
        ("", "20 digits"),
    ],
)
def test_invalid_ids_say_why(value, reason):
    with pytest.raises(GbCodeError, match=reason):
        parse_gb_id(value)


def test_surrounding_whitespace_is_tolerated():
    assert parse_gb_id(" 34020000001320000001 ").value == "34020000001320000001"


def test_civil_codes():
    assert is_civil_code("34") and is_civil_code("3402") and is_civil_code("34020212")
    assert not is_civil_code("340") and not is_civil_code("3402021201") and not is_civil_code("00")
    assert civil_code_level("340202") == 3
    assert civil_code_ancestors("34020212") == ["34", "3402", "340202"]
    with pytest.raises(GbCodeError):
        civil_code_level("3x")
