"""Excel (.xlsx) downloads beside the CSV ones (issue 16), as safe to open.

Text cells Excel would run as formulas (starting ``= + - @``, a tab or a carriage return)
get the same leading apostrophe as the CSV export, and every cell is written as a typed
value (openpyxl would otherwise store a string starting with ``=`` as a formula). Headers
are the caller's words (Japanese on the dashboard); times are Japan time, as
``2026/12/01 10:00`` text, since Excel has no time zones.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from sms_core.rules.schedule import JST

if TYPE_CHECKING:
    import pandas as pd

# What a cell is given: openpyxl's own list of the values it writes.
CellValue = str | float | datetime | None

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel refuses control characters other than tab, line feed and carriage return.
_ILLEGAL = {c: None for c in range(32) if c not in (9, 10, 13)}


def safe_cell(value: object) -> CellValue:
    """A value as it goes into a cell: formulas neutralised, times as Japan-time text."""
    if value is None:
        return None
    try:
        import pandas as pd

        # Any: a frame's cell may be any scalar; pandas' stubs type isna per kind of value.
        if pd.isna(cast(Any, value)):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(JST)
        return value.strftime("%Y/%m/%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y/%m/%d")
    if isinstance(value, bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        # .item() gives the scalar's Python number (a datetime for a datetime64).
        return cast(CellValue, value.item())
    text = str(value).translate(_ILLEGAL)
    return "'" + text if text.startswith(_FORMULA_START) else text


def frame_xlsx_bytes(
    frame: pd.DataFrame, headers: Mapping[str, str] | None = None, *, sheet: str = "Sheet1"
) -> bytes:
    """A pandas DataFrame as .xlsx bytes; ``headers`` renames columns (others keep theirs)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    headers = headers or {}
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append([headers.get(str(c), str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=safe_cell(value))
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
            cells.append(cell)
        ws.append(cells)
    sink = io.BytesIO()
    book.save(sink)
    return sink.getvalue()
