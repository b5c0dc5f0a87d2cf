from collections.abc import AsyncIterator

import httpx
import pytest

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.config import Settings


@pytest.fixture
async def client(engine, sessions) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app over a migrated database on each backend."""
    context = PlatformContext(settings=Settings(), engine=engine, sessions=sessions)
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield client
