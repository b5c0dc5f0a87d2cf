"""Single sign-on against the city's identity platform over OpenID Connect (authorization
code flow with PKCE, Authlib's helpers and joserfc for the ID token).

The browser is sent to the provider with a random ``state`` (kept server-side, single use),
a ``nonce`` and a PKCE challenge; the callback exchanges the code, checks the ID token's
signature (the provider's JWKS), issuer, audience, expiry and nonce, and maps it to a local
account by ``sub`` (linked on first use through the ``oidc_username_claim``). Nobody gets an
account by signing in: an administrator creates it. The browser then receives a one-time
ticket in the URL fragment and exchanges it for tokens, so tokens never travel in a URL.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from xueliang.config import Settings

__all__ = ["OidcClient", "OidcError", "OneTimeTickets"]

STATE_TTL = 600.0  # seconds to finish signing in at the provider


class OidcError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Pending:
    nonce: str
    verifier: str
    next_path: str
    redirect_uri: str
    expires: float


class OneTimeTickets:
    """Random single-use values mapped to data, each valid ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[Any, float]] = {}

    def issue(self, value: Any) -> str:
        now = time.monotonic()
        self._items = {k: v for k, v in self._items.items() if v[1] > now}
        key = secrets.token_urlsafe(32)
        self._items[key] = (value, now + self.ttl)
        return key

    def redeem(self, key: str) -> Any | None:
        item = self._items.pop(key, None)
        return item[0] if item and item[1] > time.monotonic() else None


def safe_next(path: str) -> str:
    """Only a path on this site (no scheme, no host, no '//' that browsers read as a host)."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


class OidcClient:
    def __init__(self, settings: Settings) -> None:
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.claim = settings.oidc_username_claim
        self.redirect_url = settings.oidc_redirect_url
        self.pending = OneTimeTickets(STATE_TTL)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    @property
    def configured(self) -> bool:
        return bool(self.issuer and self.client_id)

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url)
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(502, f"the identity provider cannot be reached: {exc}") from None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            found = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise OidcError(502, "the identity provider's discovery names another issuer")
            self._metadata = found
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._get((await self.metadata())["jwks_uri"]))
        return self._keys

    async def login_url(self, redirect_uri: str, next_path: str) -> str:
        """Where to send the browser to sign in."""
        meta = await self.metadata()
        nonce, verifier = generate_token(32), generate_token(64)
        redirect_uri = self.redirect_url or redirect_uri
        state = self.pending.issue(
            _Pending(nonce, verifier, safe_next(next_path), redirect_uri, time.monotonic() + STATE_TTL)
        )
        return add_params_to_uri(
            meta["authorization_endpoint"],
            [
                ("response_type", "code"),
                ("client_id", self.client_id),
                ("redirect_uri", redirect_uri),
                ("scope", self.scopes),
                ("state", state),
                ("nonce", nonce),
                ("code_challenge", create_s256_code_challenge(verifier)),
                ("code_challenge_method", "S256"),
            ],
        )

    async def finish(self, code: str, state: str) -> tuple[dict[str, Any], str]:
        """(the verified ID token's claims, where the browser goes next) for a callback."""
        pending: _Pending | None = self.pending.redeem(state)
        if pending is None:
            raise OidcError(400, "unknown or expired sign-in state: start signing in again")
        meta = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        }
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    meta["token_endpoint"], data=form, auth=(self.client_id, self.client_secret)
                )
        except httpx.HTTPError as exc:
            raise OidcError(502, f"the identity provider cannot be reached: {exc}") from None
        if response.status_code != 200:
            raise OidcError(401, f"the identity provider refused the code ({response.status_code})")
        id_token = response.json().get("id_token") if response.content else None
        if not isinstance(id_token, str):
            raise OidcError(401, "the identity provider sent no ID token")
        return await self._claims(id_token, pending.nonce), pending.next_path

    async def _claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        algorithms = ["RS256", "ES256", "PS256", "EdDSA"]  # asymmetric only: never "none" or HS*
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except (JoseError, ValueError):  # a rotated key: fetch the key set once more
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=algorithms)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(401, f"the ID token is not valid: {exc}") from None
        return token.claims
