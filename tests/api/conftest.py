from collections.abc import AsyncIterator

import httpx
import pytest
from tests.support.auth import log_in_as_admin

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.config import Settings


@pytest.fixture
async def client(engine, sessions, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app over a migrated database on each backend, logged in
    as an administrator."""
    context = PlatformContext(settings=Settings(data_dir=tmp_path), engine=engine, sessions=sessions)
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        await log_in_as_admin(client, sessions)
        yield client
