"""Portable SQL for interval arithmetic: epoch seconds, GREATEST and LEAST on SQLite and PostgreSQL.

Durations are computed as differences of epoch seconds (a float), never by subtracting
timestamps, because SQLite has no interval type and PostgreSQL's is not a number:

- ``epoch(x)``: ``EXTRACT(EPOCH FROM x)`` on PostgreSQL, ``(julianday(x) - 2440587.5) * 86400``
  rounded to the millisecond on SQLite (which stores UTC as ISO text and computes julianday
  from whole milliseconds; SQLite 3.40 has no ``unixepoch(x, 'subsec')``);
- ``greatest(a, b, …)`` / ``least(a, b, …)``: PostgreSQL's functions, SQLite's multi-argument
  scalar ``MAX``/``MIN``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["epoch", "greatest", "least"]


class epoch(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it renders
    type = Float()
    inherit_cache = True
    name = "epoch"


class greatest(FunctionElement[float]):  # noqa: N801
    type = Float()
    inherit_cache = True
    name = "greatest"


class least(FunctionElement[float]):  # noqa: N801
    type = Float()
    inherit_cache = True
    name = "least"


@compiles(epoch)
def _epoch_pg(element: epoch, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: Any, **kw: Any) -> str:
    # julianday() is whole milliseconds internally; rounding to them makes equal instants equal.
    return (
        f"(round((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400000.0) / 1000.0)"
    )


@compiles(greatest)
def _greatest(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"MAX({compiler.process(element.clauses, **kw)})"


@compiles(least)
def _least(element: least, compiler: Any, **kw: Any) -> str:
    return f"LEAST({compiler.process(element.clauses, **kw)})"


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: Any, **kw: Any) -> str:
    return f"MIN({compiler.process(element.clauses, **kw)})"
