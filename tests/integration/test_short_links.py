"""Short codes and their expiry (R11, issue 3): collision-checked, counted from the send.

Codes are random base62 (``sms_core.rules.plan``); a code an earlier campaign already holds is
replaced inside the confirming transaction, in the text too, at the same cost. Links
expire ``SMS_LINK_RETENTION_DAYS`` after the send goes out, and the New send page says when.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sms_core.clock import now_utc
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.store.db import transaction
from sms_core.store.models import Message, ShortLink

NO_QUIET = QuietHours.parse("00:00-00:00")
BODY = "{{氏名}}様 説明会の詳細: {{url:https://example.jp/event?id=1}}"
ROSTER = "応募者ID,氏名,区分,携帯電話番号\n"


def confirmed(engine, rows: str, key: str, **kw):
    p = preview(load_roster((ROSTER + rows).encode()), BODY, short_url_base="http://l:8600/s/")
    info = confirm_campaign(
        engine,
        p,
        name=key,
        idempotency_key=key,
        actor="t",
        provider="sandbox",
        quiet=NO_QUIET,
        **kw,
    )
    return p, info


def contract(engine) -> None:
    with transaction(engine) as s:
        set_contract(s, 1000, quota.current_month(), 3)


def test_r11_a_code_an_earlier_campaign_uses_is_replaced_in_the_text_at_the_same_cost(engine):
    from sms_core.rules.plan import plan_send

    contract(engine)
    confirmed(engine, "C1,山田,新卒,09011110001\n", "first")
    with transaction(engine) as s:
        taken = s.scalar(select(ShortLink.code))
    p = preview(
        load_roster((ROSTER + "C9,鈴木,新卒,09011119999\n").encode()),
        BODY,
        short_url_base="http://l:8600/s/",
    )
    plan = plan_send(p, new_code=lambda: taken)  # the generator hits an existing code
    assert plan.parts[0].body.endswith(taken)
    info = confirm_campaign(
        engine,
        p,
        name="2",
        idempotency_key="k2",
        actor="t",
        provider="sandbox",
        quiet=NO_QUIET,
        plan=plan,
    )
    with transaction(engine) as s:
        code = s.scalar(select(ShortLink.code).where(ShortLink.campaign_id == info.id))
        body = s.scalar(select(Message.body).where(Message.campaign_id == info.id))
    assert code != taken and len(code) == len(taken)
    assert body == plan.parts[0].body.replace(taken, code)
    assert info.units == p.summary.total_units  # same length, same cost (R9)


def test_r11_links_expire_a_retention_after_the_send_and_the_preview_says_when(engine, monkeypatch):
    from sms_core.rules.schedule import JST
    from sms_core.sending.campaigns import links_expire_on

    contract(engine)
    monkeypatch.setenv("SMS_LINK_RETENTION_DAYS", "30")
    later = now_utc() + timedelta(days=10)
    p, info = confirmed(
        engine, "C1,山田,新卒,09011110001\n", "later", send_at=later.astimezone(JST)
    )
    assert links_expire_on(p, later) == (later + timedelta(days=30)).astimezone(JST).date()
    plain = preview(p.assessment.roster, "{{氏名}}様 こんにちは")
    assert links_expire_on(plain) is None
    with transaction(engine) as s:
        expires = s.scalar(select(ShortLink.expires_at).where(ShortLink.campaign_id == info.id))
    # From the send time, not the confirmation: a scheduled send keeps its full retention.
    assert abs(expires - (later + timedelta(days=30))) < timedelta(seconds=5)


def test_codes_are_at_least_7_base62_characters_from_secrets():
    import inspect

    from sms_core.rules import plan
    from sms_core.rules.tags import SHORT_CODE_LENGTH

    assert SHORT_CODE_LENGTH >= 7 and len(plan.CODE_ALPHABET) == 62
    assert "secrets.choice" in inspect.getsource(plan.new_short_code)
