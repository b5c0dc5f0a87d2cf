"""The built web app at ``/``: files, history-mode fallback, caching, and a clear word when
the build is missing. The API under /api/v1 keeps its JSON 404."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from xueliang.api.webapp import NOT_BUILT, mount_web


def client_for(web_dir: Path) -> httpx.AsyncClient:
    app = FastAPI()

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    mount_web(app, "/api/v1", web_dir)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_missing_build_says_how_to_make_it(tmp_path):
    async with client_for(tmp_path / "web") as client:
        response = await client.get("/")
        assert response.status_code == 503 and response.text == NOT_BUILT and "make web" in response.text
        assert (await client.get("/api/v1/health")).json() == {"status": "ok"}


async def test_spa_files_and_fallback(tmp_path):
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<div id=app></div>")
    (web / "assets" / "index-abc123.js").write_text("console.log(1)")
    (web / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("no")
    async with client_for(web) as client:
        for path in ("/", "/map", "/channels/34020200001320000001", "/dashboard?x=1"):
            response = await client.get(path)
            assert response.status_code == 200 and response.text == "<div id=app></div>", path
            assert response.headers["cache-control"] == "no-cache"
        asset = await client.get("/assets/index-abc123.js")
        assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
        assert (await client.get("/favicon.svg")).text == "<svg/>"
        assert (await client.get("/assets/gone-000.js")).status_code == 404
        for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt"):
            assert (await client.get(escape)).text != "no", escape
        api = await client.get("/api/v1/nothing-here")
        assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
