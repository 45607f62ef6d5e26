"""Resend to the unreached recipients of a campaign (issue 16).

**Unreached**, precisely: a recipient (one roster row of the campaign) at least one of
whose parts ended ``failed`` (the provider or carrier gave up: refused, undeliverable,
expired, an ``unknown`` settled as failed) or ``cancelled`` (never handed over: the
campaign was cancelled, or an earlier part failed and the rest were withdrawn), and none
of whose parts is still open (``queued``, ``sending``, ``unknown``: those are settled
first, never resent blindly). A recipient who got every part is reached, even without a
delivery receipt. Left out, and counted: numbers now on the opt-out list (R3), messages
whose personal data was masked (retention, erasure: nothing to resend), and numbers an
earlier resend of the same campaign already reached or is still sending to.

A resend is a NEW campaign (``campaign.resend_of`` names the original), with each
recipient's text exactly as stored — every part, as it was split and costed (R8, R9),
short URLs included (they still redirect and count clicks for the original campaign).
Confirming it is one transaction, as any send: the idempotency key is checked, the
month's units are reserved with the one conditional statement or the resend is refused
with the shortfall (R18, R19), and campaign and messages are written. Only a finished or
cancelled campaign can be resent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from sms_core.clock import now_utc
from sms_core.errors import InputError, StateError
from sms_core.rules.plan import new_reference
from sms_core.sending.campaigns import (
    CampaignInfo,
    _existing,
    create_once,
    insert_parts,
    open_campaign,
    part_row,
    resolve_send_time,
)
from sms_core.store.app_settings import provider_in_use, quiet_hours_in_use
from sms_core.store.db import read_only, transaction
from sms_core.store.models import Campaign, Message, audit
from sms_core.store.suppression import suppressed_among

RESENDABLE = ("finished", "cancelled")
UNREACHED_STATES = ("failed", "cancelled")
OPEN_STATES = ("queued", "sending", "unknown")
RESEND_PREFIX = "再送"


@dataclass(frozen=True, slots=True)
class ResendPlan:
    """What a resend of a campaign would send, and who is left out and why."""

    campaign_id: int
    recipients: int
    messages: int
    units: int
    opted_out: int
    still_open: int
    already_resent: int
    redacted: int


def _per_recipient(campaign_id: int):
    failed = func.sum(case((Message.state.in_(UNREACHED_STATES), 1), else_=0))
    open_ = func.sum(case((Message.state.in_(OPEN_STATES), 1), else_=0))
    redacted = func.sum(case((Message.redacted_at.is_not(None), 1), else_=0))
    return (
        select(
            Message.recipient_row.label("row"),
            func.min(Message.phone).label("phone"),
            failed.label("failed"),
            open_.label("open"),
            redacted.label("redacted"),
        )
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.recipient_row)
        .subquery()
    )


def _reached_by_resend(campaign_id: int, phone_column):
    # A message of an earlier resend of this campaign to the number that did not fail.
    other = aliased(Message)
    resend = aliased(Campaign)
    return exists().where(
        other.campaign_id == resend.id,
        resend.resend_of == campaign_id,
        other.phone == phone_column,
        other.state.not_in(UNREACHED_STATES),
    )


def _selection(session: Session, campaign_id: int) -> tuple[list[int], dict[str, int]]:
    """The unreached recipient rows to resend, and the counts of those left out."""
    r = _per_recipient(campaign_id)
    resent = _reached_by_resend(campaign_id, r.c.phone)
    rows = session.execute(
        select(
            r.c.row,
            r.c.phone,
            r.c.open > 0,
            r.c.redacted > 0,
            resent,
        ).where(r.c.failed > 0)
    ).all()
    # The opt-out list holds keyed hashes (issue 13): the numbers are matched by hash.
    opted = suppressed_among(session, (phone for _, phone, _, redacted, _ in rows if not redacted))
    chosen: list[int] = []
    left_out = {"still_open": 0, "redacted": 0, "opted_out": 0, "already_resent": 0}
    for row, phone, is_open, is_redacted, is_resent in rows:
        is_optout = not is_redacted and phone in opted
        if is_open:
            left_out["still_open"] += 1
        elif is_redacted:
            left_out["redacted"] += 1
        elif is_optout:
            left_out["opted_out"] += 1
        elif is_resent:
            left_out["already_resent"] += 1
        else:
            chosen.append(int(row))
    return sorted(chosen), left_out


def _parts(session: Session, campaign_id: int, rows: Sequence[int]) -> list[Message]:
    parts: list[Message] = []
    for start in range(0, len(rows), 500):  # bound parameters stay few
        chunk = rows[start : start + 500]
        parts.extend(
            session.scalars(
                select(Message)
                .where(Message.campaign_id == campaign_id, Message.recipient_row.in_(chunk))
                .order_by(Message.recipient_row, Message.part_index)
            )
        )
    return parts


def _campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=lock)
    if campaign is None:
        raise InputError(
            f"there is no campaign {campaign_id}", key="campaign.missing", id=campaign_id
        )
    return campaign


def plan_resend(engine: Engine, campaign_id: int) -> ResendPlan:
    """What :func:`resend_campaign` would send now (a read: nothing is reserved)."""
    with transaction(read_only(engine)) as session:
        _campaign(session, campaign_id)
        rows, left_out = _selection(session, campaign_id)
        parts = _parts(session, campaign_id, rows)
        return ResendPlan(
            campaign_id, len(rows), len(parts), sum(p.units for p in parts), **left_out
        )


def resend_campaign(
    engine: Engine,
    campaign_id: int,
    *,
    key: str,
    actor: str,
    send_at: datetime | None = None,
    quiet_policy: str = "refuse",
    urgent_reason: str | None = None,
) -> CampaignInfo:
    """Confirm a resend of campaign ``campaign_id`` to its unreached recipients.

    Idempotent on ``key``. StateError when the campaign is still going (pause or cancel it
    first, or wait until it finishes) or the contract is missing or ended (R16);
    InputError when nobody is left to resend to or for a bad time; QuotaError with the
    shortfall when the units do not fit (nothing is written then). The campaign is created
    by the same transaction function as a confirmed send (issue 11): see
    :mod:`sms_core.sending.send_case`.
    """
    if not key:
        raise InputError("a resend needs its idempotency key", key="send.no_key")
    with transaction(engine) as session:
        found = _existing(session, key)
    if found is not None:
        return found
    when = resolve_send_time(
        send_at,
        now=now_utc(),
        quiet=quiet_hours_in_use(engine),
        policy=quiet_policy,
        urgent_reason=urgent_reason,
    )
    provider = provider_in_use(engine)
    return create_once(
        engine,
        key,
        lambda session: _write(session, campaign_id, key, actor, provider, when, urgent_reason),
    )


def _write(
    session: Session,
    campaign_id: int,
    key: str,
    actor: str,
    provider: str,
    when: datetime,
    urgent_reason: str | None,
) -> CampaignInfo:
    original = _campaign(session, campaign_id, lock=True)
    if original.state not in RESENDABLE:
        raise StateError(
            f"campaign {campaign_id} is {original.state}: resend once it has finished "
            "(or cancel it first)",
            key="resend.not_finished",
            id=campaign_id,
            state=original.state,
        )
    rows, left_out = _selection(session, campaign_id)
    if not rows:
        raise InputError(
            f"campaign {campaign_id} has no unreached recipient to resend to "
            f"(left out: {left_out['opted_out']} opted out, {left_out['still_open']} still "
            f"being settled, {left_out['already_resent']} reached by an earlier resend, "
            f"{left_out['redacted']} masked)",
            key="resend.nobody",
            id=campaign_id,
            optouts=left_out["opted_out"],
            open=left_out["still_open"],
            resent=left_out["already_resent"],
            masked=left_out["redacted"],
        )
    parts = _parts(session, campaign_id, rows)
    units = sum(p.units for p in parts)
    campaign = open_campaign(
        session,
        key=key,
        name=f"{RESEND_PREFIX}: {original.name}"[:200],
        body=original.body,
        units=units,
        recipients=len(rows),
        when=when,
        actor=actor,
        provider=provider,
        what="resend",
        template_name=original.template_name,
        urgent_reason=urgent_reason,
        resend_of=original.id,
    )
    reference = new_reference()
    insert_parts(
        session,
        campaign,
        [part_row(p, f"{reference}-{p.recipient_row}-{p.part_index}") for p in parts],
    )
    audit(
        session,
        actor,
        "campaign.resend",
        campaign=campaign.id,
        resend_of=original.id,
        units=units,
        recipients=len(rows),
        messages=len(parts),
        send_at=when.isoformat(),
        **left_out,
    )
    return CampaignInfo.of(campaign, len(parts), created=True)


__all__ = ["ResendPlan", "plan_resend", "resend_campaign"]
