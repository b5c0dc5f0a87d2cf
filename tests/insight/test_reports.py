"""Reports: the same numbers as the API for the same period, in HTML, PDF and XLSX."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from tests.insight.conftest import T0, H

from xueliang.catalog import Availability
from xueliang.db import utcnow
from xueliang.insight import Scope, reconcile_work_orders, summary
from xueliang.insight.reports import build_report, render_html, render_pdf, render_xlsx

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = T0 + timedelta(days=40)


def summary_rows(data: bytes) -> dict[str, object]:
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return {row[4]: row[1] for row in sheet.iter_rows(min_row=7, values_only=True) if row[4]}


async def test_report_numbers_equal_the_api(client, session, city):
    """The API clips at the real clock, so the report does too: a week in the past of it."""
    report = await build_report(session, "weekly", date(2026, 11, 4), zone=SHANGHAI, now=utcnow())
    assert report.period.start == datetime(2026, 11, 1, 16, tzinfo=UTC)  # Monday 2 Nov, Shanghai
    api = (
        await client.get(
            "/stats/summary",
            params={"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        )
    ).json()
    cells = summary_rows(render_xlsx(report))
    for key in ("online_rate", "integrity_rate", "output_rate", "annotation_rate", "hd_rate", "channels"):
        assert report.headline[key] == pytest.approx(api[key]), key
        assert cells[key] == pytest.approx(api[key]), key
    breakdown = (
        await client.get(
            "/stats/breakdown",
            params={
                "group_by": "region",
                "from": report.period.start.isoformat(),
                "to": report.period.end.isoformat(),
            },
        )
    ).json()["items"]
    assert [(r["key"], r["online_rate"]) for r in report.counties] == [
        (r["key"], pytest.approx(r["online_rate"])) for r in breakdown
    ]
    assert len(report.trend) == 7 and report.trend[0]["date"] == "2026-11-02"
    assert report.previous.label().startswith("2026-W44")
    monthly = await build_report(session, "monthly", date(2026, 11, 2), zone=SHANGHAI, now=NOW)
    assert len(monthly.trend) == 30 and monthly.trend[0]["date"] == "2026-11-01"
    assert monthly.previous.label() == "2026-10"


async def test_report_contents_and_formats(session, city):
    async with session.begin():
        await reconcile_work_orders(session, T0 + 10 * H)
    report = await build_report(session, "daily", date(2026, 11, 2), zone=SHANGHAI, now=NOW)
    assert len(report.trend) == 7 and report.trend[-1]["date"] == "2026-11-02"
    assert report.workorders["active"] == 2 and report.workorders["overdue"] == 2
    assert [c["name"] for c in report.worst][:1] == ["c2"]
    assert [row["key"] for row in report.by_class] == [1, 2, 3] and report.by_class[0]["target"] == 0.98
    html = render_html(report)
    assert "视频监控联网运维日报" in html and "镜湖区" in html and "<svg" in html
    assert "c2" in html and "离线" in html
    english = render_html(report, "en")
    assert "daily report" in english and "Ranking of counties" in english
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF")
    with pytest.raises(ValueError):
        render_html(report, "fr")


async def test_month_across_dst_in_berlin(session, city):
    """A month in Berlin that contains the October DST change: 745 hours, not 744."""
    berlin = ZoneInfo("Europe/Berlin")
    # c1 gets an outage of exactly the hour that repeats on 25 October (01:00–02:00 UTC)
    async with session.begin():
        await session.execute(
            insert(Availability),
            [
                {
                    "channel_id": city.ids["c1"],
                    "kind": "output",
                    "state": "fail",
                    "since": datetime(2026, 10, 25, 1, tzinfo=UTC),
                    "until": datetime(2026, 10, 25, 2, tzinfo=UTC),
                }
            ],
        )
    report = await build_report(session, "monthly", date(2026, 10, 10), zone=berlin, now=NOW)
    assert report.period.seconds == 745 * 3600
    assert report.period.start == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert report.period.end == datetime(2026, 10, 31, 23, tzinfo=UTC)
    oct25 = next(day for day in report.trend if day["date"] == "2026-10-25")
    assert datetime.fromisoformat(oct25["to"]) - datetime.fromisoformat(oct25["from"]) == timedelta(hours=25)
    direct = await summary(session, Scope(), period=report.period, now=NOW)
    assert report.headline["online_rate"] == direct["online_rate"]
    assert report.headline["output_fail_hours"] == pytest.approx(1.0)


async def test_empty_region_report(session, city):
    from xueliang.catalog import RegionRow, upsert_regions

    async with session.begin():
        await upsert_regions(session, [RegionRow("340299", "空区")])
    report = await build_report(session, "weekly", date(2026, 11, 2), zone=SHANGHAI, now=NOW, region="340299")
    assert report.headline["channels"] == 0 and report.headline["online_rate"] is None
    assert report.counties == [] and report.worst == []
    assert "空区" in render_html(report)
    assert render_xlsx(report)[:2] == b"PK"


async def test_weekly_report_has_an_asset_security_section(session, city):
    from openpyxl import load_workbook

    from xueliang.security.alerts import record_events
    from xueliang.security.assets import AlertKind, SecurityEvent

    def seen(kind: AlertKind, device: str, at: datetime) -> tuple[SecurityEvent, datetime]:
        return SecurityEvent(kind, device, "UDP 10.0.0.1:5060", "detail"), at

    async with session.begin():
        await record_events(
            session,
            [seen(AlertKind.FORGED_KEEPALIVE, "34020200001320000001", T0 + H)] * 4
            + [seen(AlertKind.DEFAULT_PASSWORD, "34020200001320000001", T0 + H)]
            + [seen(AlertKind.DEFAULT_PASSWORD, "34020300001320000002", T0 + 2 * H)]
            + [seen(AlertKind.UNKNOWN_DEVICE, "44010000001320000003", T0 + 2 * H)]  # another city
            + [seen(AlertKind.DUPLICATE_ID, "34020200001320000004", T0 - 30 * 24 * H)],  # weeks before
        )
    report = await build_report(session, "weekly", date(2026, 11, 4), zone=SHANGHAI, now=NOW, region="34")
    assert report.assets is not None
    by_kind = report.assets["by_kind"]
    assert by_kind["forged_keepalive"] == {"alerts": 1, "events": 4, "open": 1}
    assert by_kind["default_password"]["alerts"] == 2 and by_kind["unknown_device"]["alerts"] == 0
    assert by_kind["duplicate_id"]["alerts"] == 0
    devices = [d["device_id"] for d in report.assets["devices"]]
    assert devices == ["34020200001320000001", "34020300001320000002"]
    html = render_html(report)
    assert "资产安全" in html and "伪造心跳" in html and "34020200001320000001" in html
    assert "Asset security" in render_html(report, "en")
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    rows = {row[1]: row for row in book["资产安全"].iter_rows(min_row=2, values_only=True)}
    assert rows["forged_keepalive"][2:] == (1, 4, 1)
    assert book["安全告警设备"]["A2"].value == "34020200001320000001"
    daily = await build_report(session, "daily", date(2026, 11, 2), zone=SHANGHAI, now=NOW)
    assert daily.assets is None and "资产安全" not in render_html(daily)
