"""Reading a register XLSX in constant memory: openpyxl's parsing, without what grows.

openpyxl's read-only mode streams a sheet's rows, but (1) it reads the workbook's
shared-strings table into a list first, and a register keeps each IIN as a text cell (a number
would lose its leading zero), so Excel writes one shared string per resident; and (2) its
sheet parser clears each row element yet leaves it in the sheet's element, about 90 bytes a
row. Together some 200 MB for Almaty's 2.3 million residents (bench/census_import.py --xlsx).
Here the shared strings go to two unnamed temporary files (the strings, and a fixed-width
index of their offsets) beside the uploaded register, read back by position with a bounded
cache; and each parsed row is removed from its parent. Cells are openpyxl's own parse
(values, dates by the cell's style, formulas as data type "f").
"""

from __future__ import annotations

import struct
import tempfile
from contextlib import suppress
from functools import lru_cache
from typing import NamedTuple

from openpyxl.cell.text import Text
from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
from openpyxl.worksheet._reader import WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
SHEET_DATA_TAG = f"{{{SHEET_MAIN_NS}}}sheetData"
ENTRY = struct.Struct("<QI")  # offset, length in bytes


class DiskStrings:
    """The shared-strings table, read once from its XML, kept in temporary files."""

    def __init__(self, xml_source, *, directory: str | None = None):
        # Unnamed files (gone when closed, or with the process); close() closes them.
        self._data = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self._index = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self._count = 0
        offset = 0
        root = None
        for event, node in iterparse(xml_source, events=("start", "end")):
            if event == "start":
                root = node if root is None else root
                continue
            if node.tag != STRING_TAG:
                continue
            # As openpyxl's read_string_table: the text of the item, escapes undone.
            text = Text.from_tree(node).content.replace("x005F_", "")
            node.clear()
            if root is not None and root is not node:
                with suppress(ValueError):  # not a direct child: left where it is
                    root.remove(node)  # a cleared item left in the tree still costs ~90 bytes
            data = text.encode("utf-8")
            self._data.write(data)
            self._index.write(ENTRY.pack(offset, len(data)))
            offset += len(data)
            self._count += 1
        self._data.flush()
        self._index.flush()
        # Dates of birth and district names repeat: keep the recent ones at hand.
        self._cached = lru_cache(maxsize=4096)(self._read)

    def __len__(self) -> int:
        return self._count

    def _read(self, position: int) -> str:
        self._index.seek(position * ENTRY.size)
        offset, length = ENTRY.unpack(self._index.read(ENTRY.size))
        self._data.seek(offset)
        return self._data.read(length).decode("utf-8")

    def __getitem__(self, position: int) -> str:
        if position < 0:
            position += self._count
        if not 0 <= position < self._count:
            raise IndexError("shared string index out of range")
        return self._cached(position)

    def close(self) -> None:
        self._data.close()
        self._index.close()


class _RegisterReader(ExcelReader):
    def __init__(self, filename, *, directory: str | None):
        super().__init__(filename, read_only=True, data_only=False)
        self._directory = directory
        self.disk_strings: DiskStrings | None = None

    def read_strings(self):
        part = self.package.find(SHARED_STRINGS)
        if part is None:
            return
        with self.archive.open(part.PartName[1:]) as src:
            self.disk_strings = DiskStrings(src, directory=self._directory)
        self.shared_strings = self.disk_strings


class RegisterCell(NamedTuple):
    """What the import reads of a cell (the attributes of openpyxl's read-only cell)."""

    value: object
    row: int
    data_type: str


class _RowParser(WorkSheetParser):
    def rows(self):
        """(row number, cells) per row element; the parsed element leaves the tree."""
        parent = None
        for event, element in iterparse(self.source, events=("start", "end")):
            if event == "start":
                if element.tag == SHEET_DATA_TAG:
                    parent = element
                continue
            if element.tag == ROW_TAG:
                number, cells = self.parse_row(element)
                self.row_dimensions.clear()
                element.clear()
                if parent is not None:
                    with suppress(ValueError):
                        parent.remove(element)
                yield number, cells


class RegisterSheet:
    def __init__(self, book, path: str, strings):
        self._book = book
        self._path = path
        self._strings = strings

    def iter_rows(self):
        """Each row's cells as RegisterCell, in column order; a missing cell is None-valued."""
        with self._book._archive.open(self._path) as src:
            parser = _RowParser(
                src,
                self._strings if self._strings is not None else [],
                data_only=False,
                epoch=self._book.epoch,
                date_formats=self._book._date_formats,
                timedelta_formats=self._book._timedelta_formats,
            )
            for number, cells in parser.rows():
                width = max((c["column"] for c in cells), default=0)
                row = [RegisterCell(None, number, "n")] * width
                for c in cells:
                    row[c["column"] - 1] = RegisterCell(c["value"], number, c["data_type"])
                yield tuple(row)


class RegisterWorkbook:
    """A read-only workbook whose shared strings live on disk; close() removes them."""

    def __init__(self, path, *, directory: str | None = None):
        reader = _RegisterReader(path, directory=directory)
        try:
            reader.read()
        except BaseException:
            if reader.disk_strings is not None:
                reader.disk_strings.close()
            raise
        self._strings = reader.disk_strings
        self.book = reader.wb

    @property
    def worksheets(self) -> list[RegisterSheet]:
        return [
            RegisterSheet(self.book, sheet._worksheet_path, self._strings)
            for sheet in self.book.worksheets
            if hasattr(sheet, "_worksheet_path")
        ]

    def close(self) -> None:
        self.book.close()
        if self._strings is not None:
            self._strings.close()


def load_register_workbook(path, *, directory: str | None = None) -> RegisterWorkbook:
    """Like openpyxl.load_workbook(path, read_only=True, data_only=False), in constant memory."""
    return RegisterWorkbook(path, directory=directory)
