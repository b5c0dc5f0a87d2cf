"""``xueliang report …`` and ``xueliang workorders …``: registered by ``xueliang.cli``.

Reuses the main CLI's settings and session helpers, so every command honours ``--config``,
``--data-dir``, ``--db`` and the ``XUELIANG_*`` environment like the others.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

__all__ = ["register"]

workorders_app = typer.Typer(help="Rectification work orders (整改工单).", no_args_is_help=True)


class Format(StrEnum):
    HTML = "html"
    PDF = "pdf"
    XLSX = "xlsx"


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


def _cli() -> Any:
    import xueliang.cli as cli

    return cli


def _zone(settings: Any) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _cli()._fail(f"unknown timezone {settings.timezone!r}", 2) from None


def report(
    kind: Annotated[str, typer.Argument(help="daily, weekly or monthly")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="Output file.")],
    fmt: Annotated[
        Format | None, typer.Option("--format", help="html, pdf or xlsx (default: from --out's suffix).")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="A local day YYYY-MM-DD in the period (default: the last complete one)."),
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="Civil code of the region (default: everything).")
    ] = None,
    lang: Annotated[Lang, typer.Option(help="zh (default) or en.")] = Lang.ZH,
    config: Annotated[Path | None, typer.Option("--config", envvar="XUELIANG_CONFIG")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data directory [XUELIANG_DATA_DIR].")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL [XUELIANG_DB].")] = None,
) -> None:
    """Write the daily statistics, weekly notice (通报) or monthly analysis of a period."""
    from xueliang.db import utcnow
    from xueliang.insight.indicators import UnknownScope
    from xueliang.insight.periods import ReportKind, default_report_date
    from xueliang.insight.reports import build_report, render_report

    cli = _cli()
    try:
        report_kind = ReportKind(kind)
    except ValueError:
        raise cli._fail(f"unknown report {kind!r}: use daily, weekly or monthly", 2) from None
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise cli._fail(f"--date {day!r} is not a date (YYYY-MM-DD)", 2) from None
    if fmt is None:
        try:
            fmt = Format(out.suffix.lower().lstrip("."))
        except ValueError:
            raise cli._fail(f"--out {out}: give --format html, pdf or xlsx", 2) from None
    settings = cli._settings(config, data_dir=data_dir, db=db)
    zone = _zone(settings)
    now = utcnow()
    chosen = chosen or default_report_date(report_kind, now.astimezone(zone).date())

    chosen_format = fmt.value

    async def work(session: Any) -> bytes:
        built = await build_report(
            session, report_kind, chosen, zone=zone, now=now, region=region, area=settings.area
        )
        return await asyncio.to_thread(render_report, built, chosen_format, lang.value)

    try:
        body = asyncio.run(cli._with_session(settings, work))
    except UnknownScope as exc:
        raise cli._fail(str(exc)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)
    typer.echo(f"{report_kind.value} report for {chosen.isoformat()} written to {out} ({len(body):,} bytes)")


def _run(settings: Any, work: Any) -> Any:
    from xueliang.insight.indicators import UnknownScope
    from xueliang.insight.workorders import WorkOrderConflict, WorkOrderNotFound

    cli = _cli()
    try:
        return asyncio.run(cli._with_session(settings, work))
    except (WorkOrderNotFound, UnknownScope, WorkOrderConflict, ValueError) as exc:
        raise cli._fail(str(exc)) from None


ConfigOpt = Annotated[Path | None, typer.Option("--config", envvar="XUELIANG_CONFIG")]
DataDirOpt = Annotated[Path | None, typer.Option(help="Data directory [XUELIANG_DATA_DIR].")]
DbOpt = Annotated[str | None, typer.Option(help="Database URL [XUELIANG_DB].")]
ActorOpt = Annotated[str, typer.Option(help="Who does this (recorded in the history).")]


def _filters(
    session: Any, status: str | None, overdue: bool | None, region: str | None, org: str | None
) -> Any:
    from xueliang.insight.indicators import resolve_scope
    from xueliang.insight.workorders import WorkOrderFilter

    async def make() -> Any:
        scope = await resolve_scope(session, region, org)
        return WorkOrderFilter(status=status, overdue=overdue, region=region, org_path=scope.org_path)

    return make()


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


@workorders_app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="open, assigned, closed or active (not closed).")
    ] = "active",
    overdue: Annotated[
        bool | None, typer.Option("--overdue/--not-overdue", help="Only overdue ones.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="Civil-code prefix.")] = None,
    org: Annotated[str | None, typer.Option(help="Organisation code (its subtree).")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """List work orders, most urgent first."""
    from xueliang.db import utcnow
    from xueliang.insight.workorders import list_work_orders

    settings = _cli()._settings(config, data_dir=data_dir, db=db)
    zone = _zone(settings)
    now = utcnow()

    async def work(session: Any) -> Any:
        filters = await _filters(session, None if status == "all" else status, overdue, region, org)
        return await list_work_orders(session, filters, now=now, limit=limit)

    items, total = _run(settings, work)
    for o in items:
        flag = "OVERDUE" if o["overdue"] and o["status"] != "closed" else ""
        typer.echo(
            f"#{o['id']:<6} {o['status']:<8} P{o['priority']} {o['cause']:<10} {o['channel_id']} "
            f"{o['channel_name']}  {o['organization'] or '-'}  due {_local(o['due_at'], zone)} "
            f"{o['assignee'] or '-'} {flag}".rstrip()
        )
    typer.echo(f"{len(items)} of {total} work orders")


@workorders_app.command("assign")
def assign_command(
    order_id: Annotated[int, typer.Argument(help="Work order number.")],
    assignee: Annotated[str, typer.Argument(help="Person or contractor.")],
    note: Annotated[str, typer.Option(help="A note for the history.")] = "",
    actor: ActorOpt = "operator",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Assign a work order."""
    from xueliang.db import utcnow
    from xueliang.insight.workorders import assign_work_order

    settings = _cli()._settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> None:
        async with session.begin():
            await assign_work_order(session, order_id, assignee, actor=actor, now=utcnow(), note=note)

    _run(settings, work)
    typer.echo(f"work order {order_id} assigned to {assignee}")


