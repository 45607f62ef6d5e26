"""Candidate lookup and resend to the unreached (issue 16), on SQLite and PostgreSQL.

Rules: R2 (a number in any written form), R3 (opted-out numbers are never resent to),
R8 (parts resent as stored), R15 (states), R18/R19 (quota reserved or refused).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from sms_core import clock
from sms_core.errors import AccessError, InputError, QuotaError, StateError
from sms_core.providers.sandbox import UNREACHABLE_NUMBER, SandboxProvider
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, Campaign, Click, Message, ShortLink
from sms_core.store.suppression import add_optout
from tests.integration.ops_helpers import (
    NOON,
    as_role,
    confirm,
    contract,
    ledger,
    settle,
)

FAST = DispatchConfig(settle_delay=0, status_poll_after=0, idle_sleep=0.01, batch_size=16)


@pytest.fixture(autouse=True)
def noon():
    with clock.frozen(NOON):
        yield


def test_lookup_by_candidate_id_and_by_any_written_phone_form_r2(engine):
    contract(engine)
    first = confirm(engine, "{{氏名}}様 説明会", "09011112222", "08033334444", key="a")
    second = confirm(engine, "{{氏名}}様 面接", "09011112222", key="b", ids=("C1",))
    settle(engine, first.id, {0: "delivered", 1: "failed"})
    with transaction(engine) as s:
        link = ShortLink(
            code="abcdEFGH", target="https://x.jp", campaign_id=first.id, recipient_row=0
        )
        s.add(link)
        s.flush()
        s.add_all(
            Click(code="abcdEFGH", campaign_id=first.id, recipient_row=0, at=NOON) for _ in range(2)
        )
    svc = as_role(engine, "operator")
    by_id = svc.lookup_candidate(candidate_id="C1")
    assert [r.campaign_id for r in by_id] == [second.id, first.id]  # newest first
    assert by_id[1].state == "delivered" and by_id[1].clicks == 2
    assert by_id[1].first_click_at == "2026/12/02 10:00"  # Japan time
    assert by_id[1].phone == "09011112222"  # operators see the number
    written_forms = (
        "090-1111-2222",
        "０９０（１１１１）２２２２",
        "+81 90 1111 2222",
        "'09011112222",
    )
    for written in written_forms:
        assert len(svc.lookup_candidate(phone=written)) == 2, written
    other = svc.lookup_candidate(phone="080-3333-4444")
    assert [(r.candidate_id, r.state) for r in other] == [("C2", "failed")]
    assert svc.lookup_candidate(candidate_id="nobody") == []


def test_lookup_masks_numbers_but_the_last_4_digits_for_analysts(engine):
    contract(engine)
    confirm(engine, "説明会", "09011112222")
    rows = as_role(engine, "analyst").lookup_candidate(phone="090-1111-2222")
    assert [r.phone for r in rows] == ["*******2222"]


def test_lookup_needs_one_key_and_refuses_a_non_number(engine):
    svc = as_role(engine, "analyst")
    with pytest.raises(InputError):
        svc.lookup_candidate()
    with pytest.raises(InputError):
        svc.lookup_candidate(candidate_id="C1", phone="09011112222")
    with pytest.raises(InputError, match="not a phone number"):
        svc.lookup_candidate(phone="abc")


def _failed_campaign(engine):
    """4 recipients: reached, failed, cancelled (never handed over), and failed but opted out."""
    contract(engine)
    info = confirm(
        engine, "あ" * 100, "09011110001", "09011110002", "09011110003", "09011110004"
    )  # 2 parts each
    settle(engine, info.id, {0: "delivered", 1: "failed", 2: "cancelled", 3: "failed"})
    with transaction(engine) as s:
        add_optout(s, "090-1111-0004", actor="test")
        # What the worker records: units of delivered parts used, the rest released.
        from sms_core.sending import quota

        quota.commit_units(s, quota.current_month(), 2)
        quota.release(s, quota.current_month(), 6)
    return info


def test_resend_reaches_exactly_the_unreached_and_links_the_new_campaign_r3_r8(engine):
    info = _failed_campaign(engine)
    svc = as_role(engine, "operator")
    plan = svc.resend_plan(info.id)
    assert (plan.recipients, plan.messages, plan.units, plan.opted_out) == (2, 2, 4, 1)
    before = ledger(engine)
    resent = svc.resend(info.id, key="r1")
    assert resent.created and (resent.recipients, resent.units) == (2, 4)
    assert ledger(engine).reserved == before.reserved + 4
    with transaction(engine) as s:
        new = s.get(Campaign, resent.id)
        assert new.resend_of == info.id and new.state == "scheduled"
        parts = s.execute(
            select(Message.phone, Message.body, Message.part_index, Message.part_count)
            .where(Message.campaign_id == resent.id)
            .order_by(Message.phone, Message.part_index)
        ).all()
        original = s.execute(
            select(Message.phone, Message.body, Message.part_index, Message.part_count)
            .where(
                Message.campaign_id == info.id,
                Message.phone.in_(("09011110002", "09011110003")),
            )
            .order_by(Message.phone, Message.part_index)
        ).all()
        assert parts == original  # the stored text, part for part (R8)
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "campaign.resend" in actions
    # Idempotent on the key; a second resend finds nobody left (the first is on its way).
    again = svc.resend(info.id, key="r1")
    assert again.id == resent.id and not again.created
    with pytest.raises(InputError, match="no unreached recipient"):
        svc.resend(info.id, key="r2")


def test_resend_is_refused_with_the_shortfall_and_writes_nothing_r18(engine):
    info = _failed_campaign(engine)
    with transaction(engine) as s:
        from sms_core.sending import quota

        quota.reserve(s, quota.current_month(), ledger(engine).remaining - 3)
    svc = as_role(engine, "operator")
    with pytest.raises(QuotaError, match="1 short") as refused:
        svc.resend(info.id, key="r1")
    assert refused.value.shortfall == 1
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1


def test_a_resend_after_the_contract_ended_is_refused_like_any_send_r16(engine):
    """Issue 11: a resend is created by the same transaction function as a confirmed send,
    so a contract whose last month is over counts as none for it too (R16)."""
    info = _failed_campaign(engine)  # a 3-month contract from 2026-12: over in 2027-03
    svc = as_role(engine, "operator")
    after_the_end = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)  # 2027/03/01 10:00 Japan time
    with clock.frozen(after_the_end), pytest.raises(StateError, match="ended with 2027-02"):
        svc.resend(info.id, key="r1")
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1


def test_resend_waits_for_a_campaign_still_going_and_is_refused_to_analysts(engine):
    contract(engine)
    info = confirm(engine, "説明会", "09011110001")
    with pytest.raises(StateError, match="scheduled"):
        as_role(engine, "operator").resend(info.id, key="r1")
    settle(engine, info.id, {0: "failed"})
    with pytest.raises(AccessError):
        as_role(engine, "analyst").resend(info.id, key="r1")
    assert as_role(engine, "analyst").resend_plan(info.id).recipients == 1  # reading is fine


def test_resend_after_a_real_rejection_by_the_sandbox_r15(engine, tmp_path, monkeypatch):
    """080-9999-0001 is refused by the sandbox: the worker records it failed, and the
    resend goes to that recipient only."""
    # Quiet hours off: at night Japan time the worker would hold the send at hand-over.
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    contract(engine)
    info = confirm(engine, "{{氏名}}様 説明会", "09012345678", UNREACHABLE_NUMBER)
    sandbox = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    try:
        worker = Worker(engine, sandbox, FAST)
        for _ in range(50):
            worker.run_once()
            with transaction(engine) as s:
                if s.get(Campaign, info.id, populate_existing=True).state == "finished":
                    break
    finally:
        sandbox.close()
    svc = as_role(engine, "operator")
    resent = svc.resend(info.id, key="r1")
    with transaction(engine) as s:
        phones = s.scalars(select(Message.phone).where(Message.campaign_id == resent.id)).all()
    assert phones == [UNREACHABLE_NUMBER]


def test_a_recipient_still_being_settled_is_never_resent_blindly_r15(engine):
    """A cancelled campaign: one recipient's first part is `unknown` (the provider may have
    it), its second cancelled — left out until settled; a recipient never handed over is
    resent."""
    contract(engine)
    info = confirm(engine, "あ" * 700, "09011110001", "09011110002")  # 2 parts each
    settle(engine, info.id, {0: "cancelled", 1: "cancelled"}, state="cancelled")
    with transaction(engine) as s:
        s.execute(
            update(Message)
            .where(
                Message.campaign_id == info.id, Message.recipient_row == 0, Message.part_index == 1
            )
            .values(state="unknown")
        )
    svc = as_role(engine, "operator")
    plan = svc.resend_plan(info.id)
    assert (plan.recipients, plan.still_open) == (1, 1)
    resent = svc.resend(info.id, key="r1")
    with transaction(engine) as s:
        phones = set(s.scalars(select(Message.phone).where(Message.campaign_id == resent.id)))
    assert phones == {"09011110002"}
