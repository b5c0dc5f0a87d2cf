"""Real logins for tests: accounts made by the platform's own code (or its CLI), tokens from
``POST /auth/token``."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from xueliang.security import create_user

ADMIN = "admin"
PASSWORD = "Test-Passw0rd-xl"  # meets the policy; the same for every test account


async def add_user(
    sessions: async_sessionmaker[AsyncSession], name: str, roles: list[str], **fields: str | None
) -> None:
    async with sessions() as session, session.begin():
        await create_user(session, name, PASSWORD, roles, **fields)  # type: ignore[arg-type]


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    """The bearer header of a fresh login through the API (``client`` is based at /api/v1)."""
    response = await client.post("/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def log_in_as_admin(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Make the ``admin`` account and send its token with every request of ``client``."""
    await add_user(sessions, ADMIN, ["admin"])
    client.headers.update(await login(client, ADMIN))


def login_sync(api: str, name: str, password: str = PASSWORD) -> dict[str, str]:
    response = httpx.post(f"{api}/auth/token", data={"username": name, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
