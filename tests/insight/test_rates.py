"""Pure indicator arithmetic and report periods, checked against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from xueliang.insight.periods import (
    Period,
    ReportKind,
    day_periods,
    default_report_date,
    previous_period,
    report_period,
)
from xueliang.insight.rates import Span, Tally, Targets, indicators, ratio, state_seconds, valid_annotation
from xueliang.insight.reports.charts import bar_chart, line_chart
from xueliang.insight.workorders import WorkOrderPolicy, cause_for

T = datetime(2026, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_ratio_is_none_without_a_denominator():
    assert ratio(0, 0) is None and ratio(3, 4) == 0.75


def test_state_seconds_clips_to_period_and_now():
    spans = [
        Span("online", T - H, T + 2 * H),
        Span("offline", T + 2 * H, T + 3 * H),
        Span("online", T + 3 * H),
    ]
    assert state_seconds(spans, T, T + 10 * H) == {"online": 9 * 3600, "offline": 3600}
    assert state_seconds(spans, T, T + 10 * H, now=T + 4 * H) == {"online": 3 * 3600, "offline": 3600}
    assert state_seconds(spans, T + 20 * H, T + 30 * H, now=T + 4 * H) == {}


@pytest.mark.parametrize(
    ("lon", "lat", "valid"),
    [
        (118.38, 31.34, True),
        (0.0, 0.0, False),
        (None, 31.3, False),
        (31.34, 118.38, False),  # swapped
        (-74.0, 40.7, False),  # New York: outside the deployment area
        (200.0, 31.0, False),
    ],
)
def test_annotation(lon, lat, valid):
    assert valid_annotation(lon, lat) is valid


def test_annotation_with_a_city_area():
    area = (118.0, 30.8, 118.8, 31.6)
    assert valid_annotation(118.38, 31.34, area) and not valid_annotation(117.0, 31.34, area)


def test_indicators_point_in_time_and_weighted():
    tally = Tally(
        channels=4,
        annotated=1,
        hd=2,
        resolution_known=3,
        online_now=2,
        intact_now=1,
        diagnosed_now=2,
        scope_seconds=34 * 3600,
        online_seconds=14 * 3600,
        built={1: 2, 2: 1},
    )
    now = indicators(tally, weighted=False, planned={1: 3, 2: 2})
    assert (now["online_rate"], now["integrity_rate"], now["output_rate"]) == (0.5, 0.5, None)
    assert (now["annotation_rate"], now["hd_rate"], now["coverage_rate"]) == (0.25, 2 / 3, 3 / 5)
    weighted = indicators(tally, weighted=True)
    assert weighted["online_rate"] == 14 / 34 and weighted["downtime_hours"] == 20.0
    assert weighted["coverage_rate"] is None and weighted["integrity_rate"] is None


def test_tallies_add_up():
    a = Tally(channels=1, online_seconds=5, built={1: 1})
    a.add(Tally(channels=2, online_seconds=7, built={1: 1, 3: 1}))
    assert (a.channels, a.online_seconds, a.built) == (3, 12, {1: 2, 3: 1})
    a.add_seconds("integrity", "blur", 10)
    a.add_seconds("integrity", "intact", 30)
    assert (a.intact_seconds, a.diagnosed_seconds) == (30, 40)


def test_targets():
    targets = Targets()
    assert (targets.for_class(1), targets.for_class(2), targets.for_class(None)) == (0.98, 0.95, 0.95)
    assert Targets(by_class={1: 0.99, 2: 0.97}, default=0.9).for_class(3) == 0.9


def test_periods_in_shanghai():
    zone = ZoneInfo("Asia/Shanghai")
    day = report_period(ReportKind.DAILY, date(2026, 11, 2), zone)
    assert (day.start, day.end) == (
        datetime(2026, 11, 1, 16, tzinfo=UTC),
        datetime(2026, 11, 2, 16, tzinfo=UTC),
    )
    week = report_period("weekly", date(2026, 1, 1), zone)  # ISO week 2026-W01: Mon 29 Dec 2025
    assert (week.first, week.last) == (date(2025, 12, 29), date(2026, 1, 4))
    assert week.label().startswith("2026-W01")
    month = report_period("monthly", date(2026, 12, 31), zone)
    assert (month.first, month.last, month.label()) == (date(2026, 12, 1), date(2026, 12, 31), "2026-12")
    assert previous_period(month, zone).label() == "2026-11"
    assert previous_period(report_period("monthly", date(2026, 1, 5), zone), zone).label() == "2025-12"


def test_months_and_days_across_dst_in_berlin():
    zone = ZoneInfo("Europe/Berlin")
    march = report_period("monthly", date(2026, 3, 15), zone)  # DST starts Sunday 29 March
    assert march.start == datetime(2026, 2, 28, 23, tzinfo=UTC)  # 00:00 CET
    assert march.end == datetime(2026, 3, 31, 22, tzinfo=UTC)  # 00:00 CEST
    assert march.seconds == (31 * 24 - 1) * 3600
    october = report_period("monthly", date(2026, 10, 1), zone)  # DST ends Sunday 25 October
    assert october.seconds == (31 * 24 + 1) * 3600
    days = day_periods(date(2026, 3, 28), 3, zone)
    assert [d.seconds / 3600 for d in days] == [24, 23, 24]
    assert days[1].end == days[2].start  # no gap, no overlap
    week = report_period("weekly", date(2026, 10, 25), zone)
    assert week.seconds == (7 * 24 + 1) * 3600


def test_default_report_dates():
    today = date(2026, 3, 1)
    assert default_report_date("daily", today) == date(2026, 2, 28)
    assert default_report_date("weekly", today) == date(2026, 2, 22)
    assert default_report_date("monthly", today) == date(2026, 2, 28)


def test_period_refuses_reversed_bounds():
    with pytest.raises(ValueError, match="ends before it starts"):
        Period(T, T - H)
    with pytest.raises(ValueError):
        Period(datetime(2026, 1, 1), datetime(2026, 1, 2))


def test_causes_and_policy():
    assert cause_for("online", "offline") == "offline" and cause_for("online", "online") is None
    assert cause_for("integrity", "defect") == "defect" and cause_for("integrity", "blur") == "blur"
    assert cause_for("output", "fail") == "no_output" and cause_for("output", "ok") is None
    policy = WorkOrderPolicy()
    assert [policy.priority_for(c) for c in (1, 2, 3, 5)] == [1, 2, 3, 3]
    assert policy.due(1, T) == T + 4 * H and policy.due(3, T) == T + 72 * H


def test_charts_are_svg_with_gaps_for_missing_values():
    svg = line_chart(["01", "02", "03"], [("在线率", [0.99, None, 0.97])], target=0.98)
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "在线率" in svg
    assert svg.count("<circle") == 2  # two isolated points around the gap
    bars = bar_chart(["镜湖区", "<script>"], [0.99, None], target=0.98)
    assert "&lt;script&gt;" in bars and "—" in bars
