"""Demo data for `make run`: a contract and a few months of believable history.

Seeded only into an empty database (no contract, no campaign), so a team's real data is
never touched. The history is consistent with the rules: every message belongs to a
campaign, units used per month equal the units of messages the provider accepted, and
the ledger stays within the cap (R19).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.rules.schedule import JST
from sms_core.sending import quota
from sms_core.sending.contract import get_contract, set_contract
from sms_core.store.db import rowcount, transaction
from sms_core.store.models import (
    AuditEvent,
    Campaign,
    Click,
    Contract,
    Message,
    QuotaMonth,
    ShortLink,
    Template,
    audit,
)
from sms_core.store.templates import save_template

DEMO_MONTHLY_UNITS = 5_000
DEMO_ACTOR = "demo"
_FAILURES = ("absent subscriber", "unreachable number", "carrier rejected the message")
_CAMPAIGNS = (
    (
        "会社説明会のご案内",
        "{name}様\n{month}月の会社説明会のご案内です。詳細: https://recruit.example.co.jp/events",
    ),
    ("面接前日のリマインド", "{name}様\n明日の面接は10時からです。持ち物: 筆記用具"),
    ("内定者懇親会のお知らせ", "{name}様\n内定者懇親会のご案内です。ご出欠をお知らせください。"),
)
_NAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")


def seed_demo(engine: Engine, *, now: datetime | None = None, seed: int = 2026) -> bool:
    """Seed the demo contract and history into an empty database; False if not empty."""
    now = now or now_utc()
    rng = random.Random(seed)
    with transaction(engine) as s:
        if s.scalar(select(func.count()).select_from(Campaign)) or get_contract(s):
            return False
        this_month = quota.jst_month(now)
        start = quota.add_months(this_month, -3)
        set_contract(s, DEMO_MONTHLY_UNITS, start, 12, actor=DEMO_ACTOR, now=now)
        for name, text in _CAMPAIGNS:
            save_template(s, name, _template_body(text), actor=DEMO_ACTOR)
        for back in range(3, -1, -1):
            month = quota.add_months(this_month, -back)
            for index in range(2 if back else 1):
                _campaign(s, rng, month, index, now)
    return True


@dataclass(frozen=True, slots=True)
class DemoCleared:
    """What clearing the demo data removed."""

    campaigns: int
    messages: int
    templates: int
    contract: bool


def demo_present(session: Session) -> bool:
    """Whether the demo history (campaigns made by the demo seed) is in the database."""
    return bool(session.scalar(select(func.count()).where(Campaign.created_by == DEMO_ACTOR)))


def clear_demo(session: Session, *, actor: str) -> DemoCleared:
    """Remove the demo data ``seed_demo`` put in, and nothing a team made.

    Its campaigns go with their messages, short links and clicks, and the units they used
    leave the monthly ledger; its templates go unless someone changed them; its contract
    goes unless someone set the contract since (the SMS pages then wait for a real one).
    """
    campaigns = select(Campaign.id).where(Campaign.created_by == DEMO_ACTOR)
    used = session.execute(
        select(Campaign.quota_month, func.coalesce(func.sum(Message.units), 0))
        .join(Message, Message.campaign_id == Campaign.id)
        .where(Campaign.created_by == DEMO_ACTOR, Message.accepted_at.is_not(None))
        .group_by(Campaign.quota_month)
    ).all()
    for month, units in used:
        ledger = session.get(QuotaMonth, month, with_for_update=True)
        if ledger is not None:
            ledger.used = max(ledger.used - int(units), 0)
    session.execute(delete(Click).where(Click.campaign_id.in_(campaigns)))
    session.execute(delete(ShortLink).where(ShortLink.campaign_id.in_(campaigns)))
    messages = session.execute(delete(Message).where(Message.campaign_id.in_(campaigns)))
    removed = session.execute(delete(Campaign).where(Campaign.created_by == DEMO_ACTOR))
    bodies = {name: _template_body(text) for name, text in _CAMPAIGNS}
    templates = 0
    for template in session.scalars(select(Template).where(Template.name.in_(list(bodies)))):
        if template.body == bodies[template.name]:
            session.delete(template)
            templates += 1
    last_set = session.scalar(
        select(AuditEvent.actor)
        .where(AuditEvent.action == "contract.set")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    contract = False
    if last_set == DEMO_ACTOR:
        session.execute(delete(Contract))
        contract = True
    cleared = DemoCleared(
        int(rowcount(removed) or 0), int(rowcount(messages) or 0), templates, contract
    )
    audit(
        session,
        actor,
        "demo.clear",
        campaigns=cleared.campaigns,
        messages=cleared.messages,
        templates=cleared.templates,
        contract=cleared.contract,
    )
    return cleared


def _campaign(s, rng: random.Random, month: date, index: int, now: datetime) -> None:
    name, template = _CAMPAIGNS[(month.month + index) % len(_CAMPAIGNS)]
    day = min(5 + index * 10, 28)
    when = datetime(month.year, month.month, day, 10, 0, tzinfo=JST).astimezone(UTC)
    if when > now:
        when = now - timedelta(hours=2)
    recipients = rng.randint(120, 260)
    campaign = Campaign(
        name=name,
        body=template.replace("{name}", "{{氏名}}").replace("{month}", str(month.month)),
        state="finished",
        scheduled_at=when,
        quota_month=month,
        units_reserved=0,
        recipients=recipients,
        sender_mode="shared",
        sender_number="05055271265",
        provider="sandbox",
        template_name=name,
        idempotency_key=None,
        created_by=DEMO_ACTOR,
        created_at=when,
        started_at=when,
        finished_at=when + timedelta(minutes=6),
    )
    s.add(campaign)
    s.flush()
    rows, used = [], 0
    for row in range(recipients):
        sent = when + timedelta(seconds=row)
        body = template.format(name=rng.choice(_NAMES), month=month.month)
        units = quota_units(body)
        failed = rng.random() < 0.04
        rows.append(
            {
                "campaign_id": campaign.id,
                "recipient_row": row,
                "part_index": 1,
                "part_count": 1,
                "candidate_id": f"D{campaign.id:03d}{row:04d}",
                "name": None,
                "kind": "new_grad" if rng.random() < 0.6 else "mid_career",
                "phone": f"090{rng.randint(10_000_000, 99_999_999)}",
                "body": body,
                "units": units,
                "state": "failed" if failed else "delivered",
                "client_ref": f"demo{campaign.id}-{row}-1",
                "provider": "sandbox",
                "provider_id": f"demo-{campaign.id}-{row}",
                "error_message": rng.choice(_FAILURES) if failed else None,
                "attempts": 1,
                "created_at": when,
                "accepted_at": sent,
                "updated_at": sent + timedelta(seconds=5),
                "delivered_at": None if failed else sent + timedelta(seconds=5),
                "failed_at": sent + timedelta(seconds=5) if failed else None,
            }
        )
        used += units  # accepted by the provider: used, even when the carrier failed it
    s.execute(insert(Message), rows)
    ledger = s.get(QuotaMonth, month)
    if ledger is None:
        s.add(QuotaMonth(month=month, cap=DEMO_MONTHLY_UNITS, used=used, reserved=0))
    else:
        ledger.used += used
    s.flush()


def _template_body(text: str) -> str:
    """The saved template behind a demo campaign: the name as a merge tag, no month."""
    return text.replace("{name}", "{{氏名}}").replace("{month}月の", "")


def quota_units(body: str) -> int:
    """Units of a demo body (one message each)."""
    from sms_core.rules.units import units_for_chars, utf16_len

    return units_for_chars(utf16_len(body))
