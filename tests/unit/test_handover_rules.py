"""Issue 12, the pure parts: the preview's ``frequency_cap`` reason, the ``{{optout}}`` tag
and the hint that suggests it (特定電子メール法)."""

from __future__ import annotations

from sms_core import i18n
from sms_core.rules.plan import plan_send
from sms_core.rules.preview import REASONS, preview
from sms_core.rules.roster import load_roster
from sms_core.rules.tags import OPTOUT_TARGET, placeholder_url, suggests_optout

BASE = "https://s.example.jp/s/"


def roster(*phones: str):
    lines = "".join(f"C{i},候補者{i},新卒,{p}\n" for i, p in enumerate(phones, start=1))
    return load_roster(("応募者ID,氏名,区分,携帯電話番号\n" + lines).encode())


def test_r3_numbers_at_todays_frequency_cap_get_the_reason_frequency_cap():
    """The service passes the numbers already at today's cap; the preview names them."""
    assert "frequency_cap" in REASONS
    p = preview(
        roster("090-1111-0001", "09011110002", "09011110003"),
        "ご案内",
        suppressed={"09011110003"},
        capped={"09011110001", "09011110003"},
    )
    reasons = p.summary.reasons
    assert reasons["frequency_cap"] == 1 and reasons["opted_out"] == 1 and reasons["ok"] == 1
    assert p.summary.eligible == 1
    assert i18n.t("reason.frequency_cap", "ja") == "送信回数の上限"


def test_r11_the_optout_tag_is_a_short_url_per_recipient_costed_like_any_other():
    body = "{{氏名}}様 説明会のご案内。停止:{{optout}}"
    p = preview(roster("09011110001", "09011110002"), body, short_url_base=BASE)
    same = preview(
        roster("09011110001", "09011110002"),
        "{{氏名}}様 説明会のご案内。停止:" + placeholder_url(BASE),
        short_url_base=BASE,
    )
    assert p.summary.total_units == same.summary.total_units
    plan = plan_send(p)
    assert [link.target for link in plan.links] == [OPTOUT_TARGET, OPTOUT_TARGET]
    assert len({link.code for link in plan.links}) == 2
    for part, link in zip(plan.parts, plan.links, strict=True):
        assert part.body.endswith(BASE + link.code)
    # The Japanese name works too.
    assert plan_send(preview(roster("09011110001"), "停止:{{配信停止URL}}")).links


def test_new_send_suggests_the_optout_tag_for_a_url_or_a_promotional_body():
    assert suggests_optout("詳細はこちら https://example.jp/event")
    assert suggests_optout("冬のインターン募集中！")
    assert not suggests_optout("明日10時からの面接のご確認です。")
    assert not suggests_optout("キャンペーン実施中 停止:{{optout}}")
