"""Operations insight (运维统计): indicators, daily/weekly/monthly reports, rectification work orders.

- :mod:`rates` and :mod:`periods` are pure: rates from counts and intervals, report periods in
  the configured zone as UTC;
- :mod:`indicators` computes them from the database (interval overlap summed in SQL);
- :mod:`reports` builds and renders reports (HTML, PDF, XLSX);
- :mod:`workorders` opens, tracks and closes work orders; schedule
  :func:`reconcile_work_orders` (e.g. every minute).
"""

from xueliang.insight.indicators import (
    Scope,
    UnknownScope,
    breakdown,
    resolve_scope,
    summary,
    tally_groups,
    trend,
    worst_channels,
)
from xueliang.insight.periods import Period, ReportKind, day_periods, previous_period, report_period
from xueliang.insight.rates import GOOD_STATE, Span, Tally, Targets, indicators, ratio, valid_annotation
from xueliang.insight.workorders import (
    ReconcileResult,
    WorkOrder,
    WorkOrderConflict,
    WorkOrderEvent,
    WorkOrderFilter,
    WorkOrderNotFound,
    WorkOrderPolicy,
    WorkOrderStatus,
    assign_work_order,
    close_work_order,
    comment_work_order,
    get_work_order,
    list_work_orders,
    reconcile_work_orders,
)

__all__ = [
    "GOOD_STATE",
    "Period",
    "ReconcileResult",
    "ReportKind",
    "Scope",
    "Span",
    "Tally",
    "Targets",
    "UnknownScope",
    "WorkOrder",
    "WorkOrderConflict",
    "WorkOrderEvent",
    "WorkOrderFilter",
    "WorkOrderNotFound",
    "WorkOrderPolicy",
    "WorkOrderStatus",
    "assign_work_order",
    "breakdown",
    "close_work_order",
    "comment_work_order",
    "day_periods",
    "get_work_order",
    "indicators",
    "list_work_orders",
    "previous_period",
    "ratio",
    "reconcile_work_orders",
    "report_period",
    "resolve_scope",
    "summary",
    "tally_groups",
    "trend",
    "valid_annotation",
    "worst_channels",
]
