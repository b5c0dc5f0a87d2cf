"""Import and export of the resource directory from and to files (the CLI and API share it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from xueliang.catalog.directory import (
    ChannelFilter,
    ImportResult,
    RegionRow,
    apply_channel_records,
    export_channel_rows,
    known_civil_codes,
    upsert_regions,
)
from xueliang.catalog.records import COLUMNS, HeaderError, RowError, check_rows, map_header
from xueliang.catalog.tabular import TabularError, read_table, write_table
from xueliang.gbcode import is_civil_code

__all__ = ["ChannelImport", "export_channels", "import_channels", "import_regions"]


@dataclass(slots=True)
class ChannelImport:
    """What an import found and did. ``applied`` is False for a dry run or a rejected file."""

    rows: int = 0
    valid: int = 0
    errors: list[RowError] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)
    applied: bool = False


async def import_channels(
    session: AsyncSession,
    path: Path,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    point_classes: int = 3,
) -> ChannelImport:
    """Check every row of ``path``; write only if all rows are valid (or ``skip_invalid``).

    Raises TabularError or HeaderError when the file as a whole is unusable.
    """
    header, rows = read_table(path)
    keys = map_header(header)
    known = await known_civil_codes(session)

    def mapped() -> Iterator[tuple[int, dict[str, str]]]:
        for number, cells in rows:
            yield number, {k: cells[i] for i, k in enumerate(keys) if k and i < len(cells)}

    check = check_rows(mapped(), known_civil_codes=known, point_classes=point_classes)
    outcome = ChannelImport(rows=check.rows, valid=len(check.records), errors=check.errors)
    if check.rows == 0:
        raise TabularError("the file has a header but no rows")
    write = not dry_run and (check.ok or skip_invalid)
    outcome.result = await apply_channel_records(session, check.records, dry_run=not write)
    outcome.applied = write
    return outcome


async def export_channels(session: AsyncSession, path: Path, filters: ChannelFilter | None = None) -> int:
    """Write matching channels to ``path`` (.csv or .xlsx) in the import format; returns the count."""
    rows = await export_channel_rows(session, filters)
    write_table(path, COLUMNS, rows)
    return len(rows)


REGION_ALIASES = {"行政区划": "civil_code", "区划编码": "civil_code", "名称": "name", "区划名称": "name"}


async def import_regions(session: AsyncSession, path: Path) -> tuple[int, int]:
    """Regions from a table ``civil_code, name[, planned_class1, planned_class2, ...]``.

    All rows are checked first; any bad row raises HeaderError/ValueError and nothing is written.
    """
    header, rows = read_table(path)
    keys = [REGION_ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    if "civil_code" not in keys or "name" not in keys:
        raise HeaderError("a region table needs the columns civil_code and name")
    plan_columns = {
        i: int(k.removeprefix("planned_class"))
        for i, k in enumerate(keys)
        if k.startswith("planned_class") and k.removeprefix("planned_class").isdigit()
    }
    parsed: list[RegionRow] = []
    problems: list[str] = []
    for number, cells in rows:
        values = dict(zip(keys, cells, strict=False))
        code = (values.get("civil_code") or "").strip()
        name = (values.get("name") or "").strip()
        if not is_civil_code(code):
            problems.append(f"row {number}, column civil_code: not a 2/4/6/8-digit civil code: {code!r}")
            continue
        if not name:
            problems.append(f"row {number}, column name: required")
            continue
        planned: dict[int, int] = {}
        for index, point_class in plan_columns.items():
            text = cells[index].strip() if index < len(cells) else ""
            if not text:
                continue
            if not text.isdigit():
                problems.append(f"row {number}, column {keys[index]}: not a whole number: {text!r}")
                continue
            planned[point_class] = int(text)
        parsed.append(RegionRow(code, name, planned))
    if problems:
        raise ValueError("\n".join(problems))
    return await upsert_regions(session, parsed)
