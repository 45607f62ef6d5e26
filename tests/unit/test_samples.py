"""The synthetic roster generator and the sample rosters shipped in data/ (R1-R4, R21).

Values are checked by their written shape (regular expressions on the raw text), not by
the eligibility engine, so these tests say what the samples contain, independently.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow as pa
import pytest

from sms_core.demo.samples import (
    EN_HEADERS,
    JA_HEADERS,
    SHAPE_NAMES,
    SHAPES,
    generate_roster,
    main,
    write_roster_csv,
    write_roster_xlsx,
)

DATA = Path(__file__).resolve().parents[2] / "data"

M = r"0[6789]0"  # a mobile prefix
# Every shape a phone value in use can take, tried in order (the first match wins).
SHAPE_PATTERNS: dict[str, str] = {
    "clean_plain": rf"{M}[1-9]\d{{7}}",
    "clean_hyphen": rf"{M}-[1-9]\d{{3}}-\d{{4}}",
    "fullwidth_hyphen": r"０[６-９]０－[１-９][０-９]{3}－[０-９]{4}",
    "fullwidth_plain": r"０[６-９]０[１-９][０-９]{7}",
    "fullwidth_hyphen_only": rf"{M}－[1-9]\d{{3}}－\d{{4}}",
    "long_mark": rf"{M}ー[1-9]\d{{3}}ー\d{{4}}",
    "spaces": rf"{M} [1-9]\d{{3}} \d{{4}}",
    "ideographic_space": rf"{M}\u3000[1-9]\d{{3}}\u3000\d{{4}}",
    "brackets": rf"\({M}\) [1-9]\d{{3}} \d{{4}}",
    "brackets_mid": rf"{M}\([1-9]\d{{3}}\)\d{{4}}",
    "fullwidth_brackets": rf"（{M}）[1-9]\d{{3}}-\d{{4}}",
    "dots": rf"{M}\.[1-9]\d{{3}}\.\d{{4}}",
    "plus81_hyphen": r"\+81 [6789]0-[1-9]\d{3}-\d{4}",
    "plus81_plain": r"\+81[6789]0[1-9]\d{7}",
    "plus81_zero": r"\+81 \(0\)[6789]0 [1-9]\d{3} \d{4}",
    "intl_81": r"81[6789]0[1-9]\d{7}",
    "excel_apostrophe": rf"'{M}[1-9]\d{{7}}",
    "excel_formula": rf'="{M}[1-9]\d{{7}}"',
    "dropped_zero": r"[6789]0[1-9]\d{7}",
    "padded": rf" +{M}-[1-9]\d{{3}}-\d{{4}} +",
    "missing_empty": r"",
    "missing_blank": r"[ \u3000]+",
    "ip_phone": r"050-?[1-9]\d{3}-?\d{4}",
    "m2m_020": r"020-?[1-9]\d{3}-?\d{4}",
    "landline_03": r"03-?[2-9]\d{3}-?\d{4}",
    "landline_06": r"06-?[2-9]\d{3}-?\d{4}",
    "landline_area": r"0(45|52|11|92|75|78|22|48)-?[2-9]\d{2}-?\d{4}",
    "freedial_0120": r"0120-?\d{3}-?\d{3}",
    "navidial_0570": r"0570-?\d{3}-?\d{3}",
    "freedial_0800": r"0800-?\d{3}-?\d{4}",
    "mobile_0x0_0": rf"{M}-?0\d{{3}}-?\d{{4}}",
    "scientific": r"[6789](\.\d{1,5})?E\+09",
    "letters": r"[0-9O-]*[A-Za-z][0-9A-Za-z-]*",
    "circled_digit": rf"①{M}-[1-9]\d{{3}}-\d{{4}}",
    "too_short": rf"{M}-[1-9]\d{{3}}-\d{{3}}",
    "too_long": rf"{M}-[1-9]\d{{3}}-\d{{5}}",
}
COMPILED = {name: re.compile(pattern) for name, pattern in SHAPE_PATTERNS.items()}
CLEAN_MOBILE = re.compile(rf"{M}-?[1-9]\d{{3}}-?\d{{4}}")
JA = dict(zip(EN_HEADERS, JA_HEADERS, strict=True))


def classify(value: str) -> str | None:
    """The name of the first shape ``value`` matches in full, or None."""
    for name, pattern in COMPILED.items():
        if pattern.fullmatch(value):
            return name
    return None


def read_csv(path: Path, encoding: str) -> list[dict[str, str]]:
    """Rows of a CSV file as dicts, with the standard library's reader."""
    text = path.read_bytes().decode(encoding)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def used_values(rows: list[dict[str, str]], h: dict[str, str]) -> list[str]:
    """The phone values R4 looks at: 携帯 for 新卒; 電話番号1 and 電話番号2 for 中途."""
    out = []
    for row in rows:
        if row[h["kind"]] in ("新卒", "new_grad"):
            out.append(row[h["mobile"]])
        else:
            out += [row[h["phone1"]], row[h["phone2"]]]
    return out


