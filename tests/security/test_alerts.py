"""Stored security alerts on SQLite and PostgreSQL: events fold into one open alert per device
and kind; the alerts API filters, pages and resolves; the vulnerable-firmware list raises
alerts for the devices it covers, and bad entries change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from xueliang.catalog import Device
from xueliang.security.alerts import SecurityAlert, alert_summary, check_firmware, record_events
from xueliang.security.assets import AlertKind, SecurityEvent

T0 = datetime(2026, 11, 2, tzinfo=UTC)
DEV = "34020000001320000001"
DEV2 = "34020000001320000002"
ELSEWHERE = "44010000001320000003"


def event(kind: AlertKind, device: str = DEV, address: str = "UDP 10.0.0.1:5060") -> SecurityEvent:
    return SecurityEvent(kind, device, address, f"{kind} detail")


async def alerts(session) -> list[SecurityAlert]:
    rows = list(await session.scalars(select(SecurityAlert).order_by(SecurityAlert.id)))
    await session.commit()  # end the read: the test goes on with session.begin()
    return rows


async def test_events_fold_into_one_open_alert_per_device_and_kind(session) -> None:
    forged = AlertKind.FORGED_KEEPALIVE
    async with session.begin():
        opened = await record_events(
            session,
            [
                (event(forged, address="UDP 10.0.0.9:1"), T0),
                (event(forged, address="UDP 10.0.0.9:2"), T0 + timedelta(seconds=2)),
                (event(AlertKind.DEFAULT_PASSWORD), T0 + timedelta(seconds=1)),
                (event(forged, DEV2), T0),
            ],
        )
    assert opened == 3
    async with session.begin():
        assert (
            await record_events(session, [(event(forged, address="UDP 10.0.0.9:3"), T0 + timedelta(1))]) == 0
        )
    rows = {(a.device_id, a.kind): a for a in await alerts(session)}
    folded = rows[(DEV, forged)]
    assert folded.count == 3 and folded.first_seen == T0 and folded.last_seen == T0 + timedelta(1)
    assert folded.address == "UDP 10.0.0.9:3"
    assert rows[(DEV2, forged)].count == 1 and rows[(DEV, AlertKind.DEFAULT_PASSWORD)].count == 1
    # A resolved alert stays as it was; the next event opens a new one.
    async with session.begin():
        folded.resolved_at = T0 + timedelta(2)
    async with session.begin():
        assert await record_events(session, [(event(forged), T0 + timedelta(3))]) == 1
    mine = [a for a in await alerts(session) if (a.device_id, a.kind) == (DEV, forged)]
    assert [(a.count, a.resolved_at is None) for a in mine] == [(3, False), (1, True)]


async def test_the_database_refuses_a_second_open_alert(session) -> None:
    row = {"kind": "duplicate_id", "device_id": DEV, "address": "", "detail": "", "count": 1}
    row |= {"first_seen": T0, "last_seen": T0, "resolved_by": "", "note": ""}
    async with session.begin():
        await session.execute(insert(SecurityAlert), [row, {**row, "resolved_at": T0}])
    with pytest.raises(IntegrityError):
        async with session.begin():
            await session.execute(insert(SecurityAlert), [row])


async def seed_devices(session) -> None:
    async with session.begin():
        session.add_all(
            [
                Device(
                    gb_id=DEV, name="gate", manufacturer="Hikvision", model="DS-2CD2T47", firmware="V5.5.0"
                ),
                Device(
                    gb_id=DEV2, name="yard", manufacturer="HIKVISION", model="DS-2CD3T47", firmware="v5.5.12"
                ),
                Device(gb_id=ELSEWHERE, name="far", manufacturer="Dahua", model="IPC", firmware="V5.5.0"),
                Device(gb_id="34020000001320000009", name="new", manufacturer="Hikvision", model="DS-2CD"),
            ]
        )


async def test_vulnerable_list_raises_alerts_for_covered_devices(client, session) -> None:
    await seed_devices(session)
    entry = {
        "manufacturer": "hikvision",
        "model": "DS-2CD*",
        "firmware": "V5.5.*",
        "advisory": "CVE-2021-36260",
    }
    created = await client.post("/security/vulnerable-firmware", json=entry)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["matched"] == 2 and body["firmware"] == "V5.5.*"
    listed = (await client.get("/security/alerts", params={"kind": "vulnerable_firmware"})).json()
    assert {a["device_id"] for a in listed["items"]} == {DEV, DEV2}
    assert "CVE-2021-36260" in listed["items"][0]["detail"]
    # Bad entries: 422, and the list is as it was.
    for bad in (
        {**entry, "firmware": "V[45].*"},
        {**entry, "firmware": ""},
        {**entry, "advisory": ""},
        {**entry, "model": "x" * 101},
        {"firmware": "V5"},
    ):
        response = await client.post("/security/vulnerable-firmware", json=bad)
        assert response.status_code == 422, (bad, response.text)
    listing = (await client.get("/security/vulnerable-firmware")).json()
    assert listing["total"] == 1
    # Editing re-scans (the open alerts are folded into, not duplicated).
    edited = await client.put(
        f"/security/vulnerable-firmware/{body['id']}", json={**entry, "manufacturer": "*"}
    )
    assert edited.status_code == 200 and edited.json()["matched"] == 2
    wide = await client.put(
        f"/security/vulnerable-firmware/{body['id']}", json={**entry, "manufacturer": "*", "model": "*"}
    )
    assert wide.json()["matched"] == 3
    total = (await client.get("/security/alerts", params={"kind": "vulnerable_firmware"})).json()["total"]
    assert total == 3
    assert (await client.put("/security/vulnerable-firmware/999", json=entry)).status_code == 404
    assert (await client.delete(f"/security/vulnerable-firmware/{body['id']}")).status_code == 204
    assert (await client.delete(f"/security/vulnerable-firmware/{body['id']}")).status_code == 404
    assert (await client.get("/security/vulnerable-firmware")).json()["total"] == 0


async def test_device_info_is_checked_against_the_list(client, session) -> None:
    await seed_devices(session)
    entry = {"model": "DS-2CD*", "firmware": "V5.4.*", "advisory": "upgrade"}
    assert (await client.post("/security/vulnerable-firmware", json=entry)).json()["matched"] == 0
    async with session.begin():
        reported = await check_firmware(
            session,
            [
                (DEV, "Hikvision", "DS-2CD2T47", "V5.4.1", T0),  # downgraded: covered
                (DEV2, "Hikvision", "DS-2CD3T47", "V5.5.12", T0),
            ],
        )
    assert reported == 1
    (alert,) = await alerts(session)
    assert (alert.device_id, alert.kind) == (DEV, "vulnerable_firmware") and "V5.4.1" in alert.detail


async def test_alerts_api_filters_pages_and_resolves(client, session) -> None:
    async with session.begin():
        await record_events(
            session,
            [
                (event(AlertKind.FORGED_KEEPALIVE, f"340200000013200000{n:02d}"), T0 + timedelta(minutes=n))
                for n in range(12)
            ]
            + [(event(AlertKind.UNKNOWN_DEVICE, ELSEWHERE), T0)],
        )
    page = (await client.get("/security/alerts", params={"page_size": 5, "page": 2})).json()
    assert page["total"] == 13 and len(page["items"]) == 5 and page["page"] == 2
    first = (await client.get("/security/alerts", params={"page_size": 1})).json()["items"][0]
    assert first["device_id"] == "34020000001320000011", "most recently seen first"
    assert first["open"] and first["kind"] == "forged_keepalive" and first["count"] == 1
    region = (await client.get("/security/alerts", params={"device": "4401"})).json()
    assert [a["kind"] for a in region["items"]] == ["unknown_device"]
    resolved = await client.post(
        f"/security/alerts/{first['id']}/resolve", json={"note": "test rig"}
    )
    assert resolved.status_code == 200
    assert resolved.json()["open"] is False and resolved.json()["resolved_by"] == "admin"
    again = await client.post(f"/security/alerts/{first['id']}/resolve", json={})
    assert again.status_code == 409
    assert (await client.post("/security/alerts/99999/resolve", json={})).status_code == 404
    assert (await client.get("/security/alerts", params={"open": False})).json()["total"] == 1
    assert (await client.get("/security/alerts", params={"open": True})).json()["total"] == 12
    for bad in ({"kind": "nonsense"}, {"device": "abc"}, {"page": 0}, {"page_size": 1001}):
        assert (await client.get("/security/alerts", params=bad)).status_code == 422, bad
    summary = await client.get(
        "/security/alerts/summary", params={"from": "2026-11-01T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
    )
    assert summary.status_code == 200
    by_kind = summary.json()["by_kind"]
    assert by_kind["forged_keepalive"] == {"alerts": 12, "events": 12, "open": 11}
    assert by_kind["duplicate_id"] == {"alerts": 0, "events": 0, "open": 0}
    backwards = {"from": "2026-11-03T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert (await client.get("/security/alerts/summary", params=backwards)).status_code == 422


async def test_summary_counts_by_kind_and_names_the_top_devices(session) -> None:
    await seed_devices(session)
    async with session.begin():
        await record_events(
            session,
            [(event(AlertKind.FORGED_KEEPALIVE), T0)] * 5
            + [(event(AlertKind.DUPLICATE_ID), T0)] * 2
            + [(event(AlertKind.DEFAULT_PASSWORD, DEV2), T0)]
            + [(event(AlertKind.DEFAULT_PASSWORD, ELSEWHERE), T0)]
            + [(event(AlertKind.DEFAULT_PASSWORD, "34020000001320000007"), T0 - timedelta(days=30))],
        )
    summary = await alert_summary(session, T0 - timedelta(days=1), T0 + timedelta(days=1), region="3402")
    assert summary["total"] == 3
    assert summary["by_kind"]["default_password"] == {"alerts": 1, "events": 1, "open": 1}
    top = summary["devices"][0]
    assert (top["device_id"], top["name"], top["events"], top["alerts"]) == (DEV, "gate", 7, 2)
    assert top["kinds"] == ["duplicate_id", "forged_keepalive"]
    assert [d["device_id"] for d in summary["devices"]] == [DEV, DEV2]
