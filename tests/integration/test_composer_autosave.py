"""Issue 15 on SQLite and PostgreSQL: New send's autosave (a reload finds the work) keeps
its roster at most 24 hours, per user, and is gone after a confirmation or an erasure; a
draft of the sample roster is never sent; the confirmation's figures (cost in yen, the
sample and longest messages, the formatted sender) come from the one draft."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from sms_core import clock
from sms_core.errors import InputError
from sms_core.roles import Principal
from sms_core.rules.schedule import JST
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, ComposerAutosave

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=JST)  # a month's last day
NOV = date(2026, 11, 1)
ROSTER = (
    "応募者ID,氏名,区分,携帯電話番号,LINE登録\n"
    "C1,佐藤,新卒,090-1111-2222,済\n"
    "C2,長谷川太郎,新卒,090-3333-4444,未\n"
).encode()
CHOICES = {"body": "{{氏名}}様 明日10時に面接です。", "send_mode": "later"}


@pytest.fixture
def operator(engine, tmp_path, monkeypatch) -> SmsService:
    monkeypatch.setenv("SMS_PROVIDER", "sandbox")
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    monkeypatch.delenv("SMS_UNIT_PRICE_YEN", raising=False)
    admin = SmsService(engine)
    with clock.frozen(NOON):
        admin.set_contract(1000, NOV, 3, "shared", None, actor="test")
    return admin.for_user(Principal("sato", "operator"))


def test_the_composer_is_autosaved_per_user_and_found_again(operator):
    with clock.frozen(NOON):
        operator.autosave_roster("roster.csv", ROSTER)
        operator.autosave_composer(CHOICES)
        saved = operator.composer_autosave()
        other = operator.for_user(Principal("suzuki", "operator")).composer_autosave()
    assert saved.choices == CHOICES
    assert (saved.roster_name, saved.roster) == ("roster.csv", ROSTER)
    assert other is None  # one user's roster is never offered to another


def test_the_autosaved_roster_lives_at_most_24_hours(operator, engine):
    """Personal data: expired on read at 24 h from its upload, however often the body
    changes meanwhile, and deleted by the next write of anyone."""
    with clock.frozen(NOON):
        operator.autosave_roster("roster.csv", ROSTER)
    with clock.frozen(NOON + timedelta(hours=23)):
        operator.autosave_composer(CHOICES)  # editing does not extend the roster's life
        assert operator.composer_autosave() is not None
    with clock.frozen(NOON + timedelta(hours=24)):
        assert operator.composer_autosave() is None
        operator.for_user(Principal("suzuki", "operator")).autosave_composer({"body": "x"})
    with transaction(engine) as s:
        assert s.scalars(select(ComposerAutosave.user_name)).all() == ["suzuki"]


def test_confirming_a_send_deletes_the_autosave(operator):
    with clock.frozen(NOON):
        operator.autosave_roster("roster.csv", ROSTER)
        draft = operator.draft_send(ROSTER, "roster.csv", body="面接のご案内です。", nonce="f")
        operator.confirm_send(draft, actor="sato")
        assert operator.composer_autosave() is None


def test_an_erasure_deletes_every_autosaved_roster(operator, engine):
    with clock.frozen(NOON):
        operator.autosave_roster("roster.csv", ROSTER)
        operator.for_user(Principal("suzuki", "operator")).autosave_composer({"body": "x"})
        erasure = SmsService(engine).erase_phone("090-3333-4444")
        assert operator.composer_autosave() is None
    assert erasure.autosaves == 1
    with transaction(engine) as s:  # an autosave without a roster holds no number
        assert s.scalars(select(ComposerAutosave.user_name)).all() == ["suzuki"]


def test_a_draft_of_the_sample_roster_is_blocked_and_never_confirmed(operator, engine):
    with clock.frozen(NOON):
        draft = operator.draft_send(ROSTER, "roster.csv", body="ご案内です。", sample=True)
        assert draft.blocked == "sample" and not draft.can_confirm
        with pytest.raises(InputError) as refused:
            operator.confirm_send(draft, actor="sato")
    assert refused.value.key == "send.sample"
    with transaction(engine) as s:
        assert s.scalars(select(Campaign)).all() == []


def test_the_draft_holds_the_cost_in_yen_and_its_messages(operator, engine, monkeypatch):
    """R7/R9: 佐藤様… is 70 characters (1 unit); 長谷川太郎様… 73 (2 units, 2 segments)."""
    body = "{{氏名}}様 " + "あ" * 66
    monkeypatch.setenv("SMS_UNIT_PRICE_YEN", "8")  # the team's price (0 until one is set)
    with clock.frozen(NOON):
        draft = operator.draft_send(ROSTER, "roster.csv", body=body)
        assert (draft.units, draft.unit_price_yen, draft.cost_yen) == (3, 8.0, 24)
        assert draft.units_per_recipient() == (1, 2)
        first, longest = draft.sample_message(), draft.longest_message()
        assert (first.row, first.text, first.units) == (2, "佐藤様 " + "あ" * 66, 1)
        assert (longest.row, longest.chars, longest.units) == (3, 73, 2)
        assert draft.sender_display == "050-5527-1265"
        SmsService(engine).set_setting("unit_price_yen", "10.5", actor="test")
        assert operator.draft_send(ROSTER, "roster.csv", body=body).cost_yen == 32
