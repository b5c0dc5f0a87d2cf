"""HTTP routes of the insight plane: one router per resource (``/stats``, ``/reports``, ``/workorders``)."""
