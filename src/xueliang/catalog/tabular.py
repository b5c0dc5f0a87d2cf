"""Reading and writing channel tables as CSV (UTF-8, UTF-8 with BOM, GB18030) and XLSX."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TabularError", "decode_csv", "read_table", "write_table"]

# An integer cell above this was typed as a number in Excel: a 20-digit GB ID has already
# lost digits to floating point by the time we see it.
_EXACT_INTEGER_LIMIT = 2**53


class TabularError(ValueError):
    """The file as a whole cannot be read (format, encoding, emptiness)."""


def decode_csv(data: bytes) -> str:
    """Decode CSV bytes: BOM first, then strict UTF-8, then GB18030 (which covers GB2312/GBK)."""
    if not data.strip():
        raise TabularError("the file is empty")
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", "UTF-8 (with BOM)")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", "UTF-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise TabularError(
            f"cannot decode the file: it is neither UTF-8 nor GB18030 (bad bytes at offset {exc.start}); "
            "save it as UTF-8 CSV or XLSX"
        ) from None


def _strict(data: bytes, codec: str, label: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise TabularError(f"the file says {label} but has invalid bytes at offset {exc.start}") from None


def read_table(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and ``(row_number, cells)`` for a CSV or XLSX file; the header is row 1.

    Blank rows are skipped but still counted, so numbers match what a spreadsheet shows.
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ""):
        return _read_csv(path.read_bytes())
    raise TabularError(f"unsupported file type {suffix!r}: use .csv or .xlsx")


def _read_csv(data: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    text = decode_csv(data)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # comma unless the header says otherwise
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise TabularError("the file is empty") from None
    except csv.Error as exc:
        raise TabularError(f"not a readable CSV file: {exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise TabularError(f"row {number + 1}: not readable as CSV: {exc}") from None
            number += 1
            if any(cell.strip() for cell in cells):
                yield number, cells

    return header, rows()


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise TabularError(f"not a readable XLSX file: {exc}") from None
    sheet = book.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        header = [_cell(value) for value in next(iterator)]
    except StopIteration:
        book.close()
        raise TabularError("the file is empty") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(iterator, start=2):
                cells = [_cell(value) for value in values]
                if any(cells):
                    yield number, cells
        finally:
            book.close()

    return header, rows()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value) if abs(value) < _EXACT_INTEGER_LIMIT else _NUMBER_TOO_LONG
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)) if abs(value) < _EXACT_INTEGER_LIMIT else _NUMBER_TOO_LONG
        return repr(value)
    return str(value).strip()


# A marker no validator accepts, so the row is reported at its own column.
_NUMBER_TOO_LONG = "(a long number stored as a number in the spreadsheet: format this column as text)"


def write_table(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write CSV (UTF-8 with BOM so Excel shows Chinese correctly) or XLSX (text cells for IDs)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("channels")
        sheet.append(list(header))
        for row in rows:
            sheet.append(["" if v is None else v for v in row])
        book.save(path)
        return
    if suffix not in (".csv", ".txt"):
        raise TabularError(f"unsupported file type {suffix!r}: use .csv or .xlsx")
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
