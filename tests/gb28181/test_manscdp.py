"""MANSCDP bodies: charsets, typed commands, serialisation, catalog split."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from xueliang.gb28181 import (
    CatalogItem,
    CatalogNotify,
    CatalogQuery,
    CatalogResponse,
    CharsetError,
    DeviceControl,
    DeviceControlResponse,
    DeviceInfoQuery,
    DeviceInfoResponse,
    DeviceStatusQuery,
    DeviceStatusResponse,
    Keepalive,
    ManscdpError,
    PtzCommand,
    RecordInfoQuery,
    UnknownCommandError,
    decode_body,
    encode_manscdp,
    parse_manscdp,
    parse_message,
    split_catalog,
)
from xueliang.gb28181.manscdp import PARSERS

DATA = Path(__file__).parent / "data"
NAMES = ["芜湖中山路", "镜湖区政府", "鸠江大桥东"]


def test_gb2312_catalog() -> None:
    raw = (DATA / "catalog_gb2312.xml").read_bytes()
    msg = parse_manscdp(raw)
    assert msg.raw == raw and msg.encoding == "gb18030" and msg.declared_encoding == "gb2312"
    cat = msg.command
    assert isinstance(cat, CatalogResponse)
    assert (cat.sn, cat.device_id, cat.sum_num, cat.num) == (17430, "34020000001110000001", 3, 3)
    assert [i.name for i in cat.items] == NAMES
    first = cat.items[0]
    assert first.device_id == "34020000001320000001" and first.manufacturer == "Hikvision"
    assert first.status == "ON" and cat.items[1].status == "OFF"
    assert first.longitude == pytest.approx(118.39) and first.latitude == pytest.approx(31.34)
    assert first.ptz_type == 2 and first.parental == 0 and first.register_way == 1
    assert first.owner == "Owner" and first.address == "芜湖中山路路口"
    assert first.parent_ids == ("34020000001110000001",)


def test_declared_gb2312_sent_utf8() -> None:
    raw = (DATA / "catalog_declared_gb2312_sent_utf8.xml").read_bytes()
    decoded = decode_body(raw)
    assert decoded.encoding == "utf-8" and decoded.declared == "gb2312" and decoded.mismatch
    cat = parse_manscdp(raw).command
    assert isinstance(cat, CatalogResponse) and [i.name for i in cat.items] == NAMES


def test_declared_utf8_sent_gbk() -> None:
    raw = (DATA / "catalog_declared_utf8_sent_gbk.xml").read_bytes()
    msg = parse_manscdp(raw)
    assert msg.encoding == "gb18030" and msg.declared_encoding == "utf-8"
    assert decode_body(raw).mismatch
    assert isinstance(msg.command, CatalogResponse)
    assert [i.name for i in msg.command.items] == ["镕基广场", "喆园小区"]


def test_catalog_split_in_three_parts_from_files() -> None:
    parts = [parse_manscdp((DATA / f"catalog_split_{n}of3.xml").read_bytes()).command
             for n in (1, 2, 3)]  # fmt: skip
    assert all(isinstance(p, CatalogResponse) for p in parts)
    assert {p.sn for p in parts} == {17430} and {p.sum_num for p in parts} == {7}  # type: ignore[union-attr]
    items = [i for p in parts for i in p.items]  # type: ignore[union-attr]
    assert len(items) == 7 and len({i.device_id for i in items}) == 7
    assert [p.num for p in parts] == [3, 3, 1]  # type: ignore[union-attr]


def test_keepalive_in_a_message() -> None:
    request = parse_message((DATA / "hikvision_keepalive.sip").read_bytes())
    assert request.content_type == "application/manscdp+xml"
    ka = parse_manscdp(request.body).command
    assert ka == Keepalive(88, "34020000001320000001", "OK", ("34020000001320000011",))


def test_decode_rules() -> None:
    assert decode_body(b"<a/>").encoding == "ascii"
    assert decode_body("<a>前</a>".encode()).encoding == "utf-8"
    assert decode_body("<a>前</a>".encode("gb2312")).encoding == "gb18030"  # C7 B0: valid UTF-8
    assert decode_body("<a>前门</a>".encode("gb2312")).text == "<a>前门</a>"
    declared_gb = '<?xml version="1.0" encoding="GB2312"?><a>雪亮工程</a>'
    decoded = decode_body(declared_gb.encode())
    assert decoded.encoding == "utf-8" and decoded.mismatch and decoded.text == declared_gb
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><a>\xe9</a>'
    assert decode_body(latin).text.endswith("<a>é</a>")
    bad = b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xff\xff</a>'
    with pytest.raises(CharsetError) as info:
        decode_body(bad)
    assert info.value.raw == bad


@pytest.mark.parametrize(
    "raw",
    [
        b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN>",  # truncated
        b"<Notify><SN>1</SN></Notify>",  # no CmdType
        b"<Notify><CmdType>Keepalive</CmdType><SN>x</SN><DeviceID>1</DeviceID></Notify>",
        b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN></Notify>",  # no DeviceID
        b'<!DOCTYPE x [<!ENTITY a "b">]><Notify><CmdType>Keepalive</CmdType></Notify>',
        b"<Response><CmdType>Catalog</CmdType><SN>1</SN><DeviceID>1</DeviceID>"
        b"<SumNum>many</SumNum></Response>",
        b"<Control><CmdType>DeviceControl</CmdType><SN>1</SN><DeviceID>1</DeviceID>"
        b"<PTZCmd>A50F01021F0000D7</PTZCmd></Control>",
        "<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>前&</DeviceID></Notify>".encode(
            "gb18030"),
    ],
)
def test_bad_bodies_raise_with_raw(raw: bytes) -> None:
    with pytest.raises(ManscdpError) as info:
        parse_manscdp(raw)
    assert info.value.raw == raw and info.value.status == 400


def test_unknown_command_is_typed() -> None:
    raw = b"<Notify><CmdType>Alarm</CmdType><SN>1</SN><DeviceID>1</DeviceID></Notify>"
    with pytest.raises(UnknownCommandError) as info:
        parse_manscdp(raw)
    assert (info.value.root, info.value.cmd_type, info.value.raw) == ("Notify", "Alarm", raw)


def test_lenient_reading() -> None:
    raw = ("\ufeff<?xml version='1.0' encoding='gb2312'?>\r\n<response><cmdtype>catalog</cmdtype>"
           "<SN>5</SN><DeviceId>34020000001110000001</DeviceId><SumNum>1</SumNum>"
           "<DeviceList Num='1'><Item><DeviceID>34020000001320000001</DeviceID>"
           "<Status>OFFLINE</Status><Longitude></Longitude><Latitude>north</Latitude>"
           "<PTZType>3</PTZType><Port>x</Port><Vendor>ACME</Vendor>"
           "<Info><Resolution>6/4</Resolution><PTZType>abc</PTZType></Info></Item></DeviceList>"
           "<Extension>kept</Extension></response>\x00\x00").encode("utf-8")  # fmt: skip
    cat = parse_manscdp(raw).command
    assert isinstance(cat, CatalogResponse) and cat.extra == {"Extension": "kept"}
    item = cat.items[0]
    assert item.status == "OFF" and item.longitude is None and item.latitude is None
    assert item.port is None and item.extra == {"Latitude": "north", "Port": "x", "Vendor": "ACME"}
    assert item.ptz_type is None and item.info == {"Resolution": "6/4", "PTZType": "abc"}


def _item(i: int, name: str = "前门") -> CatalogItem:
    return CatalogItem(
        device_id=f"340200000013200{i:05d}", name=f"{name}{i}", manufacturer="Dahua",
        civil_code="340202", parental=0, parent_id="34020000002160000001",
        status="ON" if i % 2 else "OFF", longitude=118.0 + i / 1000, latitude=31.0,
        ptz_type=1, business_group_id="34020000002150000001", owner="0", safety_way=0,
        register_way=1, cert_num="c", certifiable=0, err_code=400, end_time="2030-01-01T00:00:00",
        secrecy=0, ip_address="10.0.0.1", port=5060, password="p", block="b", address="a",
        model="m", info={"Resolution": "6"}, extra={"X": "y"},
    )  # fmt: skip


COMMANDS = [
    Keepalive(1, "34020000001320000001"),
    Keepalive(2, "34020000001320000001", "OK", ("34020000001320000002", "34020000001320000003")),
    CatalogResponse(3, "34020000001110000001", 2, (_item(1), _item(2)), 2),
    CatalogResponse(4, "34020000001110000001", 0),
    CatalogNotify(5, "34020000001110000001", 1,
                  (CatalogItem("34020000001320000001", event="DEL"),), 1),  # fmt: skip
    DeviceInfoResponse(6, "34020000001320000001", "Cam", "OK", "Hikvision", "DS-2CD", "V5.5", 1),
    DeviceStatusResponse(7, "34020000001320000001", "OK", "ONLINE", "OK", "ON", "OFF",
                         "2024-05-01T12:00:00", (("34020000001340000001", "OFFDUTY"),)),  # fmt: skip
    CatalogQuery(8, "34020000001320000001"),
    CatalogQuery(9, "34020000001320000001", "2024-01-01T00:00:00", "2024-01-02T00:00:00"),
    DeviceInfoQuery(10, "34020000001320000001"),
    DeviceStatusQuery(11, "34020000001320000001"),
    RecordInfoQuery(12, "34020000001320000001", "2024-01-01T00:00:00", "2024-01-01T01:00:00"),
    DeviceControl(13, "34020000001320000001", PtzCommand.from_hex("A50F01021F0000D6")),
    DeviceControl(14, "34020000001320000001", None, {"TeleBoot": "Boot"}),
    DeviceControlResponse(15, "34020000001320000001", "ERROR"),
]


@pytest.mark.parametrize("encoding", ["GB2312", "GB18030", "UTF-8"])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_round_trip(command: object, encoding: str) -> None:
    raw = encode_manscdp(command, encoding)  # type: ignore[arg-type]
    assert raw.startswith(f'<?xml version="1.0" encoding="{encoding}"?>'.encode())
    msg = parse_manscdp(raw)
    assert msg.command == command


def test_every_command_is_in_the_dispatch_table() -> None:
    assert {(type(c).ROOT.lower(), type(c).CMD_TYPE.lower()) for c in COMMANDS} == set(PARSERS)


def test_escaping_and_characters_outside_gb2312() -> None:
    item = CatalogItem("34020000001320000001", name='<b>&"镕"</b>')
    raw = encode_manscdp(CatalogResponse(1, "34020000001110000001", 1, (item,)), "GB2312")
    assert b"&lt;b&gt;&amp;" in raw and b"&#38229;" in raw  # 镕 as a character reference
    parsed = parse_manscdp(raw).command
    assert isinstance(parsed, CatalogResponse) and parsed.items[0].name == '<b>&"镕"</b>'
    with pytest.raises(ManscdpError):
        encode_manscdp(CatalogResponse(1, "34020000001110000001", 1,
                                       (CatalogItem("1", name="bell\x07"),)))  # fmt: skip


def test_validation_on_construction() -> None:
    with pytest.raises(ManscdpError):
        CatalogItem("")
    with pytest.raises(ManscdpError):
        CatalogItem("1", event="EXPLODE")
    with pytest.raises(ManscdpError):
        Keepalive(-1, "1")
    with pytest.raises(ManscdpError):
        RecordInfoQuery(1, "1", "", "")


def test_split_catalog() -> None:
    items = [_item(i) for i in range(25)]
    parts = split_catalog(99, "34020000001110000001", items, max_items=10)
    assert [len(p.items) for p in parts] == [10, 10, 5]
    assert {p.sum_num for p in parts} == {25} and {p.sn for p in parts} == {99}
    assert [p.num for p in parts] == [10, 10, 5]
    assert [i for p in parts for i in p.items] == items
    for part in parts:
        again = parse_manscdp(encode_manscdp(part)).command
        assert isinstance(again, CatalogResponse) and again.num == len(part.items)
    empty = split_catalog(1, "34020000001110000001", [])
    assert len(empty) == 1 and empty[0].sum_num == 0
    assert b"DeviceList" not in encode_manscdp(empty[0])
    assert len(split_catalog(1, "x", items)) == 1
    with pytest.raises(ValueError):
        split_catalog(1, "x", items, max_items=0)


def test_property_split_sizes() -> None:
    rng = random.Random(3)
    for _ in range(50):
        n, k = rng.randint(0, 60), rng.randint(1, 12)
        parts = split_catalog(1, "x", [CatalogItem(str(i)) for i in range(n)], max_items=k)
        assert all(len(p.items) <= k for p in parts)
        assert sum(len(p.items) for p in parts) == n
        assert len(parts) == max(1, -(-n // k))