@workorders_app.command("comment")
def comment_command(
    order_id: Annotated[int, typer.Argument(help="Work order number.")],
    note: Annotated[str, typer.Argument(help="The comment.")],
    actor: ActorOpt = "operator",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a comment to a work order's history."""
    from xueliang.db import utcnow
    from xueliang.insight.workorders import comment_work_order

    settings = _cli()._settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> None:
        async with session.begin():
            await comment_work_order(session, order_id, note, actor=actor, now=utcnow())

    _run(settings, work)
    typer.echo(f"comment added to work order {order_id}")


@workorders_app.command("close")
def close_command(
    order_id: Annotated[int, typer.Argument(help="Work order number.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is closed by hand (required).")],
    actor: ActorOpt = "operator",
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Close a work order by hand with a reason."""
    from xueliang.db import utcnow
    from xueliang.insight.workorders import close_work_order

    settings = _cli()._settings(config, data_dir=data_dir, db=db)

    async def work(session: Any) -> None:
        async with session.begin():
            await close_work_order(session, order_id, reason, actor=actor, now=utcnow())

    _run(settings, work)
    typer.echo(f"work order {order_id} closed")


@workorders_app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Output .xlsx file.")],
    status: Annotated[str | None, typer.Option(help="open, assigned, closed, active, or all.")] = "all",
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue")] = None,
    region: Annotated[str | None, typer.Option(help="Civil-code prefix.")] = None,
    org: Annotated[str | None, typer.Option(help="Organisation code (its subtree).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
    db: DbOpt = None,
) -> None:
    """Export work orders and their histories to XLSX (times in the configured zone)."""
    from xueliang.db import utcnow
    from xueliang.insight.workorders import export_work_orders

    if file.suffix.lower() != ".xlsx":
        raise _cli()._fail(f"{file}: use a .xlsx file", 2)
    settings = _cli()._settings(config, data_dir=data_dir, db=db)
    zone = _zone(settings)

    async def work(session: Any) -> int:
        filters = await _filters(session, None if status == "all" else status, overdue, region, org)
        return await export_work_orders(session, file, filters, now=utcnow(), zone=zone)

    count = _run(settings, work)
    typer.echo(f"exported {count} work orders to {file}")


def register(app: typer.Typer) -> None:
    """Add ``report`` and ``workorders`` to the ``xueliang`` command."""
    app.command("report", help="Write a daily, weekly or monthly report (HTML, PDF or XLSX).")(report)
    app.add_typer(workorders_app, name="workorders")
