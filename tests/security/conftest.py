from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.support.auth import log_in_as_admin

from xueliang.api import create_app
from xueliang.api.context import PlatformContext
from xueliang.config import Settings


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient  # no token unless a test adds one
    sessions: Any
    settings: Settings


def make_api(engine, sessions, tmp_path, **settings: Any) -> tuple[FastAPI, Settings]:
    config = Settings(data_dir=tmp_path, **settings)
    return create_app(PlatformContext(settings=config, engine=engine, sessions=sessions)), config


@pytest.fixture
async def api(engine, sessions, tmp_path) -> AsyncIterator[Api]:
    app, settings = make_api(engine, sessions, tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1") as client:
        yield Api(app, client, sessions, settings)


@pytest.fixture
async def client(engine, sessions, tmp_path) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client bound to the app over a migrated database on each backend, logged in
    as an administrator."""
    app, _ = make_api(engine, sessions, tmp_path)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1"
    ) as client:
        await log_in_as_admin(client, sessions)
        yield client
