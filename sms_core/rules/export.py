"""CSV exports that Excel opens safely: UTF-8 with BOM, formulas neutralised.

A roster value such as ``=HYPERLINK(…)`` or ``@SUM(…)`` would run as a formula when the
export is opened in Excel (CSV injection). Text cells starting with ``= + - @``, their
full-width forms ``＝ ＋ － ＠`` (Japanese Excel reads those as a formula too), a tab or a
carriage return get a leading apostrophe, which Excel shows as text and hides.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

if TYPE_CHECKING:
    import pandas as pd

BOM = b"\xef\xbb\xbf"
_FORMULA_START = r"^([=+\-@\t\r\x{FF1D}\x{FF0B}\x{FF0D}\x{FF20}])"


def neutralise_formulas(table: pa.Table, columns: Iterable[str]) -> pa.Table:
    """Prefix an apostrophe to text cells in ``columns`` that Excel would run as formulas."""
    for name in columns:
        index = table.schema.get_field_index(name)
        safe = pc.replace_substring_regex(table.column(index), _FORMULA_START, r"'\1")
        table = table.set_column(index, name, safe)
    return table


def csv_bytes(table: pa.Table) -> bytes:
    """The table as CSV bytes in UTF-8 with BOM."""
    sink = io.BytesIO()
    sink.write(BOM)
    pcsv.write_csv(table, sink)
    return sink.getvalue()


def write_csv(table: pa.Table, out: str | Path) -> None:
    """Write the table as CSV (UTF-8 with BOM) to ``out`` atomically: all or nothing."""
    out = Path(out)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(BOM)
            pcsv.write_csv(table, handle)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def frame_csv_bytes(frame: pd.DataFrame) -> bytes:
    """A pandas DataFrame as CSV bytes (UTF-8 with BOM), every text column neutralised."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = [
        f.name
        for f in table.schema
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    return csv_bytes(neutralise_formulas(table, text))
