"""What one upper platform sees of a directory snapshot, and reuse from one look to the next."""

from xueliang.cascade import SharePolicy, ShareRule, catalog_changes, share
from xueliang.cascade.store import snapshot_of

ORGS = [(1, "police", "市公安局", None, "/1/"), (2, "skynet", "天网", 1, "/1/2/")]
REGIONS = [("34", "安徽省"), ("3402", "芜湖市")]


def row(n: int, *, org: int | None = None, status: str = "online", point_class: int = 3) -> tuple:
    gb = f"3402230000132{n:07d}"
    return (
        gb,
        f"路口{n}",
        "340223",
        org,
        point_class,
        status,
        "34022300001180000001",
        "",
        "",
        "",
        None,
        None,
        None,
    )


def test_share_by_organisation_subtree_and_list():
    snapshot = snapshot_of(ORGS, REGIONS, [row(1, org=2), row(2), row(3, point_class=1)])
    assert snapshot.channels[row(1)[0]].facts.organizations == ("police", "skynet")
    policy = SharePolicy(rules=(ShareRule(organization="police"),), channels=frozenset({row(3)[0]}))
    view = share(snapshot, policy, platform_id="34020000002000000001")
    assert sorted(view.channels) == [row(1)[0], row(3)[0]] and view.hidden == 0
    names = {i.device_id: i.name for i in view.items}
    assert names["34"] == "安徽省" and names["34020000002160000002"] == "天网"
    assert view.channels[row(1)[0]].device_id == "34022300001180000001"


def test_an_unchanged_directory_reuses_its_items_and_a_change_is_one_event():
    policy = SharePolicy(rules=(ShareRule(region="3402"),))
    first = snapshot_of(ORGS, REGIONS, [row(n) for n in range(1, 50)])
    before = share(first, policy, platform_id="34020000002000000001")
    second = snapshot_of(
        ORGS, REGIONS, [row(n, status="offline" if n == 7 else "online") for n in range(1, 50)], first
    )
    after = share(second, policy, platform_id="34020000002000000001", previous=before)
    assert second.channels[row(1)[0]] is first.channels[row(1)[0]]  # same row, same object
    assert after.made[row(1)[0]][2] is before.made[row(1)[0]][2]  # same item, not rebuilt
    assert after.made[row(7)[0]][2] is not before.made[row(7)[0]][2]
    assert [(c.device_id, c.event) for c in catalog_changes(before.items, after.items)] == [
        (row(7)[0], "OFF")
    ]
    renamed = snapshot_of([(1, "police", "公安局", None, "/1/"), *ORGS[1:]], REGIONS, [row(1)], second)
    assert renamed.channels[row(1)[0]] is not second.channels[row(1)[0]]  # organisations changed: rebuilt
