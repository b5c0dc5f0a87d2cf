"""Share rules: which channels an upper platform sees, and by which IDs."""

import pytest

from xueliang.cascade import ChannelFacts, SharePolicy, ShareRule

A = ChannelFacts("34022300001320000001", "340223", ("police", "skynet"), 1)
B = ChannelFacts("34020200001320000002", "340202", ("transport",), 3)
C = ChannelFacts("34022300001320000003", "340223", (), 3)


def test_every_field_a_rule_gives_must_match():
    rule = ShareRule(region="340223", point_class=1)
    assert rule.matches(A) and not rule.matches(C) and not rule.matches(B)
    assert ShareRule(region="34").matches(B)
    assert ShareRule(organization="police").matches(A)  # a parent organisation covers its subtree
    assert not ShareRule(organization="skynet").matches(B)


def test_any_rule_or_the_explicit_list_shares():
    policy = SharePolicy(rules=(ShareRule(organization="transport"),), channels=frozenset({C.gb_id}))
    assert [f.gb_id for f in (A, B, C) if policy.shares(f)] == [B.gb_id, C.gb_id]
    assert not SharePolicy().shares(A)  # nothing unless chosen


def test_upper_ids_and_collisions():
    mapped = "34000000001320000001"
    policy = SharePolicy(channels=frozenset({A.gb_id, C.gb_id}), id_map={A.gb_id: mapped})
    assert policy.upper_id(A.gb_id) == mapped and policy.upper_id(C.gb_id) == C.gb_id
    assert policy.select([A, B, C]) == ({mapped: A.gb_id, C.gb_id: C.gb_id}, 0)
    # a mapped ID equal to another shared channel's own ID: the mapped channel keeps it
    clash = SharePolicy(channels=frozenset({A.gb_id, C.gb_id}), id_map={A.gb_id: C.gb_id})
    assert clash.select([C, A]) == ({C.gb_id: A.gb_id}, 1)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"region": "34x"}, {"region": "340223001"}, {"point_class": 0}, {"organization": " "}],
)
def test_bad_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        ShareRule(**kwargs)


def test_bad_id_maps_are_refused():
    with pytest.raises(ValueError, match="same upper ID"):
        SharePolicy(id_map={A.gb_id: "34000000001320000001", C.gb_id: "34000000001320000001"})
    with pytest.raises(ValueError, match="20 digits"):
        SharePolicy(id_map={A.gb_id: "123"})