def clean_used(row: dict[str, str], h: dict[str, str]) -> str | None:
    """The clean mobile R4 would send to, as digits, or None."""
    if row[h["kind"]] in ("新卒", "new_grad"):
        candidates = [row[h["mobile"]]]
    else:
        candidates = [row[h["phone1"]], row[h["phone2"]]]
    for value in candidates:
        if CLEAN_MOBILE.fullmatch(value):
            return value.replace("-", "")
    return None


def load_make_samples():
    """Import data/make_samples.py (data/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_samples", DATA / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- generator


def test_same_seed_same_table_and_other_seed_differs():
    a = generate_roster(2000, seed=5)
    assert a.equals(generate_roster(2000, seed=5))
    assert not a.equals(generate_roster(2000, seed=6))
    assert generate_roster(500, seed=5, messy=False).equals(
        generate_roster(500, seed=5, messy=False)
    )


@pytest.mark.parametrize("headers,names", [("ja", JA_HEADERS), ("en", EN_HEADERS)])
def test_every_column_is_text_with_the_right_headers(headers, names):
    table = generate_roster(1000, seed=1, headers=headers)
    assert table.column_names == names
    assert table.num_rows == 1000
    assert all(field.type == pa.string() for field in table.schema)
    assert all(column.null_count == 0 for column in table.columns)


def test_zero_rows_and_bad_arguments():
    empty = generate_roster(0)
    assert empty.num_rows == 0 and empty.column_names == JA_HEADERS
    with pytest.raises(ValueError):
        generate_roster(-1)
    with pytest.raises(ValueError):
        generate_roster(10, headers="fr")


def test_ids_kinds_years_flags_and_urls():
    rows = generate_roster(3000, seed=2).to_pylist()
    assert [r["応募者ID"] for r in rows[:3]] == ["C0000001", "C0000002", "C0000003"]
    for r in rows:
        assert r["区分"] in ("新卒", "中途")
        assert r["LINE登録"] in ("済", "未") and r["イベント予約"] in ("済", "未")
        if r["区分"] == "新卒":
            assert r["卒業年度"] in ("2026", "2027", "2028")
            year = r["卒業年度"]
            assert not (r["電話番号1"] or r["電話番号2"])
        else:
            assert r["卒業年度"] == ""
            year = "career"
            assert not (r["携帯電話番号"] or r["現住所電話番号"] or r["休暇中電話番号"])
        assert r["説明会URL"] == (
            f"https://recruit.example.co.jp/events/{year}/{r['応募者ID']}?utm_source=sms"
        )
    en = generate_roster(300, seed=2, headers="en").to_pylist()
    assert {r["kind"] for r in en} == {"new_grad", "mid_career"}
    assert {r["line_registered"] for r in en} | {r["event_booked"] for r in en} == {"yes", "no"}


def test_proportions_are_near_the_targets():
    n = 100_000
    table = generate_roster(n, seed=3)
    rows = table.to_pylist()
    h = JA
    kinds = Counter(r["区分"] for r in rows)
    assert kinds["新卒"] / n == pytest.approx(0.6, abs=0.001)

    used = [clean_used(r, h) for r in rows]
    seen: set[str] = set()
    eligible = duplicates = 0
    for number in used:
        if number is None:
            continue
        if number in seen:
            duplicates += 1
        else:
            seen.add(number)
            eligible += 1
    assert eligible / n == pytest.approx(0.75, abs=0.025)
    assert duplicates / n == pytest.approx(0.02, abs=0.003)

    shapes = Counter(classify(v) for v in used_values(rows, h))
    assert shapes[None] == 0
    for name in SHAPE_NAMES:
        if not name.startswith("clean"):
            assert shapes[name] >= 0.004 * n, name  # each messy shape is well represented
    names = [r["氏名"] for r in rows]
    assert sum(name == "" for name in names) / n == pytest.approx(0.005, abs=0.001)
    non_bmp = sum(any(ord(ch) > 0xFFFF for ch in name) for name in names)
    assert 0.002 * n < non_bmp < 0.05 * n


def test_names_are_japanese_full_names_with_variant_characters():
    names = [v for v in generate_roster(20_000, seed=4).column("氏名").to_pylist() if v]
    joined = "".join(names)
    for variant in ("髙橋", "山﨑", "𠮷田", "吉田", "渡邊", "濵田"):
        assert variant in joined
    assert any("\u3000" in name for name in names) and any(" " in name for name in names)
    assert all(
        re.fullmatch(r"[\u3000-\u9fff\uf900-\ufaff\U00020000-\U0002ffff ]+", n) for n in names
    )


def test_clean_roster_has_only_clean_distinct_mobiles_in_the_field_in_use():
    table = generate_roster(20_000, seed=8, messy=False)
    rows = table.to_pylist()
    used = [clean_used(r, JA) for r in rows]
    assert None not in used
    assert len(set(used)) == len(used)
    for r in rows:
        assert r["氏名"]
        others = (
            ["現住所電話番号", "休暇中電話番号", "電話番号1", "電話番号2"]
            if r["区分"] == "新卒"
            else ["携帯電話番号", "現住所電話番号", "休暇中電話番号", "電話番号2"]
        )
        assert all(r[col] == "" for col in others)


def test_mid_career_fallback_and_new_graduate_traps_appear():
    rows = generate_roster(5000, seed=9).to_pylist()
    fallback = Counter()
    traps = 0
    for r in rows:
        if r["区分"] == "中途":
            if CLEAN_MOBILE.fullmatch(r["電話番号2"]) and not CLEAN_MOBILE.fullmatch(
                r["電話番号1"]
            ):
                fallback[classify(r["電話番号1"])] += 1
        elif classify(r["携帯電話番号"]) in ("missing_empty", "mobile_0x0_0", "letters") and (
            CLEAN_MOBILE.fullmatch(r["現住所電話番号"])
            or CLEAN_MOBILE.fullmatch(r["休暇中電話番号"])
        ):
            traps += 1
    assert fallback["missing_empty"] > 20
    assert fallback["landline_03"] + fallback["landline_06"] + fallback["landline_area"] > 20
    assert fallback["ip_phone"] > 5 and fallback["mobile_0x0_0"] > 5
    assert traps > 5


def test_scientific_notation_looks_like_excel():
    values = [
        v for v in generate_roster(50_000, seed=10).column("携帯電話番号").to_pylist() if "E+" in v
    ]
    assert values and all(re.fullmatch(r"[6789](\.\d{1,5})?E\+09", v) for v in values)
    assert any(re.fullmatch(r"[6789]\.\d{5}E\+09", v) for v in values)


def test_shape_table_examples_match_their_patterns():
    assert set(SHAPE_PATTERNS) == set(SHAPE_NAMES)
    for shape in SHAPES:
        assert classify(shape.example) == shape.name, shape.name


@pytest.mark.slow
def test_a_million_rows_in_one_call():
    # Its speed is benchmarks/ business, not a test's (never a timed assertion).
    table = generate_roster(1_000_000, seed=0)
    assert table.num_rows == 1_000_000
    assert all(field.type == pa.string() for field in table.schema)


# --------------------------------------------------------------------------- writers


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp932"])
def test_csv_round_trip(tmp_path, encoding):
    table = generate_roster(400, seed=12)
    path = tmp_path / "roster.csv"
    write_roster_csv(table, path, encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    assert b"\r\n" in raw
    rows = read_csv(path, encoding)
    expected = table.to_pylist()
    if encoding == "cp932":
        for row in expected:
            row["氏名"] = row["氏名"].replace("𠮷", "吉")
    assert rows == expected


def test_csv_refuses_unknown_encodings_and_unencodable_text(tmp_path):
    table = pa.table({"氏名": ["鷗外 🙂"]})
    with pytest.raises(ValueError):
        write_roster_csv(table, tmp_path / "a.csv", encoding="latin-1")
    with pytest.raises(ValueError, match="cp932"):
        write_roster_csv(table, tmp_path / "a.csv", encoding="cp932")


def test_xlsx_keeps_every_value_as_text(tmp_path):
    table = generate_roster(300, seed=13)
    path = tmp_path / "roster.xlsx"
    write_roster_xlsx(table, path)
    sheet = openpyxl.load_workbook(path).active
    got = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    assert got[0] == JA_HEADERS
    assert got[1:] == [list(r.values()) for r in table.to_pylist()]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value is not None]
    assert all(c.data_type == "s" for c in cells)


def test_command_line_writes_a_roster(tmp_path, capsys):
    out = tmp_path / "big.csv"
    assert (
        main([str(out), "--rows", "1500", "--encoding", "cp932", "--headers", "en", "--seed", "4"])
        == 0
    )
    rows = read_csv(out, "cp932")
    assert len(rows) == 1500 and list(rows[0]) == EN_HEADERS
    clean = tmp_path / "clean.csv"
    assert main([str(clean), "--rows", "200", "--clean"]) == 0
    assert all(clean_used(r, JA) for r in read_csv(clean, "utf-8-sig"))
    assert "wrote" in capsys.readouterr().err


# --------------------------------------------------------------------------- shipped samples

SAMPLE_FILES = {
    "roster_sample_cp932.csv": ("cp932", JA_HEADERS, 300),
    "roster_sample_utf8.csv": ("utf-8-sig", JA_HEADERS, 300),
    "roster_sample_en.csv": ("utf-8", EN_HEADERS, 200),
    "roster_mid_career.csv": ("cp932", JA_HEADERS, 100),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_FILES))
def test_shipped_csv_samples_are_what_make_samples_writes(tmp_path, name):
    encoding, headers, rows = SAMPLE_FILES[name]
    fresh = load_make_samples().write(name, tmp_path)
    assert (DATA / name).read_bytes() == fresh.read_bytes(), "run python data/make_samples.py"
    got = read_csv(DATA / name, encoding)
    assert len(got) == rows and list(got[0]) == headers


def test_shipped_xlsx_sample_matches_make_samples():
    table = load_make_samples().build("roster_sample.xlsx")
    sheet = openpyxl.load_workbook(DATA / "roster_sample.xlsx").active
    got = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    assert got[0] == JA_HEADERS and len(got) == 201
    assert got[1:] == [list(r.values()) for r in table.to_pylist()]
    mobiles = [row[3] for row in got[1:]]
    assert any(re.fullmatch(r"0[6789]0\d{8}", v) for v in mobiles)  # leading zero kept
    assert any(v.startswith('="0') for row in got[1:] for v in row)


def test_cp932_samples_decode_as_cp932_and_not_as_utf8():
    for name in ("roster_sample_cp932.csv", "roster_mid_career.csv"):
        raw = (DATA / name).read_bytes()
        text = raw.decode("cp932")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "𠮷" not in text
    text = (DATA / "roster_sample_cp932.csv").read_bytes().decode("cp932")
    for char in ("髙", "﨑", "①", "－", "ー", "\u3000"):
        assert char in text, char


def test_utf8_samples_keep_characters_outside_the_bmp():
    text = (DATA / "roster_sample_utf8.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    assert "𠮷" in text
    assert not (DATA / "roster_sample_en.csv").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("name", ["roster_sample_cp932.csv", "roster_sample_utf8.csv"])
def test_300_row_samples_hold_every_form_and_reason_twice(name):
    encoding, _, _ = SAMPLE_FILES[name]
    rows = read_csv(DATA / name, encoding)
    shapes = Counter(classify(v) for v in used_values(rows, JA))
    assert shapes[None] == 0, "a value in use matches no known shape"
    for shape in SHAPE_NAMES:
        assert shapes[shape] >= 2, shape
    used = [clean_used(r, JA) for r in rows]
    numbers = Counter(u for u in used if u)
    assert sum(count - 1 for count in numbers.values()) >= 2  # duplicates
    assert sum(r["氏名"] == "" for r in rows) >= 1
    traps = sum(
        r["区分"] == "新卒"
        and clean_used(r, JA) is None
        and bool(
            CLEAN_MOBILE.fullmatch(r["現住所電話番号"])
            or CLEAN_MOBILE.fullmatch(r["休暇中電話番号"])
        )
        for r in rows
    )
    assert traps >= 2


def test_mid_career_sample_has_fallback_cases():
    rows = read_csv(DATA / "roster_mid_career.csv", "cp932")
    assert {r["区分"] for r in rows} == {"中途"}
    assert all(not (r["携帯電話番号"] or r["現住所電話番号"] or r["休暇中電話番号"]) for r in rows)
    behind = Counter(
        classify(r["電話番号1"])
        for r in rows
        if CLEAN_MOBILE.fullmatch(r["電話番号2"]) and not CLEAN_MOBILE.fullmatch(r["電話番号1"])
    )
    assert behind["missing_empty"] >= 2
    landlines = ("landline_03", "landline_06", "landline_area")
    assert sum(behind[k] for k in landlines) >= 2
    assert sum(r["電話番号1"] == "" and r["電話番号2"] == "" for r in rows) >= 1
    # Neither field eligible: the reason is that of the first non-empty one (R4).
    assert any(
        (r["電話番号1"] == "" and classify(r["電話番号2"]) in (*landlines, "ip_phone"))
        or (classify(r["電話番号1"]) in landlines and r["電話番号2"] == "")
        for r in rows
    )


def test_generator_ignores_numpy_global_random_state():
    np.random.seed(1)
    a = generate_roster(100, seed=3)
    np.random.seed(2)
    assert a.equals(generate_roster(100, seed=3))
