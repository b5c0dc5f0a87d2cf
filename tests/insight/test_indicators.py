"""Indicators from the database equal the hand-computed figures of the small city (conftest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.insight.conftest import T0, H

from xueliang.insight import Period, resolve_scope, summary
from xueliang.insight.indicators import Scope, UnknownScope, breakdown, trend, worst_channels

NOW = T0 + timedelta(days=30)
P = Period(T0, T0 + 10 * H)


async def test_point_in_time_summary(session, city):
    s = await summary(session, Scope(), now=NOW)
    assert s["channels"] == 4
    assert s["online_rate"] == 2 / 4  # c1, c3 have status online
    assert s["integrity_rate"] == 1 / 2  # latest diagnoses: c1 blur, c2 intact
    assert s["output_rate"] == 1.0  # latest checks: c1 ok, c3 ok
    assert s["annotation_rate"] == 1 / 4  # only c1: (0,0), swapped and missing are not valid
    assert s["hd_rate"] == 2 / 3  # c1, c4 HD; c2 SD; c3 unknown
    assert s["coverage_rate"] == 3 / 5  # class 1: 2 of 3 planned, class 2: 1 of 2
    assert s["coverage"]["1"] == {"built": 2, "planned": 3, "rate": 2 / 3}
    assert s["coverage"]["3"] == {"built": 1, "planned": 0, "rate": None}
    assert s["downtime_hours"] is None and s["period"] is None


async def test_time_weighted_summary(session, city):
    """Scope: c1, c2, c3 10 h each, c4 4 h (created at 6 h) = 34 h; online: c1 9 h + c3 5 h."""
    s = await summary(session, Scope(), period=P, now=NOW)
    assert s["online_rate"] == pytest.approx(14 / 34)
    assert s["downtime_hours"] == pytest.approx(20.0)
    assert s["scope_hours"] == pytest.approx(34.0)
    # integrity: c1 intact 4 h of 10 h, c2 intact 2 h of 2 h
    assert s["integrity_rate"] == pytest.approx(6 / 12)
    assert s["defect_hours"] == pytest.approx(6.0)
    # output: c1 ok 10 h, c3 fail 5 h then ok 5 h
    assert s["output_rate"] == pytest.approx(15 / 20)
    assert s["channels"] == 4 and s["annotation_rate"] == 1 / 4


async def test_period_is_clipped_at_now(session, city):
    """At now = 4 h, the period [0, 10 h) counts only [0, 4 h): c1 online 3 h of 4, c2 0, c3 0."""
    s = await summary(session, Scope(), period=P, now=T0 + 4 * H)
    assert s["online_rate"] == pytest.approx(3 / 12)


async def test_scopes_by_region_org_class_source(session, city):
    region = await summary(session, await resolve_scope(session, region="340202"), period=P, now=NOW)
    assert (region["channels"], region["online_rate"]) == (2, pytest.approx(9 / 20))
    assert region["coverage"]["2"] == {"built": 1, "planned": 2, "rate": 0.5}
    police = await summary(session, await resolve_scope(session, org="police"), period=P, now=NOW)
    assert police["channels"] == 2 and police["coverage_rate"] is None  # subtree: c1 and c2
    sub = await summary(session, await resolve_scope(session, org="police-sub"), now=NOW)
    assert sub["channels"] == 1
    class1 = await summary(session, Scope(point_class=1), period=P, now=NOW)
    assert class1["online_rate"] == pytest.approx(14 / 20)
    assert class1["coverage"] == {"1": {"built": 2, "planned": 3, "rate": 2 / 3}}
    huiyan = await summary(session, Scope(source="huiyan"), period=P, now=NOW)
    assert huiyan["online_rate"] == 0.0 and huiyan["integrity_rate"] is None


async def test_empty_scope_gives_null_rates(session, city):
    s = await summary(session, Scope(source="other"), period=P, now=NOW)
    assert s["channels"] == 0
    assert all(s[k] is None for k in ("online_rate", "integrity_rate", "output_rate", "annotation_rate"))
    assert s["downtime_hours"] == 0.0


async def test_unknown_region_and_org(session, city):
    with pytest.raises(UnknownScope):
        await resolve_scope(session, region="349999")
    with pytest.raises(UnknownScope):
        await resolve_scope(session, org="nobody")


async def test_no_inspection_yet_means_no_data(session, city):
    """Only online intervals in region 340203 for c4's day: integrity is null, not invented."""
    s = await summary(session, Scope(source="huiyan"), now=NOW)
    assert s["integrity_rate"] is None and s["output_rate"] is None


