"""CSV rosters that either preview correctly or are refused naming the row (R21, R22,
issue 13): mixed encodings, broken CSV structure, ambiguous headers, NUL bytes, and a
value that makes a message too long."""

from __future__ import annotations

import pytest

from sms_core.errors import RosterError
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster

HEADER = "応募者ID,氏名,区分,携帯電話番号\n"


def _rows(n: int, start: int = 0) -> str:
    return "".join(f"C{i},山田{i},新卒,090{i:08d}\n" for i in range(start, start + n))


def _refused(data: bytes) -> RosterError:
    with pytest.raises(RosterError) as caught:
        load_roster(data).table  # noqa: B018 - decodes every column
    return caught.value


def _no_raw_bytes(message: str) -> None:
    assert "b'" not in message and "\\x" not in message and "\x00" not in message


def test_r21_a_utf8_file_with_one_cp932_row_is_refused_naming_that_row(capfd):
    data = (HEADER + _rows(3)).encode() + "C9,佐藤,新卒,09011112222\n".encode("cp932")
    err = _refused(data)
    assert err.row == 5 and "UTF-8" in str(err)
    _no_raw_bytes(str(err))
    assert capfd.readouterr().err == ""


def test_r21_a_utf8_file_with_a_stray_byte_far_down_is_never_read_as_cp932():
    """Read whole as CP932 it would send 螻ｱ逕ｰ様 for 山田様; it is refused instead."""
    rows = _rows(3000)
    data = (HEADER + rows).encode() + b"C9,\xff\xfe,\xe6\x96\xb0\xe5\x8d\x92,09011112222\n"
    assert len(data) > 64 * 1024  # past the part that tells the encoding
    err = _refused(data)
    assert err.row == 3002


def test_r21_a_utf8_file_whose_first_japanese_is_far_down_with_a_stray_byte_is_refused():
    ascii_rows = "".join(f"C{i},Yamada,new_grad,090{i:08d}\n" for i in range(4000))
    data = (
        ("candidate_id,name,kind,mobile\n" + ascii_rows).encode()
        + "C9,山田,新卒,09011112222\n".encode()
        + b"C10,\xff,new_grad,09011112223\n"
    )
    err = _refused(data)
    assert err.row == 4003


def test_r21_an_ascii_start_then_cp932_text_still_reads_as_cp932():
    ascii_rows = "".join(f"C{i},Yamada,new_grad,090{i:08d}\n" for i in range(4000))
    data = ("candidate_id,name,kind,mobile\n" + ascii_rows).encode() + (
        "C9,山田,新卒,09011112222\n".encode("cp932")
    )
    roster = load_roster(data)
    assert roster.encoding == "cp932" and roster.table.column("name")[-1].as_py() == "山田"


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_r22_a_row_with_too_many_cells_names_row_and_column_without_bytes(encoding, capfd):
    data = (HEADER + _rows(2) + "C8,佐藤,新卒,09011112222,余分\n" + _rows(2, 10)).encode(encoding)
    err = _refused(data)
    assert err.row == 4 and err.column == "column E"
    assert "5 cells" in str(err) and "4" in str(err)
    _no_raw_bytes(str(err))
    assert capfd.readouterr().err == "", "nothing but the error may reach the user"


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_r22_a_row_with_too_few_cells_names_the_first_missing_column(encoding, capfd):
    data = (HEADER + _rows(2) + "C8,佐藤,新卒\n").encode(encoding)
    err = _refused(data)
    assert err.row == 4 and err.column == "携帯電話番号"
    assert capfd.readouterr().err == ""


def test_r22_an_unclosed_quote_names_row_and_column(capfd):
    data = (HEADER + _rows(2) + 'C8,"佐藤,新卒,09011112222\n' + _rows(2, 10)).encode("cp932")
    err = _refused(data)
    assert err.row == 4 and err.column == "氏名"
    _no_raw_bytes(str(err))
    assert capfd.readouterr().err == ""


def test_r22_headers_equal_after_folding_are_refused_naming_both():
    data = ("区分,携帯電話番号,携帯 電話番号\n新卒,09011112222,09011113333\n").encode()
    err = _refused(data)
    assert err.row == 1 and "携帯電話番号" in str(err) and "携帯 電話番号" in str(err)
    for twins in (("Mobile", "mobile"), ("電話番号１", "電話番号1"), ("phone_1", "phone1")):
        data = f"区分,{twins[0]},{twins[1]}\n新卒,1,2\n".encode()
        err = _refused(data)
        assert twins[0] in str(err) and twins[1] in str(err)


def test_r22_a_nul_byte_anywhere_is_refused_naming_its_row():
    rows = _rows(3000)
    data = (HEADER + rows).encode() + b"C9,\x00,new_grad,09011112222\n"
    assert data.index(b"\x00") > 64 * 1024
    err = _refused(data)
    assert err.row == 3002
    _no_raw_bytes(str(err))


