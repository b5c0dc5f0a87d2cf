"""The ``xueliang`` command line (Typer). Each setting is a flag and an ``XUELIANG_*`` variable."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from xueliang.config import Settings, load_settings
from xueliang.runtime import run

app = typer.Typer(
    help="xueliang: a city public video network platform (雪亮工程).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Import the resource directory from CSV or XLSX.", no_args_is_help=True)
export_app = typer.Typer(help="Export the resource directory to CSV or XLSX.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML configuration file.", envvar="XUELIANG_CONFIG")
]
DataDirOpt = Annotated[Path | None, typer.Option(help="Data directory [XUELIANG_DATA_DIR].")]
DbOpt = Annotated[
    str | None, typer.Option(help="Database URL; default SQLite in the data directory [XUELIANG_DB].")
]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        settings = load_settings(config, **overrides)
    except (FileNotFoundError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg="red", err=True)
    return typer.Exit(code)


@app.command()
def serve(
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
    http: Annotated[
        str | None, typer.Option(help="HTTP listen HOST:PORT [XUELIANG_HTTP] (127.0.0.1:8000).")
    ] = None,
    sip: Annotated[
        str | None, typer.Option(help="SIP listen HOST:PORT, UDP and TCP [XUELIANG_SIP] (127.0.0.1:5060).")
    ] = None,
    sip_id: Annotated[
        str | None, typer.Option(help="Platform SIP ID [XUELIANG_SIP_ID] (34020000002000000001).")
    ] = None,
    sip_domain: Annotated[
        str | None, typer.Option(help="SIP domain / digest realm [XUELIANG_SIP_DOMAIN] (3402000000).")
    ] = None,
    sip_password: Annotated[
        str | None, typer.Option(help="Default device password [XUELIANG_SIP_PASSWORD].")
    ] = None,
    keepalive_interval: Annotated[
        float | None, typer.Option(help="Keepalive interval, s [XUELIANG_KEEPALIVE_INTERVAL] (60).")
    ] = None,
    keepalive_misses: Annotated[
        int | None, typer.Option(help="Missed keepalives before offline [XUELIANG_KEEPALIVE_MISSES] (3).")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Zone for reports [XUELIANG_TIMEZONE] (Asia/Shanghai).")
    ] = None,
    point_classes: Annotated[
        int | None, typer.Option(help="Point classes 1..N [XUELIANG_POINT_CLASSES] (3).")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [XUELIANG_LOG_LEVEL] (INFO).")] = None,
    sip_rate_limit: Annotated[
        float | None, typer.Option(help="SIP messages/s per source address [XUELIANG_SIP_RATE_LIMIT] (500).")
    ] = None,
    sip_accept_unknown: Annotated[
        bool | None,
        typer.Option(
            "--sip-accept-unknown/--sip-reject-unknown",
            help="Let IDs not in the resource directory register (with an alert) or refuse them "
            "[XUELIANG_SIP_ACCEPT_UNKNOWN] (accept).",
        ),
    ] = None,
    media_ip: Annotated[
        str | None, typer.Option(help="Address devices send media to [XUELIANG_MEDIA_IP] (the SIP host).")
    ] = None,
    media_ports: Annotated[
        str | None, typer.Option(help="Media port range, e.g. 30000-30999 [XUELIANG_MEDIA_PORTS] (any).")
    ] = None,
    media_transport: Annotated[
        str | None,
        typer.Option(help="UDP, TCP-passive or TCP-active [XUELIANG_MEDIA_TRANSPORT] (UDP)."),
    ] = None,
    inspection_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between inspections of a channel, 0 = off [XUELIANG_INSPECTION_INTERVAL]."
        ),
    ] = None,
    inspection_concurrency: Annotated[
        int | None, typer.Option(help="Channels inspected at once [XUELIANG_INSPECTION_CONCURRENCY] (32).")
    ] = None,
    area: Annotated[
        str | None,
        typer.Option(help="Deployment area min_lon,min_lat,max_lon,max_lat [XUELIANG_AREA] (China)."),
    ] = None,
    live_idle_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds an unwatched upstream stays open [XUELIANG_LIVE_IDLE_TIMEOUT]."),
    ] = None,
    map_tile_url: Annotated[
        str | None,
        typer.Option(help="Web map tile URL with {z}/{x}/{y} [XUELIANG_MAP_TILE_URL] (offline outlines)."),
    ] = None,
    map_coord_system: Annotated[
        str | None, typer.Option(help="Tile coordinates: wgs84 or gcj02 [XUELIANG_MAP_COORD_SYSTEM].")
    ] = None,
    access_token_ttl: Annotated[
        int | None, typer.Option(help="Seconds an access token is valid [XUELIANG_ACCESS_TOKEN_TTL] (900).")
    ] = None,
    refresh_token_ttl: Annotated[
        int | None,
        typer.Option(help="Seconds a login lasts without a refresh [XUELIANG_REFRESH_TOKEN_TTL] (43200)."),
    ] = None,
    login_max_failures: Annotated[
        int | None,
        typer.Option(
            help="Failed logins (and SIP digest failures) before a lockout [XUELIANG_LOGIN_MAX_FAILURES] (5)."
        ),
    ] = None,
    login_failure_window: Annotated[
        float | None,
        typer.Option(help="Seconds over which failures count [XUELIANG_LOGIN_FAILURE_WINDOW] (300)."),
    ] = None,
    login_lockout_seconds: Annotated[
        float | None, typer.Option(help="Seconds a lockout lasts [XUELIANG_LOGIN_LOCKOUT_SECONDS] (900).")
    ] = None,
    login_rate_limit: Annotated[
        float | None,
        typer.Option(help="Login/refresh requests per minute per address [XUELIANG_LOGIN_RATE_LIMIT] (30)."),
    ] = None,
    cors_origins: Annotated[
        str | None,
        typer.Option(help="Comma-separated origins allowed cross-site [XUELIANG_CORS_ORIGINS] (none)."),
    ] = None,
    view_reason_required: Annotated[
        bool | None,
        typer.Option(
            "--view-reason-required/--no-view-reason-required",
            help="Live view and snapshots need a reason [XUELIANG_VIEW_REASON_REQUIRED] (no).",
        ),
    ] = None,
    oidc_issuer: Annotated[
        str | None, typer.Option(help="OpenID Connect issuer URL [XUELIANG_OIDC_ISSUER] (none).")
    ] = None,
    oidc_client_id: Annotated[
        str | None, typer.Option(help="OIDC client ID [XUELIANG_OIDC_CLIENT_ID].")
    ] = None,
    oidc_client_secret: Annotated[
        str | None, typer.Option(help="OIDC client secret [XUELIANG_OIDC_CLIENT_SECRET].")
    ] = None,
    oidc_scopes: Annotated[
        str | None, typer.Option(help="OIDC scopes [XUELIANG_OIDC_SCOPES] (openid profile).")
    ] = None,
    oidc_username_claim: Annotated[
        str | None,
        typer.Option(
            help="Claim naming the local account [XUELIANG_OIDC_USERNAME_CLAIM] (preferred_username)."
        ),
    ] = None,
    oidc_redirect_url: Annotated[
        str | None, typer.Option(help="Public callback URL [XUELIANG_OIDC_REDIRECT_URL] (from the request).")
    ] = None,
    content_security_policy: Annotated[
        str | None,
        typer.Option(help="Content-Security-Policy of every response [XUELIANG_CONTENT_SECURITY_POLICY]."),
    ] = None,
    cascade_poll_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between checks of what upper platforms see; changes are notified "
            "[XUELIANG_CASCADE_POLL_INTERVAL] (10)."
        ),
    ] = None,
) -> None:
    """Run the platform: HTTP API and web on --http, SIP on --sip, data in --data-dir."""
    from xueliang.platform import run_platform

    settings = _settings(
        config,
        data_dir=data_dir,
        db=db,
        http=http,
        sip=sip,
        sip_id=sip_id,
        sip_domain=sip_domain,
        sip_password=sip_password,
        keepalive_interval=keepalive_interval,
        keepalive_misses=keepalive_misses,
        timezone=timezone,
        point_classes=point_classes,
        log_level=log_level,
        sip_rate_limit=sip_rate_limit,
        sip_accept_unknown=sip_accept_unknown,
        media_ip=media_ip,
        media_ports=media_ports,
        media_transport=media_transport,
        live_idle_timeout=live_idle_timeout,
        cascade_poll_interval=cascade_poll_interval,
        area=area,
        inspection_interval=inspection_interval,
        inspection_concurrency=inspection_concurrency,
        map_tile_url=map_tile_url,
        map_coord_system=map_coord_system,
        access_token_ttl=access_token_ttl,
        refresh_token_ttl=refresh_token_ttl,
        login_max_failures=login_max_failures,
        login_failure_window=login_failure_window,
        login_lockout_seconds=login_lockout_seconds,
        login_rate_limit=login_rate_limit,
        cors_origins=cors_origins,
        view_reason_required=view_reason_required,
        oidc_issuer=oidc_issuer,
        oidc_client_id=oidc_client_id,
        oidc_client_secret=oidc_client_secret,
        oidc_scopes=oidc_scopes,
        oidc_username_claim=oidc_username_claim,
        oidc_redirect_url=oidc_redirect_url,
        content_security_policy=content_security_policy,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(run_platform(settings))


@app.command()
def demo(
    channels: Annotated[int, typer.Option(min=1, help="Channels in the simulated city.")] = 20000,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the demo data and start over.")] = False,
    data_dir: Annotated[Path, typer.Option(help="Demo data directory.")] = Path("xueliang-demo"),
    http: Annotated[str | None, typer.Option(help="HTTP listen HOST:PORT (127.0.0.1:8000).")] = None,
    sip: Annotated[str | None, typer.Option(help="SIP listen HOST:PORT (127.0.0.1:5060).")] = None,
    rtsp: Annotated[
        str, typer.Option(help="Where the simulated RTSP cameras listen, HOST:PORT (loopback).")
    ] = "127.0.0.1:8554",
) -> None:
    """A whole simulated city on the embedded defaults: seed it, serve it, print the URL."""
    from xueliang.demo.run import run_demo
    from xueliang.sim import parse_platform

    try:
        parse_platform(rtsp)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--rtsp") from None
    settings = _settings(None, data_dir=data_dir, http=http, sip=sip, log_level="WARNING")
    with contextlib.suppress(KeyboardInterrupt):
        run(run_demo(settings, channels=channels, fresh=fresh, rtsp=rtsp))
    typer.echo("demo stopped; run it again to resume, or with --fresh to start over")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None, data_dir: DataDirOpt = None, db: DbOpt = None) -> None:
    """Bring the database schema to the latest version."""
    from xueliang.db import sync_url
    from xueliang.migrate import upgrade

    settings = _settings(config, data_dir=data_dir, db=db)
    if settings.database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    typer.echo(f"database at {sync_url(settings.database_url)} is up to date")


async def _with_session(settings: Settings, work: Any) -> Any:
    from xueliang.db import create_engine, session_factory
    from xueliang.migrate import upgrade_async

    engine = create_engine(settings.database_url)
    try:
        if engine.dialect.name == "sqlite":
            await upgrade_async(engine)
        async with session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


@import_app.command("channels")
def import_channels_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; write nothing.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good rows even if some rows are bad.")
    ] = False,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Import channels (upsert by GB ID). A file with any bad row changes nothing unless --skip-invalid."""
    from xueliang.catalog import HeaderError, TabularError, import_channels

    settings = _settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> Any:
        async with session.begin():
            return await import_channels(
                session,
                file,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                point_classes=settings.point_classes,
            )

    try:
        outcome = asyncio.run(_with_session(settings, work))
    except (TabularError, HeaderError) as exc:
        raise _fail(f"{file}: {exc}") from None
    for error in outcome.errors[:200]:
        typer.echo(f"{file}: {error}", err=True)
    if len(outcome.errors) > 200:
        typer.echo(f"{file}: … and {len(outcome.errors) - 200} more errors", err=True)
    result = outcome.result
    verb = "imported" if outcome.applied else "would import"
    typer.echo(
        f"{outcome.rows} rows, {outcome.valid} valid, {len(outcome.errors)} errors; {verb}: "
        f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged"
        + (
            f"; new organisations: {', '.join(result.organizations_created)}"
            if result.organizations_created
            else ""
        )
        + (f"; new devices: {result.devices_created}" if result.devices_created else "")
    )
    if outcome.errors and not outcome.applied and not dry_run:
        raise _fail("nothing was imported; fix the rows above or pass --skip-invalid")
    if outcome.errors and dry_run:
        raise typer.Exit(1)