async def test_breakdown_by_region_ranks_by_online_rate(session, city):
    rows = await breakdown(session, Scope(), "region", period=P, now=NOW)
    assert [(r["key"], r["rank"]) for r in rows] == [("340202", 1), ("340203", 2)]
    assert rows[0]["online_rate"] == pytest.approx(9 / 20) and rows[0]["name"] == "镜湖区"
    assert rows[1]["online_rate"] == pytest.approx(5 / 14)
    assert rows[1]["coverage"]["1"]["planned"] == 1
    city_level = await breakdown(session, Scope(), "region", level=2, period=P, now=NOW)
    assert [(r["key"], r["channels"]) for r in city_level] == [("3402", 4)]
    assert city_level[0]["online_rate"] == pytest.approx(14 / 34)


async def test_breakdown_by_org_rolls_up_subtrees(session, city):
    rows = await breakdown(session, Scope(), "org", period=P, now=NOW)
    # transport c3 5/10; police (c1 + c2 via the sub-bureau) 9/20; no organisation c4 0/4
    assert [(r["key"], r["rank"]) for r in rows] == [("transport", 1), ("police", 2), ("", 3)]
    assert rows[1]["channels"] == 2
    below = await breakdown(session, await resolve_scope(session, org="police"), "org", now=NOW)
    assert {r["key"]: r["channels"] for r in below} == {"police": 1, "police-sub": 1}


async def test_breakdown_by_class_and_source(session, city):
    rows = await breakdown(session, Scope(), "class", now=NOW)
    assert [(r["key"], r["online_rate"]) for r in rows] == [(1, 1.0), (2, 0.0), (3, 0.0)]
    sources = await breakdown(session, Scope(), "source", period=P, now=NOW)
    assert [r["key"] for r in sources] == ["skynet", "department", "huiyan", "sharp_eyes"]


async def test_trend_splits_the_period_exactly(session, city):
    """[0, 5 h): c1 4 h online of 5, c2 0/5, c3 0/5, c4 not yet created → 4/15;
    [5 h, 10 h): c1 5, c2 0, c3 5 of 5 each, c4 0 of 4 → 10/19."""
    days = [Period(T0, T0 + 5 * H), Period(T0 + 5 * H, T0 + 10 * H)]
    items = await trend(session, Scope(), days, now=NOW)
    assert [i["online_rate"] for i in items] == [pytest.approx(4 / 15), pytest.approx(10 / 19)]
    assert items[0]["integrity_rate"] == pytest.approx(4 / 5)  # c1 intact 4 h, blur 1 h
    assert items[1]["output_rate"] == 1.0


async def test_worst_channels(session, city):
    items, over = await worst_channels(session, Scope(), P, now=NOW, threshold_hours=8)
    assert [(i["name"], i["downtime_hours"]) for i in items] == [
        ("c2", 10.0),
        ("c3", 5.0),
        ("c4", 4.0),
        ("c1", 1.0),
    ]
    assert items[3]["defect_hours"] == pytest.approx(6.0) and items[1]["output_fail_hours"] == 5.0
    assert over == 1


async def test_separate_periods_take_the_general_path(session, city):
    """[0, 2 h) and [3 h, 5 h): only c1 online (2 h each) of c1–c3 in scope (6 h each)."""
    from xueliang.insight import tally_groups

    groups = await tally_groups(
        session, Scope(), periods=[Period(T0, T0 + 2 * H), Period(T0 + 3 * H, T0 + 5 * H)], now=NOW
    )
    assert [g[()].online_seconds / g[()].scope_seconds for g in groups] == [pytest.approx(1 / 3)] * 2
