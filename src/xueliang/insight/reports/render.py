"""Rendering a :class:`Report`: HTML (Jinja2), PDF (WeasyPrint, from the same HTML), XLSX (openpyxl).

Rates are written as the fractions the API returns; the spreadsheet formats them as
percentages, so a cell's value equals the API's number exactly.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from xueliang.insight.reports.charts import bar_chart, line_chart
from xueliang.insight.reports.data import RATE_KEYS, Report
from xueliang.insight.reports.i18n import labels
from xueliang.insight.reports.template import REPORT_HTML

__all__ = ["FORMATS", "render_html", "render_pdf", "render_report", "render_xlsx"]

FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _delta(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.2f}"


def _updown(value: float | None) -> str:
    if not value:
        return ""
    return "up" if value > 0 else "down"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _local(zone: ZoneInfo) -> Callable[[datetime | None], str]:
    def local(moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return local


def _environment() -> Any:
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report, lang: str = "zh") -> str:
    t = labels(lang)
    zone = ZoneInfo(report.zone)
    trend_svg = line_chart(
        [day["date"][5:] for day in report.trend],
        [
            (t["online_rate"], [day["online_rate"] for day in report.trend]),
            (t["integrity_rate"], [day["integrity_rate"] for day in report.trend]),
            (t["output_rate"], [day["output_rate"] for day in report.trend]),
        ],
        target=report.targets.default,
    )
    bars = [
        bar_chart(
            [row["name"] for row in rows], [row["online_rate"] for row in rows], target=report.targets.default
        )
        for rows in (report.counties, report.departments)
    ]
    template = _environment().from_string(REPORT_HTML)
    return str(
        template.render(
            r=report,
            t=t,
            lang=lang,
            rate_keys=RATE_KEYS,
            pct=_pct,
            delta=_delta,
            updown=_updown,
            num=_num,
            local=_local(zone),
            trend_svg=trend_svg,
            bars=bars,
        )
    )


def render_pdf(report: Report, lang: str = "zh") -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=render_html(report, lang)).write_pdf())


_PERCENT = "0.00%"


def render_xlsx(report: Report, lang: str = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    t = labels(lang)
    zone = ZoneInfo(report.zone)
    local = _local(zone)
    book = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str], rows: list[list[Any]], percent_columns: set[int]) -> None:
        ws = book.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append(row)
        for column in percent_columns:
            for (cell,) in ws.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
                cell.number_format = _PERCENT
        for index, _ in enumerate(header, start=1):
            ws.column_dimensions[ws.cell(1, index).column_letter].width = 16

    summary = book.active
    summary.title = t["sheet.summary"]
    summary.append([t["title." + report.kind]])
    summary["A1"].font = Font(bold=True, size=14)
    summary.append([t["period"], report.period.label(), local(report.period.start), local(report.period.end)])
    summary.append([t["region"], report.region or t["all"], report.region_name])
    summary.append([t["zone"], report.zone, t["generated"], local(report.generated_at)])
    summary.append([])
    summary.append([t["indicator"], t["value"], t["previous"], t["change"], "key"])
    for cell in summary[6]:
        cell.font = bold
    for key in RATE_KEYS:
        summary.append(
            [t[key], report.headline[key], report.previous_headline[key], report.changes[key], key]
        )
        for cell in summary[summary.max_row][1:4]:
            cell.number_format = _PERCENT
    summary.append(
        [t["channels"], report.headline["channels"], report.previous_headline["channels"], None, "channels"]
    )
    summary.append(
        [
            t["downtime_hours"],
            report.headline["downtime_hours"],
            report.previous_headline["downtime_hours"],
            None,
            "downtime_hours",
        ]
    )
    summary.column_dimensions["A"].width = 22
    for column in "BCDE":
        summary.column_dimensions[column].width = 16

    rate_header = [t["channels"], t["online_rate"], t["integrity_rate"], t["output_rate"]]
    rate_header += [t["annotation_rate"], t["hd_rate"], t["downtime_hours"]]

    def rates(row: dict[str, Any]) -> list[Any]:
        return [
            row["channels"],
            row["online_rate"],
            row["integrity_rate"],
            row["output_rate"],
            row["annotation_rate"],
            row["hd_rate"],
            row["downtime_hours"],
        ]

    sheet(
        t["sheet.classes"],
        [t["point_class"], *rate_header, t["target"], t["met"]],
        [[row["key"], *rates(row), row["target"], row["met"]] for row in report.by_class],
        {2, 3, 4, 5, 6, 8},
    )
    for title, rows in (("sheet.counties", report.counties), ("sheet.departments", report.departments)):
        sheet(
            t[title],
            [t["rank"], t["code"], t["name"], *rate_header],
            [[row["rank"], row["key"], row["name"], *rates(row)] for row in rows],
            {4, 5, 6, 7, 8},
        )
    sheet(
        t["sheet.sources"],
        [t["name"], *rate_header],
        [[t.get("source." + str(row["key"]), row["key"]), *rates(row)] for row in report.sources],
        {2, 3, 4, 5, 6},
    )
    sheet(
        t["sheet.trend"],
        [t["date"], t["online_rate"], t["integrity_rate"], t["output_rate"], t["downtime_hours"]],
        [
            [d["date"], d["online_rate"], d["integrity_rate"], d["output_rate"], d["downtime_hours"]]
            for d in report.trend
        ],
        {1, 2, 3},
    )
    sheet(
        t["sheet.worst"],
        [
            t["channel"],
            t["name"],
            t["organization"],
            t["point_class"],
            t["downtime_hours"],
            t["offline_hours"],
            t["defect_hours"],
            t["output_fail_hours"],
            t["status"],
        ],
        [
            [
                c["id"],
                c["name"],
                c["organization"],
                c["point_class"],
                c["downtime_hours"],
                c["offline_hours"],
                c["defect_hours"],
                c["output_fail_hours"],
                c["status"],
            ]
            for c in report.worst
        ],
        set(),
    )
    sheet(
        t["sheet.workorders"],
        [
            "#",
            t["channel"],
            t["name"],
            t["organization"],
            t["cause"],
            t["priority"],
            t["detected_at"],
            t["due_at"],
            t["assignee"],
        ],
        [
            [
                o["id"],
                o["channel_id"],
                o["channel_name"],
                o["organization_name"] or "",
                o["cause"],
                o["priority"],
                local(o["detected_at"]),
                local(o["due_at"]),
                o["assignee"],
            ]
            for o in report.overdue_orders
        ],
        set(),
    )
    if report.assets is not None:
        sheet(
            t["sheet.assets"],
            [t["alert_kind"], "key", t["alerts"], t["events"], t["still_open"]],
            [
                [t["alert." + kind], kind, row["alerts"], row["events"], row["open"]]
                for kind, row in report.assets["by_kind"].items()
            ],
            set(),
        )
        sheet(
            t["sheet.asset_devices"],
            [t["device"], t["name"], t["alert_kind"], t["events"], t["alerts"], t["last_seen"]],
            [
                [d["device_id"], d["name"], ", ".join(d["kinds"]), d["events"], d["alerts"]]
                + [local(d["last_seen"])]
                for d in report.assets["devices"]
            ],
            set(),
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render_report(report: Report, fmt: str, lang: str = "zh") -> bytes:
    """The report as bytes in ``fmt`` (html, pdf, xlsx)."""
    if fmt == "html":
        return render_html(report, lang).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(report, lang)
    if fmt == "xlsx":
        return render_xlsx(report, lang)
    raise ValueError(f"unknown format {fmt!r}: use html, pdf or xlsx")
