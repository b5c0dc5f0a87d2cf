"""Single sign-on against a small OpenID Connect provider run in the test on a loopback port:
discovery, JWKS, an authorize endpoint that signs the preset user in, and a token endpoint
checking the client's secret, the code and its PKCE verifier."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route
from tests.support.auth import add_user
from tests.support.platform import free_port

from xueliang.security import AuthSession, find_user

from .conftest import make_api

CLIENT_ID, CLIENT_SECRET = "xueliang-platform", "s3cret-of-the-client"


@dataclass
class Provider:
    issuer: str
    user: dict[str, str] = field(default_factory=lambda: {"sub": "u-1001", "preferred_username": "olga"})
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    )
    forger: RSAKey | None = None  # sign ID tokens with a key not in the JWKS
    audience: str = CLIENT_ID
    codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )

        async def jwks(request: Request) -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def authorize(request: Request) -> RedirectResponse:
            q = request.query_params
            assert q["response_type"] == "code" and q["client_id"] == CLIENT_ID and "openid" in q["scope"]
            assert q["code_challenge_method"] == "S256"
            code = secrets.token_urlsafe(16)
            self.codes[code] = {**q, **self.user}
            return RedirectResponse(
                f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}", 302
            )

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"error": "invalid_client"}, 401)
            grant = self.codes.pop(str(form.get("code")), None)
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, 400)
            digest = hashlib.sha256(str(form.get("code_verifier")).encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["code_challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "aud": self.audience,
                "sub": grant["sub"],
                "preferred_username": grant["preferred_username"],
                "nonce": grant["nonce"],
                "iat": now,
                "exp": now + 300,
            }
            signer = self.forger or self.key
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)
            return JSONResponse({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
            ]
        )


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    port = free_port()
    found = Provider(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(
        uvicorn.Config(found.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.02)
    try:
        yield found
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def platform(engine, sessions, tmp_path, provider) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = make_api(
        engine,
        sessions,
        tmp_path,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test/api/v1") as client:
        yield client


async def _sign_in(platform: httpx.AsyncClient, next_path: str = "/map") -> httpx.Response:
    """The browser's round trip: platform → provider → platform callback."""
    start = await platform.get("/auth/oidc/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    at_provider = start.headers["location"]
    assert urlsplit(at_provider).path == "/authorize"
    async with httpx.AsyncClient() as browser:
        back = await browser.get(at_provider)
    assert back.status_code == 302
    return await platform.get(back.headers["location"])


def _ticket(callback: httpx.Response) -> str:
    assert callback.status_code == 302, callback.text
    path, _, fragment = callback.headers["location"].partition("#")
    assert path == "/map"
    return parse_qs(fragment)["oidc_ticket"][0]


async def test_sign_on_maps_to_the_local_account_and_links_it(platform, sessions, provider) -> None:
    await add_user(sessions, "olga", ["operator"])
    ticket = _ticket(await _sign_in(platform))
    tokens = await platform.post("/auth/oidc/token", json={"ticket": ticket})
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    me = (await platform.get("/auth/me", headers=bearer)).json()
    assert me["username"] == "olga" and me["roles"] == ["operator"]
    assert (await platform.post("/auth/oidc/token", json={"ticket": ticket})).status_code == 401, "single use"

    provider.user = {"sub": "u-1001", "preferred_username": "renamed-upstream"}  # linked by sub now
    again = await platform.post("/auth/oidc/token", json={"ticket": _ticket(await _sign_in(platform))})
    assert again.status_code == 200
    async with sessions() as session:
        methods = (await session.scalars(select(AuthSession.method))).all()
        linked = await find_user(session, "olga")
    assert methods == ["oidc", "oidc"] and linked.oidc_subject == "u-1001"


async def test_no_local_account_no_entry(platform, sessions, provider) -> None:
    provider.user = {"sub": "u-2", "preferred_username": "stranger"}
    refused = await _sign_in(platform)
    assert refused.status_code == 403 and "an administrator must create it" in refused.json()["detail"]


@pytest.mark.parametrize("fault", ["forged signature", "wrong audience"])
async def test_a_bad_id_token_is_refused(platform, sessions, provider, fault: str) -> None:
    await add_user(sessions, "olga", ["operator"])
    if fault == "forged signature":
        provider.forger = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    else:
        provider.audience = "another-client"
    refused = await _sign_in(platform)
    assert refused.status_code == 401 and "ID token is not valid" in refused.json()["detail"]


async def test_state_and_next_are_checked(platform, sessions, provider) -> None:
    forged = await platform.get("/auth/oidc/callback", params={"code": "x", "state": "made-up"})
    assert forged.status_code == 400 and "state" in forged.json()["detail"]
    assert (await platform.get("/auth/oidc/callback", params={"error": "access_denied"})).status_code == 400
    await add_user(sessions, "olga", ["viewer"])
    start = await platform.get("/auth/oidc/login", params={"next": "//evil.example/x"})
    async with httpx.AsyncClient() as browser:
        back = await browser.get(start.headers["location"])
    landing = await platform.get(back.headers["location"])
    assert landing.headers["location"].startswith("/#oidc_ticket="), "no open redirect"


async def test_without_configuration_there_is_no_sign_on(api) -> None:
    assert (await api.client.get("/auth/oidc/login")).status_code == 404
