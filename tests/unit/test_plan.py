"""The send plan: what a confirmed preview sends, part by part (R8, R9, R11)."""

from __future__ import annotations

import pytest

from sms_core.errors import InputError
from sms_core.rules import text
from sms_core.rules.plan import CODE_ALPHABET, new_short_code, plan_send
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.tags import SHORT_CODE_LENGTH

HEADER = "応募者ID,氏名,区分,携帯電話番号,URL\n"


def roster(*rows: str):
    return load_roster((HEADER + "".join(r + "\n" for r in rows)).encode())


def test_r11_short_codes_keep_the_previewed_cost_and_are_per_recipient():
    r = roster(
        "C1,山田,新卒,09011112222,https://a.example/1",
        "C2,佐藤,新卒,08011112222,https://a.example/2",
    )
    p = preview(r, "{{氏名}}様 {{URL}} {{url:https://b.example/x}}", short_url_base="https://s.jp/")
    plan = plan_send(p)
    assert plan.recipients == 2 and len(plan.parts) == 2
    assert plan.units == p.summary.total_units
    for part, chars in zip(plan.parts, p.chars, strict=True):
        assert text.utf16_len(part.body) == chars
        assert "XXXXXXXX" not in part.body
    assert len(plan.links) == 4
    assert {link.target for link in plan.links} == {
        "https://a.example/1",
        "https://a.example/2",
        "https://b.example/x",
    }
    assert len({link.code for link in plan.links}) == 4
    for link in plan.links:
        assert f"https://s.jp/{link.code}" in plan.parts[link.recipient_row].body


def test_r8_long_texts_are_planned_as_ordered_parts_with_minimal_units():
    r = roster("C1,山田,新卒,09011112222,")
    p = preview(r, "あ" * 661)
    plan = plan_send(p)
    assert [len(x.body) for x in plan.parts] == [630, 31]
    assert [x.part_index for x in plan.parts] == [1, 2]
    assert {x.part_count for x in plan.parts} == {2}
    assert plan.units == 10 == p.summary.total_units
    assert [x.client_ref for x in plan.parts] == [f"{plan.reference}-0-1", f"{plan.reference}-0-2"]


def test_only_eligible_rows_and_a_chosen_subset():
    r = roster("C1,a,新卒,09011112222,", "C2,b,新卒,05011112222,", "C3,c,新卒,08011112222,")
    p = preview(r, "hi")
    assert [x.candidate_id for x in plan_send(p).parts] == ["C1", "C3"]
    assert [x.phone for x in plan_send(p, rows=[2]).parts] == ["08011112222"]
    with pytest.raises(InputError, match="row 3 cannot receive"):
        plan_send(p, rows=[1])
    with pytest.raises(InputError, match="no recipient"):
        plan_send(p, rows=[])


def test_r11_an_empty_url_value_is_refused_naming_the_row():
    r = roster("C1,a,新卒,09011112222,https://a.example/1", "C2,b,新卒,08011112222,")
    with pytest.raises(InputError, match="row 3"):
        plan_send(preview(r, "{{URL}}"))


def test_codes_are_base62_of_fixed_length():
    codes = {new_short_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == SHORT_CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_r3_a_repeat_may_be_planned_when_its_earlier_row_is_not_but_never_both():
    """R3: row 3 repeats row 1's number. Narrowed to rows 2 and 3 it is sent; rows 1 and 3
    together would send one number twice and are refused, naming the row."""
    p = preview(
        roster(
            "C1,佐藤,新卒,09011112222,",
            "C2,鈴木,新卒,09033334444,",
            "C3,高橋,新卒,09011112222,",
        ),
        "本文",
    )
    plan = plan_send(p, rows=[1, 2])
    assert [part.recipient_row for part in plan.parts] == [1, 2]
    with pytest.raises(InputError, match="row 4: the same number is chosen twice"):
        plan_send(p, rows=[0, 2])
    assert plan_send(p).recipients == 2  # everyone: the repeat is left out
