""".xlsx rosters that hold (R21, R22, issue 13): the workbook's own <dimension> is never
trusted, a sheet reaching past any roster is refused before it is allocated, dates and
times read as a Japanese user typed them, and a broken workbook is called one."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from sms_core.errors import RosterError
from sms_core.rules.roster import load_roster

ROOT = Path(__file__).resolve().parents[2]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(data: bytes, edit) -> bytes:
    """The workbook with its first sheet's XML passed through ``edit``."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            target.writestr(info, content)
    return out.getvalue()


def _with_dimension(data: bytes, ref: str) -> bytes:
    return _rewrite_sheet(
        data,
        lambda xml: re.sub(
            rb'<dimension ref="[^"]*" ?/>', f'<dimension ref="{ref}"/>'.encode(), xml
        ),
    )


def _without_sheet(data: bytes) -> bytes:
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info.filename))
    return out.getvalue()


EVENING = datetime(2027, 1, 5, 18, 45)
ROWS = [["区分", "携帯電話番号"]] + [["新卒", f"0901111000{i}"] for i in range(6)]


def _load_in_subprocess(path: Path) -> subprocess.CompletedProcess:
    """load_roster in its own process: a native abort or a runaway loop cannot take the
    test run with it, and the timeout bounds what a slow reader would cost."""
    code = (
        "import sys\n"
        "from sms_core.errors import RosterError\n"
        "from sms_core.rules.roster import load_roster\n"
        "try:\n"
        f"    print('rows', load_roster({str(path)!r}).num_rows)\n"
        "except RosterError as exc:\n"
        "    print('refused', exc)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_r22_an_understated_dimension_drops_no_row():
    data = _with_dimension(_xlsx(ROWS), "A1")
    roster = load_roster(data)
    assert roster.num_rows == 6
    assert roster.table.column("携帯電話番号")[-1].as_py() == "09011110005"


def test_r22_an_inflated_dimension_costs_nothing(tmp_path):
    path = tmp_path / "inflated.xlsx"
    path.write_bytes(_with_dimension(_xlsx(ROWS), "A1:XFD1048576"))
    done = _load_in_subprocess(path)
    assert done.returncode == 0 and done.stdout.strip() == "rows 6", done.stderr[-2000:]


def test_r22_a_cell_far_outside_any_roster_is_refused_before_it_is_allocated(tmp_path):
    """One cell at XFD1048576 in a 5 KB file: the reader would ask for 0.5 TB and abort."""
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    path = tmp_path / "far.xlsx"
    path.write_bytes(
        _rewrite_sheet(_xlsx(ROWS), lambda xml: xml.replace(b"</sheetData>", far + b"</sheetData>"))
    )
    assert path.stat().st_size < 10_000
    done = _load_in_subprocess(path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("refused row 1,048,576") or "row 1048576" in done.stdout
    assert "XFD" in done.stdout and not done.stderr


def test_r21_dates_and_times_read_as_a_japanese_user_typed_them():
    data = _xlsx(
        [
            ["区分", "携帯電話番号", "面接日", "開始", "日時"],
            ["新卒", "09011110000", date(2026, 12, 1), time(10, 0), datetime(2026, 12, 1, 10, 0)],
            ["新卒", "09011110001", date(2027, 1, 5), time(9, 30, 15), EVENING],
        ],
    )
    table = load_roster(data).table
    assert table.column("面接日").to_pylist() == ["2026/12/01", "2027/01/05"]
    assert table.column("開始").to_pylist() == ["10:00", "09:30:15"]
    assert table.column("日時").to_pylist() == ["2026/12/01 10:00", "2027/01/05 18:45"]


def test_r2_a_phone_number_stored_as_a_number_keeps_its_digits():
    data = _xlsx(
        [
            ["区分", "携帯電話番号", "電話番号1"],
            ["新卒", 9012345678, None],  # Excel dropped the leading zero
            ["中途", 819012345678, 8190123456780],  # long ones are never 8.19E+11
        ]
    )
    table = load_roster(data).table
    assert table.column("携帯電話番号").to_pylist() == ["9012345678", "819012345678"]
    assert table.column("電話番号1").to_pylist() == ["", "8190123456780"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: _rewrite_sheet(data, lambda xml: xml[: len(xml) // 2]),  # bad XML
        lambda data: _without_sheet(data),  # the workbook names a sheet it lacks
        lambda data: b"PK\x03\x04" + b"not a zip at all" * 10,
    ],
    ids=["truncated", "broken-xml", "no-sheet", "not-a-zip"],
)
def test_r22_a_corrupt_workbook_is_reported_as_a_broken_excel_file(damage, capfd):
    with pytest.raises(RosterError, match="Excel file is broken") as err:
        load_roster(damage(_xlsx(ROWS)))
    assert "CSV text" not in str(err.value)
    assert capfd.readouterr().err == ""


def test_a_roster_behind_a_cover_sheet_is_read_from_its_own_sheet():
    """A workbook whose first sheet holds notes: the first sheet with roster headers."""
    book = openpyxl.Workbook()
    book.active.title = "説明"
    book.active.append(["このブックは2026年11月の応募者一覧です"])
    roster = book.create_sheet("名簿")
    for row in ROWS:
        roster.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    loaded = load_roster(buffer.getvalue())
    assert loaded.num_rows == len(ROWS) - 1
    assert loaded.column_names == ROWS[0]
    from sms_core.rules.roster import read_headers

    assert read_headers(buffer.getvalue()) == ROWS[0]


def test_r22_a_title_above_the_headers_is_refused_naming_the_header_row():
    data = _xlsx([["応募者一覧（2026/11/30 出力）"], [], *ROWS])
    with pytest.raises(RosterError) as caught:
        load_roster(data)
    assert caught.value.row == 3 and caught.value.key == "roster.header_below"
    # A sheet with no known header anywhere keeps the error it always had.
    with pytest.raises(RosterError) as caught:
        load_roster(_xlsx([["メモ"], ["a", "b"]]))
    assert caught.value.key == "roster.outside_header"
