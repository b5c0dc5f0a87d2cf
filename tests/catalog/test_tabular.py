from pathlib import Path

import pytest
from openpyxl import Workbook

from xueliang.catalog.tabular import TabularError, decode_csv, read_table, write_table

TEXT = "gb_id,name\n34020200001320000001,镜湖区中山路\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("gb18030"),
        TEXT.encode("gbk"),
        TEXT.encode("utf-16"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gbk", "utf-16"],
)
def test_encodings_decode_to_the_same_text(data):
    assert decode_csv(data).replace("\r\n", "\n") == TEXT


def test_undecodable_bytes_are_a_clear_error():
    with pytest.raises(TabularError, match="neither UTF-8 nor GB18030"):
        decode_csv(b"gb_id\n\x81\x20\xff\xff\n")


def test_bom_with_bad_bytes():
    with pytest.raises(TabularError, match="UTF-8 \\(with BOM\\)"):
        decode_csv(b"\xef\xbb\xbfgb_id\n\xff\n")


@pytest.mark.parametrize("data", [b"", b"  \r\n\n"])
def test_empty_file(tmp_path: Path, data: bytes):
    path = tmp_path / "empty.csv"
    path.write_bytes(data)
    with pytest.raises(TabularError, match="empty"):
        read_table(path)


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("a,b\n1,2\n\n3,4\n", encoding="utf-8")
    header, rows = read_table(path)
    assert header == ["a", "b"] and list(rows) == [(2, ["1", "2"]), (4, ["3", "4"])]


def test_semicolon_and_tab_delimiters(tmp_path: Path):
    for sep in (";", "\t"):
        path = tmp_path / "d.csv"
        path.write_text(f"a{sep}b\n1{sep}2\n", encoding="utf-8")
        header, rows = read_table(path)
        assert header == ["a", "b"] and list(rows) == [(2, ["1", "2"])]


def test_xlsx_round_trip_keeps_ids_as_text(tmp_path: Path):
    path = tmp_path / "c.xlsx"
    write_table(path, ["gb_id", "name", "x"], [["34020200001320000001", "镜湖", 1.5]])
    header, rows = read_table(path)
    assert header == ["gb_id", "name", "x"]
    assert list(rows) == [(2, ["34020200001320000001", "镜湖", "1.5"])]


def test_xlsx_number_ids_are_flagged(tmp_path: Path):
    book = Workbook()
    book.active.append(["gb_id", "name"])
    book.active.append([34020200001320000001, "x"])
    book.active.append([7, "y"])
    path = tmp_path / "n.xlsx"
    book.save(path)
    _, rows = read_table(path)
    cells = list(rows)
    assert "format this column as text" in cells[0][1][0]
    assert cells[1][1][0] == "7"


def test_broken_xlsx_and_unknown_type(tmp_path: Path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TabularError, match="not a readable XLSX"):
        read_table(path)
    with pytest.raises(TabularError, match="unsupported file type"):
        read_table(tmp_path / "x.json")


def test_csv_export_has_bom_for_excel(tmp_path: Path):
    path = tmp_path / "o.csv"
    write_table(path, ["a"], [["镜湖"], [None]])
    assert path.read_bytes().startswith(b"\xef\xbb\xbfa\r\n")
