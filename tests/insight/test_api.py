"""The statistics, report and work-order routes over HTTP, on both backends."""

from __future__ import annotations

import io

import pytest
from tests.insight.conftest import T0, H

from xueliang.insight import reconcile_work_orders

PERIOD = {"from": T0.isoformat(), "to": (T0 + 10 * H).isoformat()}


async def test_summary_contract(client, city):
    body = (await client.get("/stats/summary")).json()
    for key in ("channels", "online_rate", "integrity_rate", "output_rate", "annotation_rate", "hd_rate"):
        assert key in body
    assert body["channels"] == 4 and body["online_rate"] == 0.5
    weighted = (await client.get("/stats/summary", params=PERIOD)).json()
    assert weighted["online_rate"] == pytest.approx(14 / 34) and weighted["downtime_hours"] == pytest.approx(
        20
    )
    naive = {"from": "2026-11-02T00:00:00", "to": "2026-11-02T10:00:00"}  # naive times are UTC
    assert (await client.get("/stats/summary", params=naive)).json()["online_rate"] == weighted["online_rate"]
    scoped = (
        await client.get("/stats/summary", params={"region": "340202", "org": "police", **PERIOD})
    ).json()
    assert scoped["channels"] == 2 and scoped["online_rate"] == pytest.approx(9 / 20)


async def test_bad_input(client, city):
    reversed_period = {"from": PERIOD["to"], "to": PERIOD["from"]}
    response = await client.get("/stats/summary", params=reversed_period)
    assert response.status_code == 422 and "ends before it starts" in response.json()["detail"]
    assert (await client.get("/stats/summary", params={"to": PERIOD["to"]})).status_code == 422
    unknown = await client.get("/stats/summary", params={"region": "349999"})
    assert unknown.status_code == 404 and "349999" in unknown.json()["detail"]
    assert (await client.get("/stats/summary", params={"org": "nobody"})).status_code == 404
    assert (await client.get("/stats/summary", params={"region": "34x"})).status_code == 422
    assert (await client.get("/stats/breakdown", params={"group_by": "planet"})).status_code == 422
    assert (await client.get("/stats/trend", params={"days": 0})).status_code == 422
    assert (await client.get("/reports/yearly")).status_code == 422
    assert (await client.get("/reports/daily", params={"region": "349999"})).status_code == 404
    assert (await client.get("/reports/daily", params={"format": "doc"})).status_code == 422


async def test_empty_scope(client, city):
    body = (await client.get("/stats/summary", params={"source": "other", **PERIOD})).json()
    assert body["channels"] == 0 and body["online_rate"] is None and body["hd_rate"] is None
    rows = (await client.get("/stats/breakdown", params={"source": "other"})).json()
    assert rows == {"items": [], "total": 0, "group_by": "region", "period": None}


async def test_breakdown_and_trend(client, city):
    body = (await client.get("/stats/breakdown", params={"group_by": "region", **PERIOD})).json()
    assert [(r["key"], r["rank"]) for r in body["items"]] == [("340202", 1), ("340203", 2)]
    orgs = (await client.get("/stats/breakdown", params={"group_by": "org", **PERIOD})).json()["items"]
    assert [r["key"] for r in orgs] == ["transport", "police", ""]
    trend = (await client.get("/stats/trend", params={"days": 30, "end": "2026-11-05"})).json()
    assert trend["total"] == 30 and trend["items"][-1]["date"] == "2026-11-05"
    # Shanghai day 2026-11-02 is [2026-11-01T16:00Z, 2026-11-02T16:00Z)
    day = next(i for i in trend["items"] if i["date"] == "2026-11-02")
    same = await client.get("/stats/summary", params={"from": day["from"], "to": day["to"]})
    assert same.json()["online_rate"] == pytest.approx(day["online_rate"])


async def test_work_order_routes(client, sessions, city):
    async with sessions() as session, session.begin():
        await reconcile_work_orders(session, T0 + 10 * H)
    listing = (await client.get("/workorders", params={"status": "active"})).json()
    assert listing["total"] == 2
    order_id = listing["items"][0]["id"]
    assigned = await client.post(
        f"/workorders/{order_id}/assign", json={"assignee": "维保甲", "actor": "zhang"}
    )
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert (await client.post(f"/workorders/{order_id}/comments", json={"note": "到场"})).status_code == 200
    assert (await client.post(f"/workorders/{order_id}/close", json={})).status_code == 422
    assert (await client.post(f"/workorders/{order_id}/close", json={"reason": " "})).status_code == 422
    closed = await client.post(f"/workorders/{order_id}/close", json={"reason": "已拆除"})
    assert closed.json()["status"] == "closed"
    assert [e["kind"] for e in closed.json()["events"]] == ["opened", "assigned", "comment", "closed"]
    assert (await client.post(f"/workorders/{order_id}/close", json={"reason": "x"})).status_code == 409
    assert (await client.get("/workorders/99999")).status_code == 404
    assert (await client.post("/workorders/99999/assign", json={"assignee": "x"})).status_code == 404
    assert (await client.get("/workorders", params={"org": "nobody"})).status_code == 404
    overdue = (await client.get("/workorders", params={"overdue": "true"})).json()
    assert overdue["total"] == 1  # detected in 2026, long past every SLA; one is closed


async def test_report_files(client, city):
    from openpyxl import load_workbook

    html = await client.get("/reports/daily", params={"date": "2026-11-02", "format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "视频监控联网运维日报" in html.text and "<svg" in html.text
    english = await client.get(
        "/reports/weekly", params={"date": "2026-11-02", "format": "html", "lang": "en"}
    )
    assert "weekly notice" in english.text
    xlsx = await client.get("/reports/monthly", params={"date": "2026-11-02", "format": "xlsx"})
    assert 'filename="xueliang-monthly-2026-11-01.xlsx"' in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames[0] == "概况"
