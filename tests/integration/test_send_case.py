"""The one send use case (issue 11): draft, then confirm, on SQLite and PostgreSQL.

The product clock is set (sms_core.clock.frozen), so the month boundary is exercised at
2026-11-30 20:59 / 21:00 / 23:59 and 2026-12-31 23:59 Japan time whatever day it is.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sms_core import clock
from sms_core.errors import InputError, QuotaError, StateError
from sms_core.rules.preview import PreviewCache
from sms_core.rules.schedule import JST
from sms_core.sending import quota
from sms_core.sending.send_case import SHARED_SENDER_NUMBER
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Campaign

NOV, DEC, JAN = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)
# Three new graduates; 71 characters each: 2 units and 2 carrier segments apiece.
ROSTER = (
    "応募者ID,氏名,区分,携帯電話番号,LINE登録\n"
    "C1,佐藤,新卒,090-1111-2222,済\n"
    "C2,鈴木,新卒,090-3333-4444,未\n"
    "C3,高橋,新卒,090-1111-2222,未\n"
    "C4,田中,新卒,080-5555-6666,未\n"
).encode()
BODY = "あ" * 71


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


@pytest.fixture
def svc(engine, tmp_path, monkeypatch) -> SmsService:
    monkeypatch.setenv("SMS_PROVIDER", "sandbox")
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_QUIET_HOURS", "21:00-08:00")
    monkeypatch.delenv("SMS_TWILIO_FROM", raising=False)
    return SmsService(engine)


def contract(svc: SmsService, units: int = 1000, start: date = NOV, **kw) -> None:
    with clock.frozen(jst(2026, 11, 1, 12, 0)):
        svc.set_contract(units, start, 3, kw.get("mode", "shared"), kw.get("number"), actor="test")


def use_up(svc: SmsService, month: date, units: int) -> None:
    with transaction(svc.database_engine()) as s:
        quota.reserve(s, month, units)


def draft(svc: SmsService, **choices):
    choices.setdefault("body", BODY)
    choices.setdefault("nonce", "form-1")
    return svc.draft_send(ROSTER, "roster.csv", **choices)


def quota_month_of(svc: SmsService, campaign_id: int) -> date:
    with transaction(svc.database_engine()) as s:
        return s.get(Campaign, campaign_id).quota_month


def test_r18_at_2059_on_the_last_day_the_send_counts_against_this_month(svc):
    """R18: 20:59 JST on 30 Nov is outside quiet hours: November's quota, and its
    shortfall, are what the draft shows; confirming is refused with it."""
    contract(svc)
    use_up(svc, NOV, 995)  # 5 left in November; the send needs 6
    with clock.frozen(jst(2026, 11, 30, 20, 59)):
        d = draft(svc, quiet_policy="defer")
        assert (d.quiet_outcome, d.month, d.units) == ("clear", NOV, 6)
        assert (d.remaining_before, d.remaining_after, d.shortfall) == (5, -1, 1)
        assert d.blocked == "short" and not d.can_confirm
        with pytest.raises(QuotaError, match=r"1 short"):
            svc.confirm_send(d, actor="op")
    with transaction(svc.database_engine()) as s:
        assert quota.remaining(s, NOV).reserved == 995  # nothing more reserved


@pytest.mark.parametrize(
    "now, goes_out, month",
    [
        (jst(2026, 11, 30, 21, 0), jst(2026, 12, 1, 8, 0), DEC),
        (jst(2026, 11, 30, 23, 59), jst(2026, 12, 1, 8, 0), DEC),
        (jst(2026, 12, 31, 23, 59), jst(2027, 1, 1, 8, 0), JAN),
    ],
)
def test_r18_a_quiet_hours_deferral_past_midnight_reserves_in_the_month_it_goes_out(
    svc, now, goes_out, month
):
    """R17/R18: deferred out of quiet hours past midnight on a month's last day, the send
    goes out next month: the draft shows that month's quota and the units go there."""
    contract(svc)
    use_up(svc, quota.jst_month(now), 995)  # the month of "now" could not take it
    with clock.frozen(now):
        d = draft(svc, quiet_policy="defer")
        assert d.quiet_outcome == "deferred" and d.starts_at == goes_out
        assert d.month == month and d.month != quota.jst_month(now)
        assert (d.remaining_before, d.remaining_after, d.shortfall) == (1000, 994, 0)
        assert d.can_confirm
        info = svc.confirm_send(d, actor="op")
    assert info.quota_month == month == quota_month_of(svc, info.id)
    with transaction(svc.database_engine()) as s:
        assert quota.remaining(s, month).reserved == 6
        assert quota.remaining(s, quota.jst_month(now)).reserved == 995


