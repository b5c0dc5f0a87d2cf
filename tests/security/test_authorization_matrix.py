"""Roles × scopes × actions × channels inside and outside scope, through the real HTTP API
(uvicorn on a loopback port) and the live-view WebSocket, with shares, deny rules, time
windows, required reasons and the audit trail they leave."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from sqlalchemy import update
from tests.support.auth import add_user, login
from tests.support.media_device import LoopbackDevice
from tests.support.platform import free_port
from websockets.asyncio.client import connect

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.catalog import Channel, Device, Organization
from xueliang.config import Settings
from xueliang.media import ChannelOpener, InviteOpener, MediaHub
from xueliang.security import AccessGrant, find_user

DEVICE = "34020000001180000001"
# channel: (civil code, organisation, point class)
CITY = {
    "A": ("340202", "police-sub", 1),
    "B": ("340202", "transport", 2),
    "C": ("340203", "police", 1),
    "D": ("340203", None, 3),
}
GB = {name: f"{civil}00001320{n:06d}" for n, (name, (civil, _, _)) in enumerate(CITY.items(), start=1)}
ALL = set(CITY)


@dataclass
class City:
    base: str
    client: httpx.AsyncClient
    sessions: object
    headers: dict[str, dict[str, str]]

    async def get(self, who: str, path: str, /, **params: object) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers[who])

    async def post(self, user: str, path: str, **kwargs: object) -> httpx.Response:
        return await self.client.post(path, headers=self.headers[user], **kwargs)

    async def visible(self, user: str) -> set[str]:
        response = await self.get(user, "/channels")
        assert response.status_code == 200, response.text
        names = {v: k for k, v in GB.items()}
        return {names[c["id"]] for c in response.json()["items"]}


async def _grant(sessions, user: str | None, role: str, **scope: object) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        owner = await find_user(session, user) if user else None
        session.add(AccessGrant(user_id=owner.id if owner else None, role=role, **scope))


def _not_today(zone: str) -> int:
    today = datetime.now(ZoneInfo(zone)).weekday()
    return 0b1111111 & ~(1 << today)


@pytest.fixture
async def city(tmp_path: Path) -> AsyncIterator[City]:
    settings = Settings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'x.db'}")
    context = PlatformContext.open(settings)
    from xueliang.migrate import upgrade_async

    await upgrade_async(context.engine)
    async with context.sessions() as session, session.begin():
        police = Organization(code="police", name="公安局", path="/")
        transport = Organization(code="transport", name="交通局", path="/")
        session.add_all([police, transport])
        await session.flush()
        police.path, transport.path = f"/{police.id}/", f"/{transport.id}/"
        sub = Organization(code="police-sub", name="分局", parent_id=police.id, path="/")
        session.add(sub)
        await session.flush()
        sub.path = f"/{police.id}/{sub.id}/"
        orgs = {"police": police.id, "transport": transport.id, "police-sub": sub.id}
        device = Device(gb_id=DEVICE, name="NVR", civil_code="340202")
        session.add(device)
        await session.flush()
        for name, (civil, org, point_class) in CITY.items():
            session.add(
                Channel(
                    gb_id=GB[name],
                    name=name,
                    civil_code=civil,
                    organization_id=orgs.get(org or ""),
                    point_class=point_class,
                    device_id=device.id,
                    status="online",
                )
            )
    users = {
        "root": ["admin"],
        "opal": [],  # operator over region 340202
        "vera": [],  # viewer over the police organisation subtree
        "mick": [],  # maintainer over point class 1
        "aude": ["auditor"],
        "chan": [],  # viewer over channel D only, with a reason required
        "dena": ["viewer"],  # viewer everywhere but denied 340203
        "nora": [],  # viewer outside her hours
        "tina": [],  # transport department: nothing of her own
    }
    for name, roles in users.items():
        await add_user(context.sessions, name, roles, department="transport" if name == "tina" else None)
    await _grant(context.sessions, "opal", "operator", region="340202")
    await _grant(context.sessions, "vera", "viewer", org_code="police")
    await _grant(context.sessions, "mick", "maintainer", point_class=1)
    await _grant(context.sessions, "chan", "viewer", channels=[GB["D"]], require_reason=True)
    await _grant(context.sessions, "dena", "viewer", effect="deny", region="340203")
    await _grant(context.sessions, "nora", "viewer", weekdays=_not_today(settings.timezone))
    device_media = LoopbackDevice()
    context.media = MediaHub(
        ChannelOpener(context.sessions, gb_opener=InviteOpener(device_media)), idle_timeout=0.5
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(context), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=30) as client:
            headers = {name: await login(client, name) for name in users}
            yield City(base, client, context.sessions, headers)
    finally:
        server.should_exit = True
        await task
        await context.media.close()
        await context.close()


SCOPES = {
    "root": ALL,
    "opal": {"A", "B"},
    "vera": {"A", "C"},
    "mick": {"A", "C"},
    "aude": ALL,
    "chan": {"D"},
    "dena": {"A", "B"},
}
LIVE = {"root", "opal", "vera", "mick", "chan", "dena"}  # have view_live somewhere


async def test_lists_details_devices_and_stats_follow_the_scope(city: City) -> None:
    for user, scope in SCOPES.items():
        assert await city.visible(user) == scope, user
        for name in ALL:
            detail = await city.get(user, f"/channels/{GB[name]}")
            assert detail.status_code == (200 if name in scope else 404), (user, name)
            history = await city.get(user, f"/channels/{GB[name]}/availability")
            assert history.status_code == (200 if name in scope else 404), (user, name)
        devices = (await city.get(user, "/devices")).json()
        assert [d["channels"] for d in devices["items"]] == [len(scope)], user
        assert (await city.get(user, f"/devices/{DEVICE}")).json()["channels"] == len(scope)
        summary = (await city.get(user, "/stats/summary")).json()
        assert summary["channels"] == len(scope), user
        by_class = (await city.get(user, "/stats/breakdown", group_by="class")).json()["items"]
        expected = {CITY[n][2] for n in scope}
        assert {row["key"] for row in by_class} == expected, user
        findings = await city.get(user, f"/channels/{GB['D']}/findings")
        assert findings.status_code == (200 if "D" in scope else 404), user
    for user in ("nora", "tina"):  # outside her hours / no grant: no view at all
        assert (await city.get(user, "/channels")).status_code == 403, user
        assert (await city.get(user, "/stats/summary")).status_code == 403, user


async def test_actions_by_role(city: City) -> None:
    expectations = {  # route -> users allowed (status 200), others 403
        ("GET", "/reports/daily"): {"root", "opal", "aude"},
        ("GET", "/audit"): {"root", "aude"},
        ("GET", "/users"): {"root"},
        ("GET", "/auth/sessions"): {"root"},
    }
    for (method, path), allowed in expectations.items():
        for user in SCOPES:
            response = await city.client.request(method, path, headers=city.headers[user])
            assert response.status_code == (200 if user in allowed else 403), (
                user,
                path,
                response.text[:200],
            )
    aude_live = await city.post("aude", f"/channels/{GB['A']}/live")
    assert aude_live.status_code == 403 and "view_live" in aude_live.json()["detail"]
    move = {"direction": "left", "speed": 64}
    for user, name, status in (
        ("opal", "A", 503),
        ("opal", "C", 404),
        ("vera", "A", 403),
        ("root", "D", 503),
    ):
        response = await city.post(user, f"/channels/{GB[name]}/ptz", json=move)
        assert response.status_code == status, (user, name, response.text)  # 503: no signalling here
    assert (
        await city.post("root", f"/channels/{GB['A']}/ptz", json={"direction": "spin"})
    ).status_code == 422


async def _play(city: City, ws_url: str) -> dict:
    async with connect("ws://" + city.base.removeprefix("http://") + ws_url, max_size=None) as ws:
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if message["type"] == "init":
            assert isinstance(await asyncio.wait_for(ws.recv(), 10), bytes)  # the init segment
        return message


async def test_live_view_and_snapshots_inside_and_outside_scope(city: City) -> None:
    for user in sorted(LIVE):
        for name in sorted(ALL):
            body = {"reason": "incident 42"} if user == "chan" else None
            response = await city.post(user, f"/channels/{GB[name]}/live", json=body)
            assert response.status_code == (200 if name in SCOPES[user] else 404), (user, name, response.text)
    grant = (await city.post("mick", f"/channels/{GB['C']}/live")).json()
    message = await _play(city, grant["ws_url"])
    assert message["type"] == "init" and message["codec"].startswith("avc1."), message
    replay = await _play(city, grant["ws_url"])  # the token is used once
    assert replay == {"type": "error", "message": "unknown or expired live token"}
    forged = await _play(city, "/api/v1/live/not-a-token")
    assert forged["type"] == "error"

    missing = await city.post("chan", f"/channels/{GB['D']}/live")
    assert missing.status_code == 422 and "needs a reason" in missing.json()["detail"]
    snap = await city.get("chan", f"/channels/{GB['D']}/snapshot")
    assert snap.status_code == 422
    snap = await city.get("opal", f"/channels/{GB['B']}/snapshot")
    assert snap.status_code == 200 and snap.content[:2] == b"\xff\xd8"
    assert (await city.get("opal", f"/channels/{GB['C']}/snapshot")).status_code == 404
    assert (await city.get("aude", f"/channels/{GB['A']}/snapshot")).status_code == 403

    trail = (await city.get("aude", "/audit", action="view_live", user="chan", outcome="ok")).json()
    assert trail["total"] == 1
    assert trail["items"][0]["channel"] == GB["D"] and trail["items"][0]["reason"] == "incident 42"
    denied = (await city.get("aude", "/audit", user="opal", outcome="denied")).json()
    assert {r["channel"] for r in denied["items"]} == {GB["C"], GB["D"]}
    assert {r["action"] for r in denied["items"]} == {"view_live", "snapshot"}
    logins = (await city.get("aude", "/audit", action="login")).json()
    assert logins["total"] == 9 and {r["client_address"] for r in logins["items"]} == {"127.0.0.1"}
    verified = (await city.get("aude", "/audit/verify")).json()
    assert verified["ok"] and verified["records"] > 20


async def test_a_share_to_a_department_works_at_once_and_ends_at_once(city: City) -> None:
    assert (await city.get("tina", "/channels")).status_code == 403
    expires = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    made = await city.post(
        "root", "/shares", json={"department": "transport", "channels": [GB["B"]], "expires_at": expires}
    )
    assert made.status_code == 201, made.text
    share = made.json()
    assert await city.visible("tina") == {"B"}
    assert (await city.post("tina", f"/channels/{GB['B']}/live")).status_code == 200
    assert (await city.post("tina", f"/channels/{GB['A']}/live")).status_code == 404
    assert (
        await city.post("vera", "/shares", json={"department": "x", "expires_at": expires})
    ).status_code == 403

    async with city.sessions() as session, session.begin():  # the share runs out
        await session.execute(
            update(AccessGrant).where(AccessGrant.id == share["id"]).values(expires_at=datetime.now(UTC))
        )
    assert (await city.get("tina", "/channels")).status_code == 403
    listed = (await city.get("root", "/shares", ended=True)).json()
    assert [s["id"] for s in listed["items"]] == [share["id"]]

    again = (
        await city.post(
            "root", "/shares", json={"department": "transport", "region": "340203", "expires_at": expires}
        )
    ).json()
    assert await city.visible("tina") == {"C", "D"}
    assert (
        await city.client.delete(f"/shares/{again['id']}", headers=city.headers["root"])
    ).status_code == 204
    assert (await city.get("tina", "/channels")).status_code == 403
    assert (
        await city.client.delete(f"/shares/{again['id']}", headers=city.headers["root"])
    ).status_code == 404
    trail = (await city.get("aude", "/audit", action="share")).json()
    assert [r["detail"]["change"] for r in trail["items"]] == [
        "share_revoked",
        "share_created",
        "share_created",
    ]
    past = await city.post(
        "root", "/shares", json={"department": "transport", "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 422


async def test_grants_and_users_through_the_api(city: City) -> None:
    made = await city.post(
        "root",
        "/users",
        json={"username": "gus", "password": "Garden-Key-77x", "roles": [], "department": "parks"},
    )
    assert made.status_code == 201, made.text
    assert (
        await city.post("root", "/users", json={"username": "gus", "password": "Garden-Key-77x"})
    ).status_code == 409
    weak = await city.post("root", "/users", json={"username": "hal", "password": "weak"})
    assert weak.status_code == 422 and "at least 10" in weak.json()["detail"]
    gus = await login(city.client, "gus", "Garden-Key-77x")
    assert (await city.client.get("/channels", headers=gus)).status_code == 403
    grant = await city.post(
        "root",
        "/grants",
        json={"user": "gus", "role": "viewer", "point_class": 3, "hours_from": "00:00", "hours_to": "23:59"},
    )
    assert grant.status_code == 201, grant.text
    visible = (await city.client.get("/channels", headers=gus)).json()
    assert [c["name"] for c in visible["items"]] == ["D"]
    bad = await city.post("root", "/grants", json={"user": "gus", "role": "wizard"})
    assert bad.status_code == 422
    assert (await city.post("root", "/grants", json={"role": "viewer"})).status_code == 422
    assert (await city.post("root", "/grants", json={"user": "nobody", "role": "viewer"})).status_code == 404
    assert (
        await city.client.delete(f"/grants/{grant.json()['id']}", headers=city.headers["root"])
    ).status_code == 204
    assert (await city.client.get("/channels", headers=gus)).status_code == 403

    disabled = await city.client.patch("/users/gus", json={"disabled": True}, headers=city.headers["root"])
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert (await city.client.get("/auth/me", headers=gus)).status_code == 401
    users = (await city.get("root", "/users")).json()
    assert {"root", "gus"} <= {u["username"] for u in users["items"]}
    assert all("password" not in str(u.keys()) for u in users["items"])
    changes = (await city.get("aude", "/audit", action="permission_change", user="root")).json()
    assert [r["detail"]["change"] for r in changes["items"]] == [
        "user_updated",
        "grant_revoked",
        "role_created",
        "user_created",
    ]
    csv = await city.get("aude", "/audit", format="csv", action="permission_change")
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("id,at,actor,action")
    assert len(csv.text.splitlines()) == 5
    exported = (await city.get("aude", "/audit", action="export")).json()
    assert exported["items"][0]["target"] == "audit log"
