"""The catalog presented upward: the tree of nodes, parts, and change notifications."""

from xueliang.cascade import (
    OrgNode,
    SharedChannel,
    business_group_id,
    catalog_changes,
    catalog_items,
    catalog_parts,
    notify_parts,
    virtual_org_id,
)
from xueliang.gb28181 import CatalogItem, encode_manscdp, parse_manscdp

PLATFORM = "34020000002000000001"
ORGS = {
    "police": OrgNode("police", "市公安局", 3),
    "skynet": OrgNode("skynet", "天网", 7, parent="police"),
    "tourism": OrgNode("tourism", "文旅局", 9),
}


def channel(n: int, civil="340223", org=None, online=True, **kw) -> SharedChannel:
    return SharedChannel(f"{civil}0000132{n:07d}", f"路口{n}", civil, online, org, **kw)


def test_nodes_then_channels_with_parents():
    items = catalog_items(
        [channel(2, org="skynet"), channel(1), channel(3, civil="340202")],
        platform_id=PLATFORM,
        regions={"34": "安徽省", "3402": "芜湖市"},
        organizations=ORGS,
    )
    ids = [i.device_id for i in items]
    group = business_group_id(PLATFORM)
    police, skynet = virtual_org_id(PLATFORM, 3), virtual_org_id(PLATFORM, 7)
    assert group == "34020000002150000001" and skynet == "34020000002160000007"
    assert ids[:4] == ["34", "3402", "340202", "340223"]  # every level, from the top
    assert ids[4:7] == [group, police, skynet]  # organisations in use, parents first
    assert ids[7:] == ["34020200001320000003", "34022300001320000001", "34022300001320000002"]
    by_id = {i.device_id: i for i in items}
    assert by_id["34"].name == "安徽省" and by_id["340223"].name == "340223"  # unnamed: its code
    assert by_id[police].parent_id == group and by_id[skynet].parent_id == police
    assert by_id[skynet].business_group_id == group
    with_org = by_id["34022300001320000002"]
    assert (with_org.parent_id, with_org.business_group_id, with_org.civil_code) == (skynet, group, "340223")
    plain = by_id["34022300001320000001"]
    assert (plain.parent_id, plain.business_group_id, plain.status) == ("340223", None, "ON")
    assert virtual_org_id(PLATFORM, 9) not in by_id  # an organisation nobody shares from stays out


def test_no_group_without_organisations_and_offline_channels_say_off():
    items = catalog_items([channel(1, online=False)], platform_id=PLATFORM)
    assert [i.device_id for i in items] == ["34", "3402", "340223", "34022300001320000001"]
    assert items[-1].status == "OFF"


def test_an_organisation_loop_does_not_hang():
    looped = {"a": OrgNode("a", "A", 1, parent="b"), "b": OrgNode("b", "B", 2, parent="a")}
    items = catalog_items([channel(1, org="a")], platform_id=PLATFORM, organizations=looped)
    assert {virtual_org_id(PLATFORM, 1), virtual_org_id(PLATFORM, 2)} <= {i.device_id for i in items}


def test_parts_round_trip_with_sum_num():
    items = catalog_items([channel(n) for n in range(1, 21)], platform_id=PLATFORM)
    udp = catalog_parts(7, PLATFORM, items, "UDP")
    tcp = catalog_parts(7, PLATFORM, items, "TCP")
    assert len(tcp) == 1 and len(udp) == 3  # 23 items, 8 a part over UDP
    for part in udp:
        parsed = parse_manscdp(encode_manscdp(part)).command
        assert (parsed.sn, parsed.sum_num, parsed.num) == (7, 23, len(part.items))
    assert [i for p in udp for i in p.items] == items
    empty = catalog_parts(8, PLATFORM, [], "UDP")
    assert len(empty) == 1 and empty[0].sum_num == 0 and not empty[0].items


def test_changes_name_each_event():
    one, two, three = channel(1), channel(2), channel(3)
    before = catalog_items([one, two, three], platform_id=PLATFORM)
    after = catalog_items(
        [
            SharedChannel(one.upper_id, one.name, one.civil_code, False),
            channel(2, address="新地址"),
            channel(4),
        ],
        platform_id=PLATFORM,
    )
    events = {i.device_id: i.event for i in catalog_changes(before, after)}
    assert events == {
        one.upper_id: "OFF",
        two.upper_id: "UPDATE",
        channel(4).upper_id: "ADD",
        three.upper_id: "DEL",
    }
    assert catalog_changes(after, after) == []
    gone = catalog_changes(before, [])
    assert [i.event for i in gone] == ["DEL"] * 6
    assert [i.device_id for i in gone][:3] == [one.upper_id, two.upper_id, three.upper_id]  # channels first
    parts = notify_parts(5, PLATFORM, gone, "UDP")
    assert [p.sum_num for p in parts] == [6] and parse_manscdp(encode_manscdp(parts[0])).command.items[
        0
    ].event == "DEL"
    assert notify_parts(5, PLATFORM, [], "UDP") == []


def test_status_only_change_carries_the_status():
    item = CatalogItem(device_id="34022300001320000001", name="x", status="OFF")
    [change] = catalog_changes([item], [CatalogItem(device_id=item.device_id, name="x", status="ON")])
    assert (change.event, change.status) == ("ON", "ON")