def test_r18_refused_by_quiet_hours_is_shown_and_not_confirmed(svc):
    contract(svc)
    with clock.frozen(jst(2026, 11, 30, 23, 59)):
        d = draft(svc, quiet_policy="refuse")
        assert d.blocked == "quiet_refused" and d.quiet_outcome == "refused"
        with pytest.raises(InputError, match="quiet hours"):
            svc.confirm_send(d, actor="op")
        urgent = draft(svc, urgent_reason="台風のため休講")
        assert urgent.quiet_outcome == "urgent" and urgent.month == NOV


def test_r18_scheduling_into_next_month_checks_and_shows_next_month(svc):
    contract(svc)
    use_up(svc, NOV, 1000)  # November is spent; December is not
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        d = draft(svc, send_at=jst(2026, 12, 1, 10, 0))
        assert (d.month, d.month_label, d.remaining_before, d.remaining_after) == (
            DEC,
            "2026-12",
            1000,
            994,
        )
        info = svc.confirm_send(d, actor="op")
    assert info.quota_month == DEC


def test_r16_a_contract_that_has_ended_refuses_the_send_with_its_end(svc):
    """R16: a contract that has ended counts as no contract: refused, naming the end."""
    contract(svc, start=date(2026, 8, 1))  # August to October
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        d = draft(svc)
        assert d.blocked == "contract_ended" and d.contract_end == date(2026, 10, 1)
        with pytest.raises(StateError, match="ended with 2026-10"):
            svc.confirm_send(d, actor="op")
    with transaction(svc.database_engine()) as s:
        assert s.query(Campaign).count() == 0


def test_r16_without_a_contract_the_draft_is_blocked(svc):
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        d = draft(svc)
    assert d.blocked == "no_contract" and d.sender is None


def test_r3_a_repeat_of_a_narrowed_away_row_is_sent_and_counted(svc):
    """R3: C3 repeats C1's number; narrowing C1 away leaves C2, C3 and C4 as recipients."""
    contract(svc)
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        everyone = draft(svc)
        assert everyone.recipients == 3 and everyone.reasons["duplicate"] == 1
        narrowed = draft(svc, filters={"LINE登録": ["未"]})
        assert narrowed.recipients == 3 and narrowed.reasons["duplicate"] == 0
        assert narrowed.units == 6 and narrowed.narrowed_out == 1
        frame = narrowed.frame()
        assert frame["chosen"].tolist() == [False, True, True, True]
        assert frame["reason"].tolist() == ["ok", "ok", "ok", "ok"]
        info = svc.confirm_send(narrowed, actor="op")
    assert info.recipients == 3 and info.units == 6


def test_the_same_form_confirmed_twice_makes_one_campaign_and_one_reservation(svc):
    contract(svc)
    cache = PreviewCache()
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        first = draft(svc, cache=cache)
        again = draft(svc, cache=cache)  # a rerun or a refresh of the same form
        assert first.key == again.key
        a = svc.confirm_send(first, actor="op")
        b = svc.confirm_send(again, actor="op")
        assert a.id == b.id and a.created and not b.created
        # Another form, or the same form with other choices, is another send.
        assert draft(svc, nonce="form-2").key != first.key
        assert draft(svc, filters={"LINE登録": ["未"]}).key != first.key
        assert draft(svc, body=BODY + "い").key != first.key
        assert draft(svc, send_at=jst(2026, 12, 1, 10, 0)).key != first.key
    with transaction(svc.database_engine()) as s:
        assert quota.remaining(s, NOV).reserved == 6
        assert s.query(Campaign).count() == 1


def test_r14_the_sender_shown_is_the_one_the_provider_uses(svc, monkeypatch):
    contract(svc)
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        assert draft(svc).sender == SHARED_SENDER_NUMBER
        monkeypatch.setenv("SMS_PROVIDER", "twilio")
        monkeypatch.setenv("SMS_TWILIO_FROM", "+15005550006")
        assert draft(svc).sender == "+15005550006"  # Twilio's shared plan: its From
        contract(svc, mode="dedicated", number="090-9876-5432")
        assert draft(svc).sender == "09098765432"
        monkeypatch.setenv("SMS_PROVIDER", "sandbox")
        assert draft(svc).sender == "09098765432"


def test_the_draft_holds_per_recipient_rows_and_totals(svc):
    contract(svc)
    with clock.frozen(jst(2026, 11, 30, 12, 0)):
        d = draft(svc, body="{{氏名}}様" + "あ" * 133)  # 136 characters: 2 units, 3 segments
    assert (d.units, d.segments) == (6, 9)
    frame = d.frame()
    assert frame.loc[0, "message"] == "佐藤様" + "あ" * 133
    assert (frame.loc[0, "units"], frame.loc[0, "segments"]) == (2, 3)
    assert sum(d.reasons.values()) == 4
    assert d.csv_bytes().startswith(b"\xef\xbb\xbf") or b"row" in d.csv_bytes()[:20]
