"""Daily statistics, weekly notices (通报) and monthly analyses as HTML, PDF and XLSX."""

from xueliang.insight.reports.data import Report, build_report
from xueliang.insight.reports.render import FORMATS, render_html, render_pdf, render_report, render_xlsx

__all__ = ["FORMATS", "Report", "build_report", "render_html", "render_pdf", "render_report", "render_xlsx"]
