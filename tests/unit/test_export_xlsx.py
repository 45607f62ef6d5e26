"""Excel downloads (issue 16): formulas neutralised like the CSV export, Japanese headers,
Japan time as text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pandas as pd
from openpyxl import load_workbook

from sms_core.i18n import column_headers
from sms_core.rules.export_xlsx import frame_xlsx_bytes, safe_cell
from sms_core.rules.preview import preview


def rows_of(data: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data)).active.values)


def test_every_formula_start_is_neutralised_and_kept_as_text():
    values = ['=HYPERLINK("x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx", "山田", "a=b"]
    data = frame_xlsx_bytes(pd.DataFrame({"name": values}), column_headers())
    rows = rows_of(data)
    assert rows[0] == ("氏名",)
    assert [r[0] for r in rows[1:]] == [
        # XML reads a carriage return back as a line feed; the apostrophe is what counts.
        '\'=HYPERLINK("x")',
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "'\tx",
        "'\nx",
        "山田",
        "a=b",
    ]
    sheet = load_workbook(io.BytesIO(data)).active
    assert all(sheet.cell(row=i, column=1).data_type == "s" for i in range(2, len(values) + 2))


def test_times_are_japan_time_text_and_missing_values_empty():
    assert safe_cell(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == "2026/12/01 00:00"
    assert safe_cell(pd.Timestamp("2026-11-30 14:59", tz="UTC")) == "2026/11/30 23:59"
    assert safe_cell(None) is None and safe_cell(float("nan")) is None
    assert safe_cell(pd.NaT) is None


def test_a_preview_as_excel_has_japanese_headers_and_safe_names():
    roster = "氏名,区分,携帯電話番号\n=cmd|' /C calc'!A0,新卒,090-1111-2222\n".encode()
    frame = preview(roster, "{{氏名}}様").frame()
    rows = rows_of(frame_xlsx_bytes(frame, column_headers()))
    header = rows[0]
    assert "応募者ID" in header and "理由" in header and "通数" in header
    assert rows[1][header.index("氏名")].startswith("'=cmd")
