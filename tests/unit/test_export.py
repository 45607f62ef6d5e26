"""CSV exports open safely in Excel: BOM, and no cell runs as a formula."""

from __future__ import annotations

import csv

import pandas as pd

from sms_core.rules.export import frame_csv_bytes


def test_formula_cells_are_neutralised_and_the_bom_is_there():
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+81 90", "-1", "@SUM(A1)", "\tx", "\rx", "山田"],
            "units": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    data = frame_csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    names = [r["name"] for r in rows]
    assert names[:4] == ['\'=HYPERLINK("http://x")', "'+81 90", "'-1", "'@SUM(A1)"]
    assert names[4].startswith("'") and names[-1] == "山田"
    assert [r["units"] for r in rows] == [str(i) for i in range(1, 8)]


def test_full_width_formula_starts_are_neutralised_too():
    """＝＋－＠ start a formula in Japanese Excel just as = + - @ do (CSV injection)."""
    names = ['＝HYPERLINK("http://x")', "＋81", "－1", "＠SUM(A1)", "山＝田"]
    frame = pd.DataFrame({"name": names})
    rows = list(csv.DictReader(frame_csv_bytes(frame).decode("utf-8-sig").splitlines()))
    names = [r["name"] for r in rows]
    assert names == ['\'＝HYPERLINK("http://x")', "'＋81", "'－1", "'＠SUM(A1)", "山＝田"]
