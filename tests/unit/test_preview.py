"""The preview: field choice (R4), reasons (R3, R5), per-recipient text and cost (R6–R11)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms_core.demo.samples import generate_roster, write_roster_csv
from sms_core.errors import InputError, TemplateError
from sms_core.rules import phones, text
from sms_core.rules.preview import OUTPUT_COLUMNS, PreviewCache, assess, cost_messages, preview
from sms_core.rules.roster import load_roster
from sms_core.rules.tags import SHORT_CODE_LENGTH

HEADER = "応募者ID,氏名,区分,携帯電話番号,現住所電話番号,休暇中電話番号,電話番号1,電話番号2,URL\n"


def roster(*rows: str):
    return load_roster((HEADER + "".join(r + "\n" for r in rows)).encode())


def frame(*rows: str, body: str = "こんにちは", **kw):
    return preview(roster(*rows), body, **kw).frame()


def test_r4_new_graduates_use_only_the_mobile_field():
    f = frame(
        "C1,a,新卒,09011112222,08033334444,07055556666,,,",
        "C2,b,新卒,,08033334444,07055556666,,,",  # mobiles elsewhere are never used
        "C3,c,新卒,0312345678,09077778888,,,,",
    )
    assert f["reason"].tolist() == ["ok", "missing", "landline"]
    assert f["phone"].tolist()[0] == "09011112222"
    assert set(f["source_field"]) == {"mobile"}


def test_r4_mid_career_phone1_then_phone2():
    f = frame(
        "C1,a,中途,,,,09011112222,08033334444,",  # both eligible: 電話番号1
        "C2,b,中途,,,,0312345678,08033334444,",  # 1 landline, 2 mobile: 電話番号2
        "C3,c,中途,,,,,08055556666,",  # 1 empty: 電話番号2
        "C4,d,中途,,,,0312345678,05012345678,",  # neither: reason of the first non-empty
        "C5,e,中途,,,,,05012345678,",  # first non-empty is 電話番号2
        "C6,f,中途,,,,,,",  # both empty
        "C7,g,中途,09099999999,,,abc,,",  # the mobile field is not used for 中途
    )
    assert f["reason"].tolist() == ["ok", "ok", "ok", "landline", "ip_phone", "missing", "invalid"]
    assert f["source_field"].tolist() == [
        "phone1",
        "phone2",
        "phone2",
        "phone1",
        "phone2",
        "phone1",
        "phone1",
    ]
    assert f["phone"].tolist()[:3] == ["09011112222", "08033334444", "08055556666"]
    assert f["raw_phone"].tolist()[1] == "08033334444"


def test_r3_duplicates_are_judged_on_the_normalised_number():
    f = frame(
        "C1,a,新卒,090-1111-2222,,,,,",
        "C2,b,中途,,,,+81 90 1111 2222,,",
        "C3,c,新卒,０９０１１１１２２２２,,,,,",
        "C4,d,新卒,08011112222,,,,,",
    )
    assert f["reason"].tolist() == ["ok", "duplicate", "duplicate", "ok"]
    assert f["eligible"].tolist() == [True, False, False, True]


def test_r3_opted_out_numbers_in_any_form():
    f = frame(
        "C1,a,新卒,090-1111-2222,,,,,",
        "C2,b,新卒,08011112222,,,,,",
        suppressed=["+81 90-1111-2222"],
    )
    assert f["reason"].tolist() == ["opted_out", "ok"]


def test_r3_exactly_one_reason_per_row_on_the_shipped_sample(data_dir):
    p = preview(data_dir / "roster_sample_cp932.csv", "テスト")
    f = p.frame()
    assert f["reason"].notna().all()
    assert sum(p.summary.reasons.values()) == len(f)
    for code in ("ok", "missing", "ip_phone", "landline", "invalid", "duplicate"):
        assert p.summary.reasons[code] > 0, code


def test_r2_repaired_flag_and_both_number_forms():
    f = frame("C1,a,新卒,9012345678,,,,,", "C2,b,新卒,'08012345678,,,,,")
    assert f["repaired"].tolist() == [True, False]
    assert f["phone"].tolist() == ["09012345678", "08012345678"]
    assert f["e164"].tolist() == ["+819012345678", "+818012345678"]


def test_r5_every_row_is_in_the_preview_and_costs_count_eligible_only():
    p = preview(roster("C1,a,新卒,09011112222,,,,,", "C2,b,新卒,05011112222,,,,,"), "x" * 71)
    f = p.frame()
    assert len(f) == 2
    assert f["units"].tolist() == [2, 0]
    assert f["chars"].tolist() == [71, 71]
    assert p.summary.total_units == 2 and p.summary.eligible == 1


def test_output_columns_are_the_contract():
    f = frame("C1,a,新卒,09011112222,,,,,")
    assert tuple(f.columns) == OUTPUT_COLUMNS
    assert f["row"].tolist() == [2]  # the spreadsheet row: the header is row 1


def test_r10_merge_tags_in_japanese_and_english_give_per_recipient_cost():
    f = frame(
        "C1,山田 太郎,新卒,09011112222,,,,,",
        "C2,佐藤,新卒,08011112222,,,,,",
        body="{{氏名}}様、{{name}}様。" + "あ" * 60,
    )
    assert f["message"].tolist()[1] == "佐藤様、佐藤様。" + "あ" * 60
    assert f["chars"].tolist() == [74, 68]
    assert f["units"].tolist() == [2, 1]  # names differ in length, so costs differ (R9)


def test_r10_unknown_tag_lists_the_available_ones():
    with pytest.raises(TemplateError) as err:
        frame("C1,a,新卒,09011112222,,,,,", body="{{名前}}様")
    assert "{{名前}}" in str(err.value) and "{{氏名}}" in str(err.value)
    assert "{{name}}" in str(err.value)


@pytest.mark.parametrize("body", ["{{}}", "{{氏名", "", "  \n"])
def test_r10_r7_bad_bodies_are_refused(body):
    with pytest.raises(TemplateError):
        frame("C1,a,新卒,09011112222,,,,,", body=body)


def test_r10_empty_values_are_flagged_per_recipient():
    p = preview(
        roster("C1,,新卒,09011112222,,,,,", "C2,b,新卒,08011112222,,,,,", "C3,,新卒,,,,,,"),
        "{{氏名}}様 {{URL}}",
    )
    f = p.frame()
    assert f["empty_tags"].tolist() == ["氏名,URL", "URL", "氏名,URL"]
    assert p.summary.empty_tag_rows == 2  # the third row is not eligible


def test_r11_url_tags_count_the_fixed_short_url_length(monkeypatch):
    base = "https://t.example.jp/s/"
    f = frame(
        "C1,a,新卒,09011112222,,,,,https://long.example.com/" + "x" * 200,
        body="{{url:https://example.com/a}} {{URL}}",
        short_url_base=base,
    )
    short = len(base) + SHORT_CODE_LENGTH
    assert f["chars"].tolist() == [2 * short + 1]
    assert f["message"][0] == f"{base}XXXXXXXX {base}XXXXXXXX"
    monkeypatch.setenv("SMS_SHORT_URL_BASE", "https://a.jp/")
    f = frame("C1,a,新卒,09011112222,,,,,", body="{{url:https://example.com/a}}")
    assert f["chars"].tolist() == [len("https://a.jp/") + SHORT_CODE_LENGTH]


def test_r11_url_tag_needs_an_http_target():
    with pytest.raises(TemplateError, match="http"):
        frame("C1,a,新卒,09011112222,,,,,", body="{{url:javascript:alert(1)}}")


def test_r6_r8_r9_long_and_astral_messages_use_the_exact_splitter():
    body = "{{氏名}}" + "あ" * 650 + "😀" * 10
    f = frame("C1,😀😀,新卒,09011112222,,,,,", body=body)
    expected = text.cost(f["message"][0])
    assert (f["chars"][0], f["units"][0], f["parts"][0], f["segments"][0]) == (
        expected.chars,
        expected.units,
        expected.parts,
        expected.segments,
    )
    assert f["chars"][0] == 4 + 650 + 20 and f["parts"][0] == 2


def test_r6_crlf_in_body_and_values_counts_as_one():
    r = load_roster((HEADER + 'C1,"山田\r\n太郎",新卒,09011112222,,,,,\n').encode())
    f = preview(r, "{{氏名}}\r\nです").frame()
    assert f["message"][0] == "山田\n太郎\nです"
    assert f["chars"][0] == 8


def test_changing_the_body_reuses_the_assessment():
    cache = PreviewCache()
    data = (HEADER + "C1,a,新卒,09011112222,,,,,\n").encode()
    first = cache.preview(data, "r.csv", "a")
    second = cache.preview(data, "r.csv", "b" * 80)
    assert first.assessment is second.assessment
    assert second.summary.total_units == 2
    third = cache.preview(data, "r.csv", "a", suppressed=["09011112222"])
    assert third.assessment is not first.assessment
    assert third.summary.eligible == 0


def _reference_row(kind: str, mobile: str, p1: str, p2: str) -> tuple[str, str, bool]:
    """R4 straight from the rule text, one row at a time, with the scalar classifier."""
    if kind == "新卒":
        v = phones.classify(mobile)
        return v.reason, v.national, v.repaired
    v1, v2 = phones.classify(p1), phones.classify(p2)
    if v1.reason == "ok":
        return v1.reason, v1.national, v1.repaired
    if v2.reason == "ok" or v1.reason == "missing":
        return v2.reason, v2.national, v2.repaired
    return v1.reason, v1.national, v1.repaired


@pytest.mark.slow
def test_vectorised_preview_matches_a_row_by_row_reference(tmp_path):
    table = generate_roster(30_000, seed=7)
    path = tmp_path / "r.csv"
    write_roster_csv(table, path, encoding="cp932")
    body = "{{氏名}}様\n説明会のご案内です。{{説明会URL}}\n" + "詳細はこちら。" * 9
    p = preview(path, body)
    # The frame's columns as Python lists, read once: indexing a DataFrame cell by cell
    # cost far more than the reference itself.
    frame = p.frame()
    f = {c: frame[c].tolist() for c in ("reason", "phone", "repaired", "message", "chars", "units")}
    seen: set[str] = set()
    for i, row in enumerate(table.to_pylist()):
        reason, national, repaired = _reference_row(
            row["区分"], row["携帯電話番号"], row["電話番号1"], row["電話番号2"]
        )
        if reason == "ok":
            reason = "duplicate" if national in seen else "ok"
            seen.add(national)
        assert (f["reason"][i], f["phone"][i], f["repaired"][i]) == (
            reason,
            national,
            repaired,
        ), (i, row)
        expected = text.cost(f["message"][i])
        units = expected.units if reason == "ok" else 0
        assert (f["chars"][i], f["units"][i]) == (expected.chars, units), i


_names = st.text(st.sampled_from("山田太郎あいうアイウabc 😀𠮷\n。!"), max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.lists(_names, min_size=1, max_size=8),
    body=st.text(st.sampled_from("あ a😀\n。!{}"), max_size=900).filter(
        lambda b: "{{" not in b and "}}" not in b and b.strip()
    ),
    tagged=st.booleans(),
)
def test_r6_r9_vectorised_cost_equals_scalar_cost(names, body, tagged):
    rows = []
    for i, name in enumerate(names):
        quoted = '"' + name.replace('"', '""') + '"'
        rows.append(f"C{i},{quoted},新卒,0901111{i:04d},,,,,")
    r = roster(*rows)
    full = ("{{氏名}}" + body) if tagged else body
    p = cost_messages(assess(r), full)
    for i, message in enumerate(p.message.to_pylist()):
        c = text.cost(message) if message else text.Cost(0, 0, 0, 0)
        assert (p.chars[i], p.units[i], p.parts[i], p.segments[i]) == (
            c.chars,
            c.units,
            c.parts,
            c.segments,
        )
        assert c.units == max(math.ceil(c.chars / 70), c.units)


def test_narrowing_by_roster_columns_updates_count_and_cost(data_dir):
    p = preview(data_dir / "roster_sample_cp932.csv", "あ" * 71)
    roster = p.assessment.roster
    assert roster.distinct_values("LINE登録") == ["未", "済"]
    assert roster.distinct_values("氏名") is None  # too many values to offer as a filter
    everyone = p.select()
    assert everyone.recipients == p.summary.eligible and everyone.units == p.summary.total_units
    not_on_line = p.select({"LINE登録": ["未"]})
    frame = p.frame()
    # R3: repeats are judged among the narrowed rows only (first of each number is kept).
    receivable = frame["reason"].isin(["ok", "duplicate"])
    expected = frame[receivable & (roster.table.column("LINE登録").to_pandas() == "未")]
    expected = expected.drop_duplicates("phone", keep="first")
    assert not_on_line.recipients == len(expected)
    assert not_on_line.units == 2 * len(expected)
    both = p.select({"LINE登録": ["未"], "イベント予約": ["未"]})
    assert both.recipients <= not_on_line.recipients
    assert p.select({"LINE登録": []}).recipients == 0
    with pytest.raises(InputError, match="no column"):
        p.select({"nope": ["x"]})


def test_preview_cache_reads_an_identified_upload_only_once():
    cache = PreviewCache()
    data = (HEADER + "C1,a,新卒,09011112222,,,,,\n").encode()
    reads = []

    def read() -> bytes:
        reads.append(1)
        return data

    first = cache.preview(read, "r.csv", "a", source_id="upload-1")
    second = cache.preview(read, "r.csv", "b" * 80, source_id="upload-1")
    assert len(reads) == 1 and first.assessment is second.assessment
    cache.preview(read, "r.csv", "a", source_id="upload-2")
    assert len(reads) == 2


_CP932_ROWS = [
    "C1,山田,新卒,０９０－１１１１－２２２２,,,,,",  # full-width digits and hyphens
    "C2,髙橋,中途,,,,０３－１２３４－５６７８,０８０ー３３３３ー４４４４,",  # 2 after a landline
    "C3,Smith,新卒,090-5555-6666,,,,,",  # plain ASCII beside the others
    "C4,﨑本,中途,,,,（090）7777　8888,,",
]


# Rows enough to put what follows beyond the encoding sniffer's window, which would
# otherwise report bad bytes itself, before any column is decoded.
_FILLER = 5_000


def _cp932_roster(rows: list[str], patch: dict[tuple[int, int], bytes] | None = None):
    """A CP932 roster of _FILLER empty rows, then ``rows``; ``patch`` puts raw bytes at
    (index in ``rows``, field index)."""
    lines = [b"F,,\x90\x56\x91\xb2,,,,,,"] * _FILLER  # 新卒, no phone
    for i, row in enumerate(rows):
        cells = [c.encode("cp932") for c in row.split(",")]
        for (r, c), raw in (patch or {}).items():
            if r == i:
                cells[c] = raw
        lines.append(b",".join(cells))
    return load_roster(HEADER.encode("cp932") + b"\n".join(lines) + b"\n")


def test_r2_r21_cp932_full_width_phones_give_the_utf8_verdicts():
    cp932 = preview(_cp932_roster(_CP932_ROWS), "hi").frame()[_FILLER:]
    utf8 = frame(*_CP932_ROWS, body="hi")
    for column in ("reason", "phone", "source_field", "raw_phone", "name"):
        assert cp932[column].tolist() == utf8[column].tolist(), column
    assert cp932["reason"].tolist() == ["ok", "ok", "ok", "ok"]
    assert cp932["raw_phone"].tolist()[:2] == [
        "０９０－１１１１－２２２２",
        "０８０ー３３３３ー４４４４",
    ]


@pytest.mark.parametrize(
    ("row", "field", "header"),
    [(0, 3, "携帯電話番号"), (3, 6, "電話番号1"), (1, 7, "電話番号2")],
)
def test_r22_bad_cp932_bytes_in_a_phone_that_is_read_name_row_and_column(row, field, header):
    with pytest.raises(InputError) as err:
        preview(_cp932_roster(_CP932_ROWS, {(row, field): b"090\x81\x7f"}), "hi")
    assert (err.value.row, err.value.column) == (_FILLER + row + 2, header)


def test_bytes_in_a_phone_field_the_row_does_not_use_are_not_read():
    # R4: a 中途 row's mobile and a row's 電話番号2 after an eligible 電話番号1 are never read.
    patch = {(1, 3): b"\x81\x7f", (3, 7): b"\x82"}
    f = preview(_cp932_roster(_CP932_ROWS, patch), "hi").frame()[_FILLER:]
    assert f["reason"].tolist() == ["ok", "ok", "ok", "ok"]


def test_r3_a_repeat_of_a_row_narrowed_away_is_not_a_duplicate():
    """R3: a duplicate is judged among the recipients still chosen after narrowing. Rows 1
    and 3 share a number; narrowing row 1 away leaves row 3 as a recipient (2 of 3, not 1).
    """
    data = (
        "応募者ID,氏名,区分,携帯電話番号,LINE登録\n"
        "C1,佐藤,新卒,090-1111-2222,済\n"
        "C2,鈴木,新卒,090-3333-4444,未\n"
        "C3,高橋,新卒,090-1111-2222,未\n"
    ).encode()
    p = preview(data, "あ" * 71)
    assert p.summary.eligible == 2  # the whole roster: row 3 repeats row 1
    narrowed = p.select({"LINE登録": ["未"]})
    assert narrowed.recipients == 2 and narrowed.rows.tolist() == [1, 2]
    assert narrowed.units == 4 and narrowed.duplicates == 0
    both = p.select({"LINE登録": ["未", "済"]})
    assert both.recipients == 2 and both.duplicates == 1
