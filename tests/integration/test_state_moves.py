"""Every state move through the guarded UPDATEs of sms_core.sending.states, on SQLite and
PostgreSQL (R15), and the later parts of a recipient whose part failed after acceptance
(R8): cancelled, their units released, the campaign finished.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import product

import pytest
from sqlalchemy import select

from sms_core import clock
from sms_core.linkserver.receipts import ReceiptConfig, ReceiptRequest, handle_receipt
from sms_core.linkserver.signatures import (
    SHARED_SIGNATURE_HEADER,
    SHARED_TIMESTAMP_HEADER,
    shared_signature,
)
from sms_core.providers.sandbox import FAILING_NUMBER, SandboxProvider
from sms_core.providers.settings import Secret
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.sending.states import (
    CampaignState,
    IllegalTransition,
    MessageState,
    campaign_move_allowed,
    check_campaign_move,
    message_move_allowed,
    move_campaigns,
    move_messages,
)
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message

# Mid-month, mid-day in Japan: these tests are about states, not calendars.
NOW = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
NO_QUIET = QuietHours.parse("00:00-00:00")
SECRET = "states-test-sandbox-secret"
FAST = DispatchConfig(
    settle_delay=0, status_poll_after=0, backoff_base=0.01, backoff_cap=0.05, batch_size=16
)


@pytest.fixture(autouse=True)
def fixed_clock():
    with clock.frozen(NOW):
        yield


def _campaign(s, state: str = "sending") -> Campaign:
    campaign = Campaign(
        name="状態",
        body="hi",
        state=state,
        quota_month=quota.current_month(),
        sender_mode="shared",
        sender_number="0000",
        provider="sandbox",
        created_by="test",
    )
    s.add(campaign)
    s.flush()
    return campaign


def _message_row(engine, message_id: int) -> tuple:
    with transaction(engine) as s:
        return tuple(s.execute(select(Message.__table__).where(Message.id == message_id)).one())


def test_r15_every_message_move_on_the_database(engine):
    """Allowed moves move the row; a forbidden one is refused before SQL (frm given) and by
    the guarded UPDATE's WHERE (frm left to the table), the row left exactly as it was."""
    with transaction(engine) as s:
        campaign_id = _campaign(s).id
    seen: list[tuple[str, str, str]] = []
    for n, (frm, to) in enumerate(product(MessageState, MessageState)):
        with transaction(engine) as s:
            m = Message(
                campaign_id=campaign_id,
                recipient_row=n + 2,
                phone="09011110001",
                body="hi",
                units=1,
                state=frm.value,
                client_ref=f"walk-{n}",
                provider="sandbox",
            )
            s.add(m)
            s.flush()
            message_id = m.id
        before = _message_row(engine, message_id)
        if message_move_allowed(frm, to):
            with transaction(engine) as s:
                moved = move_messages(s, to, Message.id == message_id, frm=frm)
            with transaction(engine) as s:
                state = s.scalar(select(Message.state).where(Message.id == message_id))
            seen.append((frm, to, "moved" if (moved, state) == (1, to.value) else "NOT MOVED"))
            continue
        with pytest.raises(IllegalTransition), transaction(engine) as s:
            move_messages(s, to, Message.id == message_id, frm=frm)
        with transaction(engine) as s:
            moved = move_messages(s, to, Message.id == message_id)  # every legal source
        after = _message_row(engine, message_id)
        seen.append((frm, to, "refused" if (moved, after) == (0, before) else "CHANGED"))
    assert [x for x in seen if x[2] not in ("moved", "refused")] == []
    assert sum(1 for x in seen if x[2] == "moved") == 18  # 14, and issue 12's 4
    assert len(seen) == len(MessageState) ** 2


def test_r15_every_campaign_move_on_the_database(engine):
    """As for messages, through both the set-wise UPDATE and the ORM-locked campaign."""
    results: list[tuple[str, str, str]] = []
    for frm, to in product(CampaignState, CampaignState):
        with transaction(engine) as s:
            campaign_id = _campaign(s, frm.value).id
        allowed = campaign_move_allowed(frm, to)
        try:
            with transaction(engine) as s:
                moved = move_campaigns(s, to, Campaign.id == campaign_id)
        except IllegalTransition:  # nothing may move to draft: refused before any SQL
            assert to == CampaignState.DRAFT
            moved = 0
        with transaction(engine) as s:
            state = s.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
        expected = (1, to.value) if allowed else (0, frm.value)
        results.append((frm, to, "ok" if (moved, state) == expected else f"{moved} {state}"))
        # The ORM path: a campaign loaded with FOR UPDATE, as cancel and pause load it.
        with transaction(engine) as s:
            campaign_id = _campaign(s, frm.value).id
        try:
            with transaction(engine) as s:
                campaign = s.get(Campaign, campaign_id, with_for_update=True)
                check_campaign_move(campaign, to)
            refused = False
        except IllegalTransition:
            refused = True
        with transaction(engine) as s:
            state = s.scalar(select(Campaign.state).where(Campaign.id == campaign_id))
        expected_orm = (False, to.value) if allowed else (True, frm.value)
        if (refused, state) != expected_orm:
            results.append((frm, to, f"orm: {refused} {state}"))
    assert [r for r in results if r[2] != "ok"] == []


# --- R8: a part that fails after acceptance takes the recipient's later parts with it ---


