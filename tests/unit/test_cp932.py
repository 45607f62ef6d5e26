"""CP932 columns decoded only where they are not ASCII give exactly Python's decoding (R21)."""

from __future__ import annotations

from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms_core.errors import RosterError
from sms_core.rules import cp932
from sms_core.rules.cp932 import decode_column
from sms_core.rules.roster import load_roster

# Characters Excel writes in Japanese rosters, including ones strict shift_jis lacks.
_ALPHABET = '09０９－ー～①髙﨑山田太郎あア abc,"\n\x1f+()'
_values = st.lists(st.text(st.sampled_from(_ALPHABET), max_size=12), max_size=40)


@settings(max_examples=200, deadline=None)
@given(values=_values, chunked=st.booleans(), nulls=st.booleans())
def test_r21_decoding_equals_pythons_codec(values, chunked, nulls):
    raw = [v.encode("cp932") for v in values]
    if nulls and raw:
        raw[0] = None
    arr = pa.array(raw, pa.binary())
    if chunked and len(raw) > 1:
        arr = pa.chunked_array([arr.slice(0, 1), arr.slice(1)])
    decoded = decode_column(arr, "氏名").to_pylist()
    assert decoded == [("" if v is None else v.decode("cp932")) for v in raw]


def test_ascii_columns_are_not_copied():
    arr = pa.array([b"09012345678", b"C0001"], pa.binary())
    out = decode_column(arr, "x")
    assert out.type == pa.string()
    assert out.chunk(0).buffers()[2].address == arr.buffers()[2].address


def test_r22_bytes_that_are_not_cp932_name_the_row_and_column():
    arr = pa.array([b"ok", "山田".encode("cp932"), b"\x81\x7f"], pa.binary())  # 0x817F: unused
    with pytest.raises(RosterError) as err:
        decode_column(arr, "氏名")
    assert err.value.row == 4 and err.value.column == "氏名"


def test_a_cp932_roster_with_quoted_line_breaks_and_commas(tmp_path):
    text = '区分,携帯電話番号,氏名\n新卒,090-1111-2222,"山田,\n太郎"\n中途,,髙橋\n'
    text = text.replace("中途,,髙橋", "新卒,０９０１１１１２２２３,髙橋")
    r = load_roster(text.encode("cp932"))
    assert r.encoding == "cp932"
    assert r.table.column("氏名").to_pylist() == ["山田,\n太郎", "髙橋"]
    assert r.table.column("携帯電話番号").to_pylist() == ["090-1111-2222", "０９０１１１１２２２３"]


def test_r22_a_bad_flag_value_is_named_by_its_first_row():
    # Short, repeated values take the dictionary path; the error still names the row.
    good = ["済".encode("cp932"), "未".encode("cp932")] * 50
    arr = pa.array([*good, b"\x81\x7f", *good], pa.binary())
    with pytest.raises(RosterError) as err:
        decode_column(arr, "LINE登録")
    assert err.value.row == 102 and err.value.column == "LINE登録"
    assert decode_column(pa.array(good, pa.binary()), "x").to_pylist() == ["済", "未"] * 50


_BAD = (b"\x81\x7f", b"\x82", b"\xfd", b"\x85\x40")  # unused cell, cut pair, lead-less, gap


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.text(st.sampled_from(_ALPHABET), max_size=8).map(lambda v: v.encode("cp932")),
            st.tuples(st.sampled_from(_BAD), st.sampled_from(["", "山", "09"])).map(
                lambda t: t[1].encode("cp932") + t[0]
            ),
        ),
        max_size=30,
    ),
    cut=st.integers(0, 30),
    dense=st.sampled_from([1, 4, 10**9]),
)
def test_r22_the_first_bad_row_is_named_across_chunks_and_repeats(values, cut, dense):
    # Distinct values are decoded once; a bad one must still be reported at its first row,
    # whether the column is decoded whole (dense) or only its non-ASCII rows.
    with mock.patch.object(cp932, "_DENSE", dense):
        _check_first_bad_row(values, cut)


def _check_first_bad_row(values: list[bytes], cut: int) -> None:
    arr = pa.array(values, pa.binary())
    if 0 < cut < len(values):
        arr = pa.chunked_array([arr.slice(0, cut), arr.slice(cut)])
    bad = []
    for i, v in enumerate(values):
        try:
            v.decode("cp932")
        except UnicodeDecodeError:
            bad.append(i)
    if not bad:
        assert decode_column(arr, "x").to_pylist() == [v.decode("cp932") for v in values]
        return
    with pytest.raises(RosterError) as err:
        decode_column(arr, "電話番号1")
    assert err.value.row == bad[0] + 2 and err.value.column == "電話番号1"


def test_repeated_names_and_mixed_ascii_rows_across_chunks():
    names = ["山田　太郎", "Smith", "", "髙橋 﨑", "山田　太郎", "0９0－1234"] * 3
    raw = [n.encode("cp932") for n in names]
    arr = pa.chunked_array([pa.array(raw[:7], pa.binary()), pa.array(raw[7:], pa.binary())])
    out = decode_column(arr, "氏名")
    assert out.type == pa.string() and out.to_pylist() == names