@import_app.command("regions")
def import_regions_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or XLSX file.")],
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Import regions: columns civil_code, name[, planned_class1, planned_class2, …]."""
    from xueliang.catalog import HeaderError, TabularError, import_regions

    settings = _settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> Any:
        async with session.begin():
            return await import_regions(session, file)

    try:
        created, updated = asyncio.run(_with_session(settings, work))
    except (TabularError, HeaderError, ValueError) as exc:
        raise _fail(f"{file}: {exc}") from None
    typer.echo(f"regions: {created} new, {updated} renamed")


@export_app.command("channels")
def export_channels_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Output .csv or .xlsx file.")],
    region: Annotated[str | None, typer.Option(help="Only this civil-code prefix.")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Export channels in the import format (stream credentials are never exported)."""
    from xueliang.catalog import ChannelFilter, TabularError, export_channels

    settings = _settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> int:
        return await export_channels(session, file, ChannelFilter(region=region))

    try:
        count = asyncio.run(_with_session(settings, work))
    except TabularError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"exported {count} channels to {file}")


def _register_plane_commands() -> None:
    from xueliang.cli_vqd import vqd

    app.command("vqd", help="Diagnose images (video quality diagnosis): one JSON object a line.")(vqd)
    from xueliang.cli_sim import sim

    app.command("sim", help="A simulated fleet of GB/T 28181 devices registering to a platform.")(sim)
    from xueliang.insight.cli import register as register_insight

    register_insight(app)
    from xueliang.security.cli import register as register_security

    register_security(app)


_register_plane_commands()


def main() -> None:
    app(prog_name="xueliang")


if __name__ == "__main__":
    sys.exit(main())
