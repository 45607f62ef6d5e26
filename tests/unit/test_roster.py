"""Roster loading: encodings (R21), headers and mapping, errors naming row and column (R22)."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pyarrow as pa
import pytest

from sms_core.errors import RosterError
from sms_core.rules import roster as roster_mod
from sms_core.rules.roster import MID_CAREER, NEW_GRAD, load_roster

JA_HEADER = "応募者ID,氏名,区分,携帯電話番号,現住所電話番号,休暇中電話番号,電話番号1,電話番号2\n"


def _csv(rows: list[str], header: str = JA_HEADER) -> str:
    return header + "".join(r + "\n" for r in rows)


def test_r21_cp932_with_excel_only_characters_is_detected():
    # Strict shift_jis cannot encode 髙, 﨑, ①, －, ～; Excel writes them as cp932.
    text = _csv(
        ["C1,髙橋 﨑子①,新卒,０９０－１２３４－５６７８,,,,", "C2,山田～,中途,,,,0312345678,"]
    )
    r = load_roster(text.encode("cp932"))
    assert r.encoding == "cp932"
    assert r.table.column("氏名").to_pylist() == ["髙橋 﨑子①", "山田～"]
    assert r.table.column("携帯電話番号")[0].as_py() == "０９０－１２３４－５６７８"


@pytest.mark.parametrize("encoding,label", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")])
def test_r21_utf8_with_and_without_bom(encoding, label):
    r = load_roster(_csv(["C1,𠮷田 太郎,新卒,09012345678,,,,"]).encode(encoding))
    assert r.encoding == label
    assert r.table.column_names[0] == "応募者ID"  # the BOM is not part of the first header
    assert r.table.column("氏名")[0].as_py() == "𠮷田 太郎"


def test_r21_ascii_start_and_cp932_far_below_is_still_read():
    header = "candidate_id,name,kind,mobile,home_phone,vacation_phone,phone1,phone2\n"
    rows = [f"C{i},Taro,mid_career,,,,0312345678," for i in range(5000)]
    rows.append("C9,山田 花子,新卒,09012345678,,,,")
    data = _csv(rows, header).encode("cp932")
    assert data[:65536].isascii()
    r = load_roster(data)
    assert r.encoding == "cp932"
    assert r.table.column("name")[-1].as_py() == "山田 花子"


def test_r21_english_headers_and_loose_header_forms():
    header = "Candidate ID,NAME,Kind,Mobile,phone_1,電話番号２\n"
    r = load_roster((header + "c1,Hanako,new_grad,09012345678,,\n").encode())
    assert r.fields["candidate_id"] == "Candidate ID"
    assert r.fields["phone1"] == "phone_1"
    assert r.fields["phone2"] == "電話番号２"  # full-width digit in the header
    assert r.kind.tolist() == [NEW_GRAD]


def test_r21_every_value_is_text_never_a_number():
    r = load_roster(_csv(["0012,0,新卒,09012345678,,,,", "1e5,1.50,中途,,,,9.01234E+09,"]).encode())
    assert r.table.column("応募者ID").to_pylist() == ["0012", "1e5"]
    assert r.table.column("電話番号1")[1].as_py() == "9.01234E+09"
    assert all(str(t) == "string" for t in r.table.schema.types)


def test_extra_columns_are_kept_and_usable_as_tags():
    header = JA_HEADER.strip() + ",卒業年度,イベントURL\n"
    r = load_roster((header + "C1,山田,新卒,09012345678,,,,,2027,https://e.jp/x\n").encode())
    assert r.table.column("卒業年度")[0].as_py() == "2027"
    assert r.resolve_tag("卒業年度") == "卒業年度"
    assert r.resolve_tag("name") == "氏名"
    assert "name" in r.tag_names() and "イベントURL" in r.tag_names()


def test_kind_values_in_both_languages():
    r = load_roster(
        _csv(
            [
                f"C{i},x,{k},09012345678,,,0312345678,"
                for i, k in enumerate(
                    [
                        "新卒",
                        "中途",
                        "new_grad",
                        "Mid-Career",
                        " 新卒 ",
                        "キャリア採用",
                        "経験者採用",
                    ]
                )
            ]
        ).encode()
    )
    assert (
        r.kind.tolist() == [NEW_GRAD, MID_CAREER, NEW_GRAD, MID_CAREER, NEW_GRAD] + [MID_CAREER] * 2
    )


def test_r22_unknown_kind_names_row_and_column():
    data = _csv(
        ["C1,a,新卒,09012345678,,,,", "C2,b,学生,09012345678,,,,", "C3,c,,09012345678,,,,"]
    ).encode()
    with pytest.raises(RosterError) as err:
        load_roster(data)
    assert err.value.row == 3 and err.value.column == "区分"
    assert "学生" in str(err.value) and "1 more rows" in str(err.value)


def test_r22_missing_kind_column():
    with pytest.raises(RosterError, match="区分 / kind"):
        load_roster(b"candidate_id,mobile\nc1,09012345678\n")


def test_r22_missing_phone_column_for_the_kinds_present():
    with pytest.raises(RosterError, match="電話番号1 / phone1"):
        load_roster("区分,携帯電話番号\n中途,09012345678\n".encode())
    # New graduates only: 電話番号1 is not needed.
    assert load_roster("区分,携帯電話番号\n新卒,09012345678\n".encode()).num_rows == 1


def test_r22_ragged_row_names_its_row():
    data = _csv(
        [
            "C1,a,新卒,09012345678,,,,",
            "C2,b,新卒,09012345678,,,,,extra",
            "C3,c,新卒,09012345678,,,,",
        ]
    ).encode()
    with pytest.raises(RosterError) as err:
        load_roster(data)
    assert err.value.row == 3
    assert "9 cells" in str(err.value) and "8" in str(err.value)


def test_r22_duplicate_and_empty_headers():
    with pytest.raises(RosterError, match="appears twice") as err:
        load_roster("区分,携帯電話番号,区分\n新卒,090,新卒\n".encode())
    assert err.value.row == 1 and err.value.column == "区分"
    with pytest.raises(RosterError, match="column 2 has no header"):
        load_roster("区分,,携帯電話番号\n新卒,x,090\n".encode())


def test_r22_binary_and_empty_files_are_refused():
    with pytest.raises(RosterError, match="binary"):
        load_roster(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(RosterError, match="empty"):
        load_roster(b"  \n")
    with pytest.raises(RosterError, match=r"\.xls"):
        load_roster(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(RosterError, match="Excel file is broken"):
        load_roster(b"PK\x03\x04 not really a zip")


def test_r22_mapping_errors_name_the_column():
    with pytest.raises(RosterError) as err:
        load_roster(_csv(["C1,a,新卒,09012345678,,,,"]).encode(), mapping={"mobile": "携帯TEL"})
    assert err.value.column == "携帯TEL"
    with pytest.raises(RosterError, match="not a roster field"):
        load_roster(_csv(["C1,a,新卒,09012345678,,,,"]).encode(), mapping={"fax": "氏名"})


def test_explicit_mapping_wins_over_defaults():
    data = "ID,お名前,種別,携帯TEL\nx1,山田,新卒,09012345678\n".encode()
    r = load_roster(
        data, mapping={"candidate_id": "ID", "name": "お名前", "kind": "種別", "mobile": "携帯TEL"}
    )
    assert r.fields == {"candidate_id": "ID", "name": "お名前", "kind": "種別", "mobile": "携帯TEL"}


def test_quoted_values_with_line_breaks_keep_rows_aligned():
    rows = ['C1,"山田\n太郎",新卒,09012345678,,,,'] + [
        f"C{i},x,新卒,0901234{i:04d},,,," for i in range(2, 2000)
    ]
    r = load_roster(_csv(rows).encode())
    assert r.num_rows == 1999
    assert r.table.column("氏名")[0].as_py() == "山田\n太郎"
    assert r.table.column("応募者ID")[-1].as_py() == "C1999"


def test_r22_size_limits_are_enforced(monkeypatch):
    monkeypatch.setattr(roster_mod, "MAX_ROSTER_BYTES", 100)
    with pytest.raises(RosterError, match="at most"):
        load_roster(_csv(["C1,a,新卒,09012345678,,,,"] * 5).encode())
    monkeypatch.setattr(roster_mod, "MAX_ROSTER_BYTES", 10**9)
    monkeypatch.setattr(roster_mod, "MAX_ROSTER_ROWS", 3)
    with pytest.raises(RosterError, match="more than the 3"):
        load_roster(_csv(["C1,a,新卒,09012345678,,,,"] * 5).encode())


def test_missing_file_is_a_roster_error(tmp_path):
    with pytest.raises(RosterError, match="cannot open"):
        load_roster(tmp_path / "nope.csv")


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_r21_xlsx_numbers_stay_whole_and_text_keeps_leading_zeros():
    data = _xlsx(
        [
            ["応募者ID", "氏名", "区分", "携帯電話番号", "電話番号1"],
            ["C1", "山田", "新卒", "09012345678", None],
            [123, "佐藤", "中途", None, 9012345678],  # Excel dropped the zero: a number cell
            [None, None, None, None, None],  # an empty formatted row at the end
        ]
    )
    r = load_roster(data)
    assert r.encoding == "xlsx"
    assert r.num_rows == 2
    assert r.table.column("携帯電話番号").to_pylist() == ["09012345678", ""]
    assert r.table.column("電話番号1")[1].as_py() == "9012345678"
    assert r.table.column("応募者ID")[1].as_py() == "123"


def test_r22_xlsx_value_outside_header_is_named():
    data = _xlsx([["区分", "携帯電話番号"], ["新卒", "09012345678", "stray"]])
    with pytest.raises(RosterError) as err:
        load_roster(data)
    assert err.value.row == 2 and "column C" in str(err.value)  # as Excel names it


def test_shipped_samples_load(data_dir):
    for name in [
        "roster_sample_cp932.csv",
        "roster_sample_utf8.csv",
        "roster_sample_en.csv",
        "roster_sample.xlsx",
        "roster_mid_career.csv",
    ]:
        r = load_roster(data_dir / name)
        assert r.num_rows >= 100, name


def test_r22_cp932_unknown_kind_is_shown_as_text_with_its_row():
    data = "区分,携帯電話番号\n新卒,09011112222\n学生,09011112223\n".encode("cp932")
    with pytest.raises(RosterError) as err:
        load_roster(data)
    assert err.value.row == 3 and "'学生'" in str(err.value)
    bad = "区分,携帯電話番号\n新卒,09011112222\n".encode("cp932") + b"\x81\x7f,090\n"
    with pytest.raises(RosterError) as err:
        load_roster(bad)
    assert err.value.row == 3  # found while telling the encoding: the line is named


def test_headers_and_guessed_fields_for_the_mapping_editor():
    """Issue 6: the editor reads only the header row (CSV in either encoding, or .xlsx)
    and shows what loading would map; an explicit mapping wins over the defaults."""
    from sms_core.rules.roster import guess_fields, read_headers

    cp932 = "氏名,選考区分,携帯電話番号,TEL\n佐藤,新卒,09012345678,\n".encode("cp932")
    utf8_bom = "\ufeff氏名,選考区分,携帯電話番号,TEL\n".encode()
    sheet = _xlsx([["氏名", "選考区分", "携帯電話番号", "TEL", None], ["佐藤", "新卒"]])
    for data in (cp932, utf8_bom, sheet):
        assert read_headers(data) == ["氏名", "選考区分", "携帯電話番号", "TEL"]
    headers = read_headers(cp932)
    assert guess_fields(headers) == {"name": "氏名", "mobile": "携帯電話番号"}
    mapped = guess_fields(headers, {"kind": "選考区分", "phone1": "tel"})  # case folded
    assert mapped == {"kind": "選考区分", "phone1": "TEL", "name": "氏名", "mobile": "携帯電話番号"}
    with pytest.raises(RosterError, match="does not have"):
        guess_fields(headers, {"kind": "種別"})
    with pytest.raises(RosterError, match="empty"):
        read_headers(b"  \n")
    with pytest.raises(RosterError) as raised:
        read_headers("氏名,氏名\n".encode())
    assert raised.value.column == "氏名" and raised.value.row == 1
    # Loading with the editor's mapping reads the file the guess could not.
    loaded = load_roster(cp932, mapping={"kind": "選考区分", "phone1": "TEL"})
    assert loaded.fields["kind"] == "選考区分" and loaded.num_rows == 1


@pytest.mark.parametrize("block", [1, 3, 4, 1 << 20])
@pytest.mark.parametrize(
    ("data", "lines"), [(b"", 0), (b"a", 1), (b"a\n", 1), (b"a\nbb\n\nc", 4), (b"\n\n\n", 3)]
)
def test_line_count_is_the_same_for_any_block_size(monkeypatch, block, data, lines):
    # Lines are counted block by block; a block boundary must not lose or add a line.
    monkeypatch.setattr(roster_mod, "_COUNT_BLOCK", block)
    assert roster_mod._line_count(pa.py_buffer(data)) == lines


def test_text_where_picks_per_row_whether_or_not_a_column_is_decoded_yet():
    data = "区分,携帯電話番号,電話番号1\n新卒,０９０,03\n中途,080,０６\n".encode("cp932")
    r = load_roster(data)
    pick = r.kind == NEW_GRAD
    assert r.text_where(pick, "携帯電話番号", "電話番号1").to_pylist() == ["０９０", "０６"]
    r.text("携帯電話番号")  # one side decoded, the other still bytes
    assert r.text_where(pick, "携帯電話番号", "電話番号1").to_pylist() == ["０９０", "０６"]
    assert r.text_where(pick, "携帯電話番号", None).to_pylist() == ["０９０", None]
    assert r.text_rows("電話番号1", np.array([1])).to_pylist() == ["０６"]


def test_other_ats_headers_are_recognised_without_a_mapping():
    """Common ATS names for the fields map by themselves; the phone fields other than the
    mobile one never guess from 電話番号 or TEL alone."""
    data = "応募者番号,お名前,採用区分,携帯番号,電話番号\nA1,佐藤,新卒,09012345678,\n".encode()
    roster = load_roster(data)
    assert roster.fields == {
        "candidate_id": "応募者番号",
        "name": "お名前",
        "kind": "採用区分",
        "mobile": "携帯番号",
    }
    assert roster.resolve_tag("氏名") == "お名前"
