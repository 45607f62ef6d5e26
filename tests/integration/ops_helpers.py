"""Shared by issue 16's tests: a contract, a roster, a confirmed campaign, forced outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from sms_core.roles import Principal
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message

NO_QUIET = QuietHours.parse("00:00-00:00")
# 10:00 Japan time on 2 December 2026: inside the contract, outside quiet hours.
NOON = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def roster(*phones: str, ids: tuple[str, ...] | None = None):
    """A new-graduate roster of ``phones`` (candidate ids C1, C2, … unless given)."""
    ids = ids or tuple(f"C{i}" for i in range(1, len(phones) + 1))
    lines = "".join(
        f"{cid},候補者{i},新卒,{p}\n" for i, (cid, p) in enumerate(zip(ids, phones, strict=True), 1)
    )
    return load_roster(("応募者ID,氏名,区分,携帯電話番号\n" + lines).encode())


def contract(engine, units: int = 1000) -> None:
    """A 3-month contract from this (product-clock) month."""
    with transaction(engine) as s:
        set_contract(s, units, quota.current_month(), 3)


def confirm(engine, body: str, *phones: str, key: str = "k1", send_at=None, ids=None):
    """Confirm a send of ``body`` to ``phones`` through the sandbox."""
    return confirm_campaign(
        engine,
        preview(roster(*phones, ids=ids), body),
        name="説明会のご案内",
        idempotency_key=key,
        actor="test",
        provider="sandbox",
        send_at=send_at,
        quiet=NO_QUIET,
    )


def settle(engine, campaign_id: int, outcomes: dict[int, str], *, state="finished") -> None:
    """Give each recipient row its final message state (what the worker would record)."""
    with transaction(engine) as s:
        for row, outcome in outcomes.items():
            s.execute(
                update(Message)
                .where(Message.campaign_id == campaign_id, Message.recipient_row == row)
                .values(state=outcome)
            )
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state=state))


def as_role(engine, role: str) -> SmsService:
    """The service acting as a user of ``role``."""
    return SmsService(engine, Principal(f"test-{role}", role))


def ledger(engine):
    """This month's quota ledger."""
    with transaction(engine) as s:
        return quota.remaining(s, quota.current_month())
