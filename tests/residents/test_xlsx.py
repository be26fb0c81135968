"""residents.xlsx: a register XLSX read in constant memory gives what openpyxl's read-only
mode gives, cell for cell (shared and inline strings, dates, numbers, formulas, gaps)."""

import datetime as dt
import io

import pytest
import xlsxwriter
from openpyxl import Workbook, load_workbook

from residents.xlsx import DiskStrings, load_register_workbook


def _openpyxl_rows(path) -> list:
    book = load_workbook(path, read_only=True, data_only=False)
    try:
        return [
            [(c.value, getattr(c, "row", None), c.data_type) for c in row]
            for row in book.worksheets[0].iter_rows()
        ]
    finally:
        book.close()


def _register_rows(path, directory) -> list:
    book = load_register_workbook(path, directory=str(directory))
    try:
        return [
            [(c.value, c.row, c.data_type) for c in row] for row in book.worksheets[0].iter_rows()
        ]
    finally:
        book.close()


def _without_gaps(rows):
    """Values and types; openpyxl pads each row to the sheet's width (and fills skipped rows)
    with empty cells, which the register reader leaves out."""
    out = []
    for row in rows:
        cells = [(v, t) for v, _r, t in row]
        while cells and cells[-1] == (None, "n"):
            cells.pop()
        out.append(cells)
    return out


def test_shared_strings_dates_numbers_formulas_and_gaps_match_openpyxl(tmp_path):
    path = tmp_path / "excel-like.xlsx"
    book = xlsxwriter.Workbook(str(path))  # shared strings, as Excel writes them
    sheet = book.add_worksheet("register")
    dates = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet.write_row(0, 0, ["ИИН", "birth_date", "district", "note"])
    sheet.write_string(1, 0, "000101500012")
    sheet.write_datetime(1, 1, dt.datetime(2000, 1, 1), dates)
    sheet.write_string(1, 2, "medeu")
    sheet.write_string(2, 0, "850615300017")
    sheet.write_string(2, 1, "15.06.1985")
    sheet.write_string(2, 2, "Медеуский район")
    sheet.write_number(3, 0, 850615300017)
    sheet.write_formula(3, 2, '="medeu"')
    sheet.write_string(5, 2, "only the third column")  # a gap row, and gaps in the row
    sheet.write_string(6, 0, "x005F_escaped")
    book.close()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    ours = _register_rows(path, scratch)
    theirs = _openpyxl_rows(path)
    assert _without_gaps(ours) == [row for row in _without_gaps(theirs) if row]
    assert [r[0][1] for r in ours] == [1, 2, 3, 4, 6, 7]  # line numbers, gaps skipped
    assert ours[3][2][2] == "f" and ours[1][1][0] == dt.datetime(2000, 1, 1)
    assert ours[4][0][0] is None and ours[4][2][0] == "only the third column"
    # The shared strings' temporary files have no name: nothing is left beside the upload.
    assert list(scratch.iterdir()) == []


def test_inline_strings_from_openpyxl_match_too(tmp_path):
    path = tmp_path / "inline.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet("register")
    sheet.append(["iin", "birth_date", "district"])
    sheet.append(["000101500012", dt.date(2000, 1, 1), "medeu"])
    sheet.append(["=1+1", None, "almaly"])
    book.save(path)
    assert _without_gaps(_register_rows(path, tmp_path)) == _without_gaps(_openpyxl_rows(path))


def test_disk_strings_index_and_close(tmp_path):
    xml = (
        '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" count="3" uniqueCount="3"><si><t>000101500012</t></si>'
        "<si><r><t>rich </t></r><r><t>text</t></r></si><si><t>Медеу</t></si></sst>"
    ).encode()
    strings = DiskStrings(io.BytesIO(xml), directory=str(tmp_path))
    assert len(strings) == 3
    assert [strings[i] for i in range(3)] == ["000101500012", "rich text", "Медеу"]
    assert strings[-1] == "Медеу"
    with pytest.raises(IndexError):
        strings[3]
    strings.close()
    assert list(tmp_path.iterdir()) == []