def test_r22_a_value_that_makes_a_message_too_long_names_row_and_column():
    data = (HEADER + _rows(2) + f"C8,{'長' * 20_000},新卒,09011112222\n").encode()
    with pytest.raises(RosterError) as caught:
        preview(data, "{{氏名}}様 説明会のご案内")
    err = caught.value
    assert err.row == 4 and err.column == "氏名"
    assert "20,009 characters" in str(err)  # 20,000 of them from this value


def test_r21_a_cp932_file_with_one_utf8_row_is_refused_naming_that_row():
    """Read as CP932 the UTF-8 row would become mojibake (山田 -> 螻ｱ逕ｰ), far down."""
    assert "山田".encode().decode("cp932") == "螻ｱ逕ｰ"  # valid CP932: decoding would not stop it
    data = (HEADER + _rows(3000)).encode("cp932") + "C9,山田太郎,新卒,09011112222\n".encode()
    assert len(data) > 64 * 1024
    err = _refused(data)
    assert err.row == 3002 and "UTF-8" in str(err)


def test_r21_cp932_text_with_half_width_kana_is_still_cp932():
    data = (HEADER + "C1,ﾔﾏﾀﾞ ﾀﾛｳ,新卒,09011112222\nC2,髙橋①～,新卒,09011112223\n").encode("cp932")
    roster = load_roster(data)
    assert roster.table.column("氏名").to_pylist() == ["ﾔﾏﾀﾞ ﾀﾛｳ", "髙橋①～"]


# Excel's "Unicode text" (UTF-16 with a byte-order mark, tab-separated), TSV exports from
# an ATS, semicolon CSV, and old Mac line endings (CR only) read as the CSV they stand for.
def _as_tsv(text: str) -> str:
    return text.replace(",", "\t")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: _as_tsv(text).encode("utf-16"),  # Excel: Unicode テキスト (.txt)
        lambda text: b"\xfe\xff" + _as_tsv(text).encode("utf-16-be"),
        lambda text: _as_tsv(text).replace("\n", "\r\n").encode("utf-8-sig"),
        lambda text: _as_tsv(text).encode("cp932"),
        lambda text: text.replace(",", ";").encode("utf-8"),
        lambda text: text.replace("\n", "\r").encode("cp932"),
    ],
    ids=["utf16-le-tsv", "utf16-be-tsv", "utf8-bom-crlf-tsv", "cp932-tsv", "semicolon", "cr"],
)
def test_r21_unicode_text_tab_and_semicolon_rosters_read_like_csv(encode):
    text = HEADER + _rows(3) + 'C9,"佐藤 花子",新卒,080-1111-2222\n'
    roster = load_roster(encode(text))
    expected = load_roster(text.encode())
    assert roster.column_names == expected.column_names == HEADER.strip().split(",")
    assert roster.table.to_pylist() == expected.table.to_pylist()
    assert roster.table.column("氏名")[3].as_py() == "佐藤 花子"


def test_r22_a_tab_separated_unicode_text_row_with_too_many_cells_names_row_and_column():
    data = _as_tsv(HEADER + _rows(2) + "C8,佐藤,新卒,09011112222,余分\n").encode("utf-16")
    err = _refused(data)
    assert err.row == 4 and err.column == "column E"


def test_headers_of_unicode_text_are_offered_to_the_mapping_editor():
    from sms_core.rules.roster import read_headers

    data = _as_tsv(HEADER + _rows(1)).encode("utf-16")
    assert read_headers(data) == ["応募者ID", "氏名", "区分", "携帯電話番号"]


def test_r22_the_mapping_editor_is_told_of_a_title_above_the_headers_too():
    """The column editor would offer the title as the only column; it gets the same
    error as loading, naming the row the headers are in."""
    from sms_core.rules.roster import read_headers

    data = ("応募者一覧\n\n" + HEADER + _rows(2)).encode("cp932")
    with pytest.raises(RosterError) as caught:
        read_headers(data)
    assert (caught.value.key, caught.value.row) == ("roster.header_below", 3)
    # Above a tab-separated header too (Excel's Unicode text with a title row).
    with pytest.raises(RosterError) as caught:
        load_roster(_as_tsv("応募者一覧\n" + HEADER + _rows(2)).encode("utf-16"))
    assert (caught.value.key, caught.value.row) == ("roster.header_below", 2)


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_r22_empty_rows_excel_leaves_below_the_data_are_not_candidates(encoding):
    """Excel writes ``,,,`` for cleared or formatted rows under the data; they are not
    rows with an empty kind. One inside the data still is, and is named."""
    trailing = (HEADER + _rows(2) + ",,,\n,,,\n").encode(encoding)
    assert load_roster(trailing).num_rows == 2
    inside = (HEADER + _rows(1) + ",,,\n" + _rows(1, 5)).encode(encoding)
    err = _refused(inside)
    assert (err.row, err.column, err.key) == (3, "区分", "roster.empty_kind")
