"""Logins, tokens and the guard on every route, through the HTTP API."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
import pytest
from fastapi import APIRouter
from sqlalchemy import select
from tests.support.auth import PASSWORD, add_user, login

from xueliang.security import assert_protected, find_user
from xueliang.security.tokens import issue_access_token

from .conftest import make_api

PUBLIC = {
    "/api/v1/health",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
    "/api/v1/auth/oidc/login",  # a redirect to the identity platform
    "/api/v1/auth/oidc/callback",  # checked by its single-use state
    "/api/v1/auth/oidc/token",  # carries its single-use ticket
    "/player",  # a page shell
    "/api/v1/live/{token}",  # carries its single-use live token
    "/{path:path}",  # the web app's own files (its data comes from the guarded API)
}
CHANNEL = "34020000001320000001"


def _concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return "1" if name.endswith("_id") and name != "session_id" else CHANNEL if "gb" in name else "daily"

    return re.sub(r"\{(\w+)\}", value, path)


async def test_every_route_but_the_public_ones_answers_401_without_a_token(api):
    routes = assert_protected(api.app)
    assert {r.path for r in routes if r.permission == "public"} == PUBLIC, "only these routes are open"
    spec = (await api.client.get("/openapi.json")).json()
    checked = set()
    for route in routes:
        if route.path in PUBLIC:
            continue
        for method in route.methods - {"HEAD"}:
            response = await api.client.request(method, "http://test" + _concrete(route.path))
            assert response.status_code == 401, (method, route.path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            checked.add((method.lower(), route.path))
    # the OpenAPI agrees: every operation in it was checked, and says it needs the bearer token
    documented = {(method, path) for path, operations in spec["paths"].items() for method in operations}
    open_ones = {(m, p) for m, p in documented if p in PUBLIC}
    assert documented - open_ones == checked and len(checked) > 25
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path not in PUBLIC:
                assert operation.get("security"), (method, path)


def test_an_unguarded_route_stops_the_app_from_being_built(engine, sessions, tmp_path):
    app, _ = make_api(engine, sessions, tmp_path)
    router = APIRouter()

    @router.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    app.include_router(router, prefix="/api/v1")
    with pytest.raises(RuntimeError, match="/api/v1/forgotten declares no permission"):
        assert_protected(app)


async def test_login_me_refresh_logout(api):
    await add_user(api.sessions, "olga", ["operator"], display_name="Olga Ops")
    response = await api.client.post("/auth/token", data={"username": "olga", "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == api.settings.access_token_ttl
    assert response.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await api.client.get("/auth/me", headers=bearer)).json()
    assert me == {
        "username": "olga",
        "display_name": "Olga Ops",
        "roles": ["operator"],
        "actions": [
            "view",
            "view_live",
            "snapshot",
            "playback",
            "ptz",
            "export",
            "manage_catalog",
        ],
    }
    assert (await api.client.get("/channels", headers=bearer)).status_code == 200
    assert (await api.client.get("/auth/sessions", headers=bearer)).status_code == 403

    renewed = await api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    fresh_bearer = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await api.client.get("/auth/me", headers=fresh_bearer)).status_code == 200

    assert (await api.client.post("/auth/logout", headers=fresh_bearer)).status_code == 204
    for headers in (bearer, fresh_bearer):  # both access tokens of the session stop at once
        gone = await api.client.get("/auth/me", headers=headers)
        assert gone.status_code == 401 and "session has ended" in gone.json()["detail"]
    again = await api.client.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert again.status_code == 401


async def test_a_reused_refresh_token_revokes_the_session(api):
    await add_user(api.sessions, "vic", ["viewer"])
    tokens = (await api.client.post("/auth/token", data={"username": "vic", "password": PASSWORD})).json()
    first = await api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert first.status_code == 200
    stolen = await api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert stolen.status_code == 401 and "already used" in stolen.json()["detail"]
    later = await api.client.post("/auth/refresh", json={"refresh_token": first.json()["refresh_token"]})
    assert later.status_code == 401, "the whole session is revoked"
    for bad in ("", "garbage", "abc.def", "x" * 400):
        assert (await api.client.post("/auth/refresh", json={"refresh_token": bad})).status_code in (401, 422)


async def test_wrong_credentials_and_lockout(engine, sessions, tmp_path):
    app, _ = make_api(engine, sessions, tmp_path, login_max_failures=3, login_lockout_seconds=600)
    await add_user(sessions, "mallory-target", ["viewer"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t/api/v1") as client:

        async def attempt(password: str, user: str = "mallory-target") -> httpx.Response:
            return await client.post("/auth/token", data={"username": user, "password": password})

        unknown = await attempt(PASSWORD, "nobody")
        assert unknown.status_code == 401 and unknown.json()["detail"] == "wrong user name or password"
        for _ in range(3):
            wrong = await attempt("Wrong-Passw0rd")
            assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong user name or password"
        locked = await attempt(PASSWORD)
        assert locked.status_code == 401 and "locked" in locked.json()["detail"]
        assert (await attempt(PASSWORD, "MALLORY-TARGET")).status_code == 401, "names lock case-blind"
        empty = await client.post("/auth/token", data={"username": "x"})
        assert empty.status_code == 422


async def test_logins_are_rate_limited_per_address(engine, sessions, tmp_path):
    app, _ = make_api(engine, sessions, tmp_path, login_rate_limit=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t/api/v1") as client:
        codes = [
            (await client.post("/auth/token", data={"username": "u", "password": "p" * 10})).status_code
            for _ in range(5)
        ]
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
        limited = await client.post("/auth/refresh", json={"refresh_token": "a.b"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


async def test_second_factor(api):
    await add_user(api.sessions, "tina", ["viewer"])
    secret = pyotp.random_base32()
    async with api.sessions() as session, session.begin():
        (await find_user(session, "tina")).totp_secret = secret
    form = {"username": "tina", "password": PASSWORD}
    missing = await api.client.post("/auth/token", data=form)
    assert missing.status_code == 401 and "one-time code is required" in missing.json()["detail"]
    wrong = await api.client.post("/auth/token", data={**form, "otp": "000000"})
    code = pyotp.TOTP(secret).now()
    if code == "000000":  # one chance in a million
        pytest.skip("the current code happens to be 000000")
    assert wrong.status_code == 401 and "one-time code" in wrong.json()["detail"]
    assert (await api.client.post("/auth/token", data={**form, "otp": code})).status_code == 200
    replay = await api.client.post("/auth/token", data={**form, "otp": code})
    assert replay.status_code == 401, "a one-time code is used once"


async def test_forged_expired_and_tampered_tokens_get_401(api):
    await add_user(api.sessions, "ada", ["admin"])
    good = await login(api.client, "ada")
    token = good["Authorization"].removeprefix("Bearer ")
    key = api.app.state.authority.key
    async with api.sessions() as session:
        user = await find_user(session, "ada")
        from xueliang.security import AuthSession

        sid = await session.scalar(select(AuthSession.id).where(AuthSession.user_id == user.id))
    now = int(time.time())
    header, payload, signature = token.split(".")
    bad_tokens = {
        "expired": issue_access_token(key, user.id, "ada", sid, now - 3600, 60),
        "forged": issue_access_token(b"f" * 64, user.id, "ada", sid, now, 600),
        "tampered": f"{header}.{payload[:-3]}AAA.{signature}",
        "unknown session": issue_access_token(key, user.id, "ada", "0" * 32, now, 600),
        "someone else's session": issue_access_token(key, user.id + 1, "ada", sid, now, 600),
        "garbage": "not-a-token",
    }
    for what, bad in bad_tokens.items():
        response = await api.client.get("/channels", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, what
        assert response.json()["detail"], what
    assert (await api.client.get("/channels", headers={"Authorization": token})).status_code == 401
    assert (await api.client.get("/channels", headers=good)).status_code == 200


async def test_admin_lists_and_revokes_sessions(api):
    await add_user(api.sessions, "ada", ["admin"])
    await add_user(api.sessions, "vic", ["viewer"])
    admin = await login(api.client, "ada")
    victim = await login(api.client, "vic")
    listed = (await api.client.get("/auth/sessions", params={"user": "vic"}, headers=admin)).json()
    assert listed["total"] == 1
    entry = listed["items"][0]
    assert entry["username"] == "vic" and entry["client_address"] == "127.0.0.1"
    assert not {"refresh_hash", "refresh_token", "access_token"} & set(entry), "no token material"
    assert (await api.client.delete(f"/auth/sessions/{entry['id']}", headers=admin)).status_code == 204
    assert (await api.client.get("/channels", headers=victim)).status_code == 401
    assert (await api.client.delete(f"/auth/sessions/{entry['id']}", headers=admin)).status_code == 404
    assert (await api.client.delete(f"/auth/sessions/{entry['id']}", headers=victim)).status_code == 401
    ended = (await api.client.get("/auth/sessions", params={"ended": True}, headers=admin)).json()
    assert any(s["id"] == entry["id"] and s["revoked_by"] == "ada" for s in ended["items"])


async def test_security_headers_and_closed_cors(api):
    response = await api.client.get("/health", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "blob:" in policy and "ws:" in policy
    assert "access-control-allow-origin" not in response.headers
    preflight = await api.client.options(
        "/channels", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    player = await api.client.get("http://test/player")
    assert "script-src 'sha256-" in player.headers["content-security-policy"]
    assert player.headers["x-frame-options"] == "SAMEORIGIN"


async def test_cors_opens_only_to_configured_origins(engine, sessions, tmp_path):
    app, _ = make_api(engine, sessions, tmp_path, cors_origins="https://ops.example.gov")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t/api/v1") as client:
        ok = await client.get("/health", headers={"Origin": "https://ops.example.gov"})
        assert ok.headers["access-control-allow-origin"] == "https://ops.example.gov"
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_secrets_never_in_api_output(api):
    await add_user(api.sessions, "ada", ["admin"])
    headers = await login(api.client, "ada")
    key = api.app.state.authority.key.decode()
    spec = (await api.client.get("/openapi.json")).text
    for path in ("/auth/me", "/auth/sessions", "/channels"):
        body = (await api.client.get(path, headers=headers)).text
        assert key not in body and "argon2" not in body
    assert key not in spec