def _two_part_campaign(engine) -> int:
    with transaction(engine) as s:
        set_contract(s, 1000, quota.current_month(), 3)
    roster = load_roster(
        f"応募者ID,氏名,区分,携帯電話番号\nC1,山田,新卒,{FAILING_NUMBER}\n".encode()
    )
    info = confirm_campaign(
        engine,
        preview(roster, "あ" * 661),
        name="長文",
        idempotency_key="two-parts",
        actor="test",
        provider="sandbox",
        quiet=NO_QUIET,
    )
    assert info.messages == 2
    return info.id


def _parts(engine) -> list[tuple[int, str, str | None]]:
    with transaction(engine) as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Message.part_index, Message.state, Message.error_message).order_by(
                    Message.part_index
                )
            )
        ]


def _ledger(engine):
    with transaction(engine) as s:
        return quota.remaining(s, quota.current_month())


def _campaign_state(engine, campaign_id: int) -> str:
    with transaction(engine) as s:
        return s.scalar(select(Campaign.state).where(Campaign.id == campaign_id))


def test_r8_a_part_failed_by_status_poll_cancels_later_parts_and_releases_them(engine, tmp_path):
    campaign_id = _two_part_campaign(engine)
    reserved = _ledger(engine).reserved
    sandbox = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    try:
        worker = Worker(engine, sandbox, FAST)
        first = worker.run_once()  # part 1 accepted, then polled: failed (absent subscriber)
        assert (first.claimed, first.accepted) == (1, 1)
        for _ in range(3):
            worker.run_once()
        assert len(sandbox.outbox()) == 1  # part 2 never went out
    finally:
        sandbox.close()
    parts = _parts(engine)
    assert [(p, s) for p, s, _ in parts] == [(1, "failed"), (2, "cancelled")]
    assert "an earlier part failed" in parts[1][2]
    status = _ledger(engine)
    part_one_units = 9  # 630 characters of a 661-character text; part 2 holds the rest
    assert (status.used, status.reserved) == (part_one_units, 0)
    assert reserved > part_one_units
    assert _campaign_state(engine, campaign_id) == "finished"


def _pushed_failure(engine, provider_id: str) -> None:
    body = json.dumps(
        {"provider_id": provider_id, "state": "failed", "reason": "absent subscriber"}
    ).encode()
    stamp = str(int(clock.now_utc().timestamp()))
    request = ReceiptRequest(
        provider="sandbox",
        url="http://127.0.0.1/receipts/sandbox",
        query="",
        headers={
            SHARED_TIMESTAMP_HEADER.lower(): stamp,
            SHARED_SIGNATURE_HEADER.lower(): shared_signature(SECRET, stamp, body),
        },
        body=body,
    )
    config = ReceiptConfig({"sandbox": Secret(SECRET)}, max_age_seconds=300)
    outcome = handle_receipt(engine, config, request)
    assert (outcome.result, outcome.state) == ("applied", "failed")


def test_r8_a_part_failed_by_pushed_receipt_cancels_later_parts_and_releases_them(engine, tmp_path):
    campaign_id = _two_part_campaign(engine)
    # The carrier takes its time: the worker's poll keeps finding part 1 accepted.
    sandbox = SandboxProvider(tmp_path / "outbox.db", delivery_delay=3600.0)
    try:
        worker = Worker(engine, sandbox, FAST)
        assert worker.run_once().accepted == 1
        assert [(p, s) for p, s, _ in _parts(engine)] == [(1, "accepted"), (2, "queued")]
        (entry,) = sandbox.outbox()
        _pushed_failure(engine, entry.provider_id)
        for _ in range(3):
            worker.run_once()
        assert len(sandbox.outbox()) == 1
    finally:
        sandbox.close()
    parts = _parts(engine)
    assert [(p, s) for p, s, _ in parts] == [(1, "failed"), (2, "cancelled")]
    status = _ledger(engine)
    assert (status.used, status.reserved) == (9, 0)
    assert _campaign_state(engine, campaign_id) == "finished"


def test_r8_a_failure_cancels_only_its_recipients_later_queued_parts(engine):
    """Earlier parts, parts in flight and other recipients' parts keep their course; the
    cancelled parts' units (and only theirs) go back to the month's remaining units."""
    with transaction(engine) as s:
        set_contract(s, 1000, quota.current_month(), 3)
        quota.reserve(s, quota.current_month(), 60)
        campaign_id = _campaign(s).id
        layout = {
            (2, 1): "accepted",  # fails below
            (2, 2): "queued",
            (2, 3): "queued",
            (3, 1): "accepted",  # another recipient: untouched
            (3, 2): "queued",
            (4, 1): "delivered",
            (4, 2): "sending",  # in flight: its worker records it
            (4, 3): "queued",
        }
        for (row, part), state in layout.items():
            s.add(
                Message(
                    campaign_id=campaign_id,
                    recipient_row=row,
                    part_index=part,
                    part_count=3,
                    phone="09011110001",
                    body="hi",
                    units=5 * part,
                    state=state,
                    client_ref=f"r{row}p{part}",
                    provider="sandbox",
                )
            )
    with transaction(engine) as s:
        failed = s.scalar(
            select(Message.id).where(Message.recipient_row == 2, Message.part_index == 1)
        )
        assert move_messages(s, "failed", Message.id == failed, frm="accepted") == 1
    with transaction(engine) as s:
        now = {(m.recipient_row, m.part_index): m.state for m in s.scalars(select(Message))}
        status = quota.remaining(s, quota.current_month())
    assert now == {**layout, (2, 1): "failed", (2, 2): "cancelled", (2, 3): "cancelled"}
    assert status.reserved == 60 - (10 + 15)
