"""The web UI's files: the built single-page app at ``/`` with history-mode fallback.

``make web`` builds ``web/`` into ``xueliang/static/web``. Vite's content-hashed files under
``assets/`` are cached for good; everything else is revalidated on each load, so a new build
shows at once. Without a build, ``/`` says in words how to make one.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, PlainTextResponse, Response

from xueliang.security import public

__all__ = ["WEB_DIR", "mount_web"]

WEB_DIR = Path(str(resources.files("xueliang").joinpath("static/web")))
NOT_BUILT = (
    "The xueliang web UI is not built.\n\n"
    "Run `make web` in the xueliang source tree (it runs `npm ci` and `npm run build` in web/),\n"
    "then reload this page. The API is at /api/v1 (OpenAPI at /api/v1/openapi.json) meanwhile.\n"
)
IMMUTABLE = "public, max-age=31536000, immutable"


def mount_web(app: FastAPI, api_prefix: str, web_dir: Path = WEB_DIR) -> None:
    """Serve ``web_dir`` at ``/``: its files as they are, any other path its ``index.html``
    (the app's router draws the page), except under ``api_prefix``: a JSON 404 there."""
    api_root = api_prefix.strip("/") + "/"
    root = web_dir.resolve()

    @app.get(
        "/{path:path}",
        include_in_schema=False,
        dependencies=[Depends(public("the web app's own files; its data comes from the guarded API"))],
    )
    async def web_page(path: str) -> Response:
        if path.startswith(api_root):
            raise HTTPException(404, "Not Found")
        index = root / "index.html"
        if not index.is_file():
            return PlainTextResponse(NOT_BUILT, status_code=503)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            raise HTTPException(404, f"/{path} is not part of this build")
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
