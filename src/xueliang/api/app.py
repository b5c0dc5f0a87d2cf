"""The app factory: assembles routers and middleware, nothing else."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware

from xueliang import __version__
from xueliang.api.context import PlatformContext
from xueliang.api.routers import channels, devices, gis, health, ptz, regions, signalling, web
from xueliang.api.routers import live as live_view
from xueliang.api.webapp import mount_web
from xueliang.cascade import routes as cascade
from xueliang.insight.routes import reports, stats, workorders
from xueliang.inspection import routes as inspection
from xueliang.security import alert_routes, assert_protected, privacy_routes
from xueliang.security import http as security

API_PREFIX = "/api/v1"


def create_app(context: PlatformContext) -> FastAPI:
    app = FastAPI(
        title="xueliang",
        version=__version__,
        summary="City public video network platform (雪亮工程)",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads its assets from a CDN: no page that reaches the internet
        redoc_url=None,
    )
    app.state.context = context
    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=5)
    for module in (health, channels, devices, regions, signalling, ptz, gis, web):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(stats.router, prefix=API_PREFIX)
    app.include_router(reports.router, prefix=API_PREFIX)
    app.include_router(workorders.router, prefix=API_PREFIX)
    app.include_router(inspection.router, prefix=API_PREFIX)
    app.include_router(cascade.router, prefix=API_PREFIX)
    app.include_router(privacy_routes.router, prefix=API_PREFIX)
    app.include_router(alert_routes.router, prefix=API_PREFIX)
    live_view.mount(app, API_PREFIX)
    security.install(app, context.settings, context.sessions, API_PREFIX)
    mount_web(app, API_PREFIX)  # last: its catch-all serves the web app's pages
    assert_protected(app)  # a route without a permission dependency is a bug: fail at start
    return app
