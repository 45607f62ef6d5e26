"""Reading the first sheet of an .xlsx roster with python-calamine (R21, R22, issue 13).

calamine (Rust) parses a sheet about ten times faster than openpyxl's per-cell Python and
never trusts the ``<dimension>`` element: an understated one does not drop rows, an
inflated one costs nothing. What calamine does trust are the cells' own references: it
allocates the whole rectangle from A1 to the farthest cell before reading a value, so a
5 KB file with one cell at ``XFD1048576`` would make it ask for 0.5 TB and abort the
process (a Rust allocation failure cannot be caught). :func:`read_rows` therefore scans
the sheets' XML for the farthest reference first and refuses a rectangle no roster needs.

Cells become text the way a Japanese user typed them: dates ``2026/12/01``, times
``10:00``, both ``2026/12/01 10:00``; a whole number keeps all its digits (a phone number
stored as a number, ``9012345678``, is not ``9.01E+09``).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pyarrow as pa

from sms_core.errors import RosterError

__all__ = ["MAX_CELLS", "Sheet", "cell_text", "column_letters", "column_text", "read_rows"]

# Excel's own limit is 1,048,576 rows; a roster of that many rows with 19 columns fits.
# Beyond it calamine's rectangle (32 bytes a cell) and Python's values (~60 bytes a
# cell) would pass a laptop's memory.
MAX_CELLS = 20_000_000
# A cell's value as calamine gives it (python_calamine's own list).
Cell = int | float | str | bool | time | date | datetime | timedelta
# The sheets' XML, uncompressed: a 1,048,576-row roster is a few hundred MB of it. More
# is a zip bomb (a few KB that expand to gigabytes), refused before anything is inflated.
MAX_XML_BYTES = 2 * 1024 * 1024 * 1024
# Read and scanned a piece at a time, so the scan holds little memory.
_SCAN_CHUNK = 16 * 1024 * 1024
# A cell's or a row's reference attribute: r="XFD1048576" / r="12". Matched from the
# literal r=" on, whatever whitespace stands before it, so a tab cannot hide a reference;
# other attributes end in other letters (ref=, sqref=), and a false match in text only
# makes the check stricter.
_COLUMN_REF = re.compile(rb'r="([A-Z]{1,3})[0-9]')
_LONG_ROW_REF = re.compile(rb'r="[A-Z]{0,3}([0-9]{6,9})"')
_ANY_REF = re.compile(rb'r="[A-Z]{0,3}[0-9]')
# What a damaged zip raises while it is listed or inflated (found by the fuzz test).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    ValueError,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
)
_BROKEN = (
    "the Excel file is broken or is not an .xlsx workbook; open it in Excel, "
    "save it again as .xlsx (or as CSV) and upload that"
)


def _broken() -> RosterError:
    """The one error for a workbook that cannot be opened, whatever broke."""
    return RosterError(_BROKEN, key="roster.broken_xlsx")


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters:
        number = number * 26 + (byte - 64)
    return number


def column_letters(number: int) -> str:
    """``1`` → ``A``, ``27`` → ``AA``: how Excel names a column."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _check_extent(data: bytes) -> None:
    """Refuse a workbook whose sheets reach farther than any roster (see the module)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in book.infolist()
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        ]
    except _ZIP_ERRORS:
        raise _broken() from None
    if not members:
        raise _broken()
    if sum(info.file_size for info in book.infolist()) > MAX_XML_BYTES:
        raise RosterError(
            f"the Excel file expands to more than {MAX_XML_BYTES // 2**30} GiB; "
            "a roster is far smaller: save it again as CSV",
            key="roster.xlsx_too_big",
        )
    far_row, far_col, far_row_of_col = 0, 0, 0
    try:
        for info in members:
            with book.open(info) as stream:
                tail = b""
                while chunk := stream.read(_SCAN_CHUNK):
                    # The previous chunk's end again: a reference cut there is whole here
                    # (counting one twice changes no maximum).
                    text = tail + chunk
                    tail = text[-32:]
                    col, row_of_col = _farthest_column(text)
                    if col > far_col:
                        far_col, far_row_of_col = col, row_of_col
                    far_row = max(far_row, _farthest_row(text))
    except _ZIP_ERRORS:
        raise _broken() from None
    if far_col * far_row > MAX_CELLS:
        raise RosterError(
            f"the sheet reaches row {far_row:,} and column {column_letters(far_col)}: "
            f"more than the {MAX_CELLS:,} cells a roster workbook may span; delete what "
            "lies outside the roster, or save it as CSV",
            row=far_row_of_col if far_col > 500 else far_row,
            key="roster.sheet_too_wide",
            bottom=far_row,
            right=column_letters(far_col),
        )


def _farthest_column(text: bytes) -> tuple[int, int]:
    """The farthest column referenced in ``text``, and a row where it is (0, 0: none)."""
    # Few distinct column names, however many cells: the set is small.
    letters = set(_COLUMN_REF.findall(text))
    if not letters:
        return 0, 0
    far = max(letters, key=lambda name: (len(name), name))
    row = re.search(rb'r="' + far + rb'([0-9]{1,9})"', text)
    return _column_number(far), int(row.group(1)) if row else 0


def _farthest_row(text: bytes) -> int:
    """The farthest row referenced in ``text``: exact from row 100,000 on, else 99,999.

    Only references of six digits or more are collected: a roster's rows are mostly
    below 100,000, and an upper bound is all the size check needs.
    """
    long = _LONG_ROW_REF.findall(text)
    return max(map(int, set(long))) if long else (99_999 if _ANY_REF.search(text) else 0)


@dataclass(frozen=True)
class Sheet:
    """The first sheet's rows as calamine gives them (empty cells are ``""``), and where
    the first of them stands: ``first_row`` is its spreadsheet row number (1-based),
    ``first_col`` its column number."""

    rows: list[list[Cell]]
    first_row: int
    first_col: int


def read_rows(data: bytes, wanted: Callable[[list[Cell]], bool] | None = None) -> Sheet:
    """The first sheet of an .xlsx workbook; RosterError for a broken or oversized one.

    With ``wanted``, the first sheet whose first row it accepts, when the first sheet's
    is not (a workbook with a cover or notes sheet before the roster); else the first.
    """
    _check_extent(data)
    try:
        from python_calamine import CalamineWorkbook  # only .xlsx uploads pay its import

        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows: list[list[Cell]] = []
        start: tuple[int, int] = (0, 0)
        try:
            for index in range(len(book.sheet_names)):
                sheet = book.get_sheet_by_index(index)
                found = sheet.to_python(skip_empty_area=True)
                if index == 0:
                    rows, start = found, sheet.start or (0, 0)
                if wanted is None or (found and wanted(found[0])):
                    rows, start = found, sheet.start or (0, 0)
                    break
        finally:
            book.close()
    except RosterError:
        raise
    except Exception:  # calamine's own errors and anything its parser trips on
        raise _broken() from None
    except BaseException as exc:  # a Rust panic reaches Python as PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise _broken() from None
    return Sheet(rows, start[0] + 1, start[1] + 1)


def cell_text(value: object) -> str:
    """A cell's value as the text a Japanese user typed into it (see the module)."""
    if isinstance(value, str):
        return value  # as a CSV cell is read: as it stands
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):  # calamine tells dates from datetimes by the format
        return value.strftime("%Y/%m/%d %H:%M" if not value.second else "%Y/%m/%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y/%m/%d")
    if isinstance(value, time):
        return value.strftime("%H:%M" if not value.second else "%H:%M:%S")
    if isinstance(value, timedelta):  # a duration cell ([h]:mm)
        seconds = int(value.total_seconds())
        hours, rest = divmod(abs(seconds), 3600)
        sign = "-" if seconds < 0 else ""
        minutes, secs = divmod(rest, 60)
        return f"{sign}{hours}:{minutes:02d}" + (f":{secs:02d}" if secs else "")
    return str(value).strip()


def column_text(values: Sequence[object]) -> pa.Array:
    """A column's cells as one text array: vectorised when every cell is text (the common
    case: ATS exports are text), cell by cell only when a column holds numbers or dates."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([cell_text(v) for v in values], pa.string())
