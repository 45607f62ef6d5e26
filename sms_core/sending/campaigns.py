"""Campaigns: confirming a send, cancelling, pausing (R13–R19).

Confirming is one transaction: the idempotency key is checked, the month's units are
reserved with one conditional statement (or the send is refused with the shortfall,
R18), and the campaign, every message part and every short link are written. A rerun, a
refresh or a double click that confirms the same form again gets the same campaign back
and reserves nothing more. The worker (:mod:`sms_core.sending.dispatch`) does the sending.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, InputError, QuotaError, StateError
from sms_core.rules.schedule import JST, QuietHours, japan_display, japan_time
from sms_core.rules.tags import URL, URL_COLUMN, parse_body
from sms_core.sending import quota
from sms_core.sending.contract import contract_end, get_contract
from sms_core.sending.states import (
    CampaignState,
    MessageState,
    campaign_move_allowed,
    check_campaign_move,
    message_update,
)
from sms_core.store.app_settings import quiet_hours_in_use
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message, ShortLink, audit

if TYPE_CHECKING:
    # The plan (numpy, pyarrow) is imported where a campaign is confirmed: cancel and
    # pause, and the worker, do without it.
    import numpy as np

    from sms_core.rules.plan import PlannedLink, SendPlan
    from sms_core.rules.preview import Preview

# A send time a little in the past is "now" (the form was filled a moment ago).
_PAST_GRACE = timedelta(minutes=2)
QUIET_POLICIES = ("refuse", "defer")
# Links live about six months: long enough for a recruiting season's follow-ups (issue 3).
DEFAULT_LINK_RETENTION_DAYS = 183
# Codes checked against earlier campaigns per statement (bound parameters stay few).
_CODE_CHECK_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    """A campaign as callers see it after a call (no live database object)."""

    id: int
    name: str
    state: str
    scheduled_at: datetime | None
    quota_month: date
    recipients: int
    units: int
    messages: int
    created: bool  # False when an identical confirmation had already created it

    @classmethod
    def of(cls, campaign: Campaign, messages: int, *, created: bool) -> CampaignInfo:
        """From a Campaign row and its message count."""
        return cls(
            campaign.id,
            campaign.name,
            campaign.state,
            campaign.scheduled_at,
            campaign.quota_month,
            campaign.recipients,
            campaign.units_reserved,
            messages,
            created,
        )


def _existing(session: Session, key: str) -> CampaignInfo | None:
    campaign = session.scalar(select(Campaign).where(Campaign.idempotency_key == key))
    if campaign is None:
        return None
    count = session.scalar(select(func.count()).where(Message.campaign_id == campaign.id))
    return CampaignInfo.of(campaign, count or 0, created=False)


@dataclass(frozen=True, slots=True)
class SendTime:
    """When a send would start, and what quiet hours did to it.

    ``outcome`` is ``clear`` (outside quiet hours), ``deferred`` (moved to ``when``, their
    end), ``urgent`` (inside them, with a recorded reason) or ``refused`` (inside them under
    the ``refuse`` choice: ``when`` is then the time asked for, and nothing may be sent).
    """

    requested: datetime
    when: datetime
    outcome: str
    window: str


def plan_send_time(
    send_at: datetime | None,
    *,
    now: datetime,
    quiet: QuietHours,
    policy: str = "refuse",
    urgent_reason: str | None = None,
) -> SendTime:
    """When a send will start: now or ``send_at``, moved out of quiet hours if asked.

    Raises InputError for a naive or past time, an unknown choice or an empty urgent
    reason; a refusal by quiet hours is an outcome, so a draft can show it.
    """
    if policy not in QUIET_POLICIES:
        raise InputError(f"the quiet-hours choice must be one of {QUIET_POLICIES}")
    if send_at is None:
        requested = now
    elif send_at.tzinfo is None:
        raise InputError("a send time needs its time zone (times are Japan time)")
    elif send_at < now - _PAST_GRACE:
        raise InputError(
            f"{japan_time(send_at)} (Japan time) has already passed",
            key="send.time_passed",
            at=japan_display(send_at),
        )
    else:
        requested = max(send_at, now)
    if urgent_reason is not None and not urgent_reason.strip():
        raise InputError("an urgent send needs its reason written down", key="send.urgent_reason")
    if not quiet.contains(requested):
        return SendTime(requested, requested, "clear", quiet.label())
    if urgent_reason is not None:
        return SendTime(requested, requested, "urgent", quiet.label())
    if policy == "refuse":
        return SendTime(requested, requested, "refused", quiet.label())
    return SendTime(requested, quiet.end_after(requested), "deferred", quiet.label())


def resolve_send_time(
    send_at: datetime | None,
    *,
    now: datetime,
    quiet: QuietHours,
    policy: str = "refuse",
    urgent_reason: str | None = None,
) -> datetime:
    """When a send will start: now or ``send_at``, moved out of quiet hours if asked.

    Raises InputError for a naive or past time, or a time in quiet hours under the
    ``refuse`` policy without an urgent reason.
    """
    planned = plan_send_time(
        send_at, now=now, quiet=quiet, policy=policy, urgent_reason=urgent_reason
    )
    if planned.outcome == "refused":
        raise InputError(
            f"{japan_time(planned.requested)} is inside quiet hours ({planned.window} Japan "
            "time); schedule it for later, defer it to the morning, or mark it urgent with "
            "a reason",
            key="send.quiet_hours",
            at=japan_display(planned.requested),
            window=planned.window,
        )
    return planned.when


def contract_ended_error(contract, now: datetime) -> StateError | None:
    """R16: a contract whose last month is over counts as no contract; the error to raise."""
    end = contract_end(contract)
    if quota.jst_month(now) <= end:
        return None
    return StateError(
        f"the SMS contract ended with {quota.format_month(end)}; nothing can be sent until "
        "a new contract is set up in Settings",
        key="contract.ended",
        month=quota.format_month(end),
    )


def check_deadline(deadline: datetime | None, when: datetime) -> None:
    """A deadline (送信期限) must be a time zone-aware instant after the send starts."""
    if deadline is None:
        return
    if deadline.tzinfo is None:
        raise InputError("a deadline needs its time zone (times are Japan time)")
    if deadline <= when:
        raise InputError(
            f"the deadline {japan_time(deadline)} must be after the send starts "
            f"({japan_time(when)}, Japan time)",
            key="send.deadline",
            until=japan_display(deadline),
            at=japan_display(when),
        )


def confirm_campaign(
    engine: Engine,
    preview: Preview,
    *,
    name: str,
    idempotency_key: str,
    actor: str,
    provider: str,
    send_at: datetime | None = None,
    rows: Sequence[int] | np.ndarray | None = None,
    quiet: QuietHours | None = None,
    quiet_policy: str = "refuse",
    urgent_reason: str | None = None,
    now: datetime | None = None,
    plan: SendPlan | None = None,
    template_name: str | None = None,
    deadline: datetime | None = None,
) -> CampaignInfo:
    """Confirm a send of ``preview`` (to ``rows``, default every eligible recipient).

    Idempotent on ``idempotency_key``. Raises QuotaError with the shortfall when the
    units do not fit the month the send goes out in (R18), StateError without a contract,
    InputError for a bad time or selection. Nothing is written unless all of it is.
    ``template_name`` records the template the body was loaded from, for the reports.
    ``deadline`` (送信期限, issue 12): messages not handed over by then expire.
    """
    if not name.strip():
        raise InputError("give the send a name, so it can be found in the history", key="send.name")
    if not idempotency_key:
        raise InputError("a confirmation needs its idempotency key", key="send.no_key")
    with transaction(engine) as session:
        found = _existing(session, idempotency_key)
    if found is not None:
        return found
    now = now or now_utc()
    when = resolve_send_time(
        send_at,
        now=now,
        quiet=quiet or quiet_hours_in_use(engine),
        policy=quiet_policy,
        urgent_reason=urgent_reason,
    )
    check_deadline(deadline, when)
    if plan is None:
        from sms_core.rules.plan import plan_send

        plan = plan_send(preview, rows=rows)
    return create_once(
        engine,
        idempotency_key,
        lambda session: _write(
            session,
            plan,
            preview.body,
            url_base=preview.url_base,
            name=name.strip(),
            key=idempotency_key,
            actor=actor,
            provider=provider,
            when=when,
            urgent_reason=urgent_reason,
            template_name=(template_name or "").strip() or None,
            deadline=deadline,
        ),
    )


def create_once(engine: Engine, key: str, write: Callable[[Session], CampaignInfo]) -> CampaignInfo:
    """The one transaction that creates a campaign, whichever path asked (issue 11).

    ``write`` runs in one transaction and must start with :func:`open_campaign`. The
    campaign already confirmed under ``key`` is returned instead (a rerun, a refresh, a
    double click); a confirmation that races this one and wins is returned too
    (PostgreSQL; SQLite serialises). Nothing is written unless all of it is.
    """
    try:
        with transaction(engine) as session:
            found = _existing(session, key)
            if found is not None:
                return found
            return write(session)
    except IntegrityError:
        with transaction(engine) as session:
            found = _existing(session, key)
        if found is None:
            raise
        return found


def open_campaign(
    session: Session,
    *,
    key: str,
    name: str,
    body: str,
    units: int,
    recipients: int,
    when: datetime,
    actor: str,
    provider: str,
    what: str = "send",
    template_name: str | None = None,
    urgent_reason: str | None = None,
    deadline: datetime | None = None,
    resend_of: int | None = None,
) -> Campaign:
    """Check the contract (R16), reserve ``units`` in the month ``when`` falls in with the
    one conditional statement (R18, R19) and add the campaign row, in ``session``.

    Every campaign a person creates is opened here (see :mod:`sms_core.sending.send_case`).
    StateError without a contract or after it ended; QuotaError with the shortfall
    (``what`` names the kind of send in its message: "send", "resend").
    """
    contract = get_contract(session)
    if contract is None:
        raise StateError(
            "there is no SMS contract; set one up in Settings first", key="contract.none"
        )
    ended = contract_ended_error(contract, now_utc())
    if ended is not None:
        raise ended
    month = quota.jst_month(when)
    reserve_units(session, month, units, what=f"this {what}")
    campaign = Campaign(
        name=name,
        body=body,
        state="scheduled",
        scheduled_at=when,
        quota_month=month,
        units_reserved=units,
        recipients=recipients,
        sender_mode=contract.sender_mode,
        sender_number=contract.sender_number,
        provider=provider,
        template_name=template_name,
        idempotency_key=key,
        quiet_hours_override_reason=urgent_reason,
        deadline_at=deadline,
        resend_of=resend_of,
        created_by=actor,
    )
    session.add(campaign)
    session.flush()
    return campaign


def reserve_units(
    session: Session,
    month: date,
    units: int,
    *,
    what: str,
    nothing: str = "sent",
    key: str = "quota.short",
) -> None:
    """Reserve ``units`` in ``month`` with the one conditional statement (R18, R19), or
    raise QuotaError naming the shortfall: "{what} needs N units but M remain for
    2026-12: K short. Nothing was {nothing}." (``key``: its code, whose texts say what
    was not done). Creating and editing a campaign both reserve through here.

    A refusal that is not a shortfall (a month outside the contract, a contract removed
    meanwhile, a ledger changing too fast) is raised as it is: "0 remain, N short" would
    misstate it."""
    try:
        quota.reserve(session, month, units)
    except QuotaError as exc:
        if exc.key != quota.SHORT:
            raise
        raise QuotaError(
            f"{what} needs {units:,} units but {exc.remaining:,} remain for "
            f"{quota.format_month(month)}: {exc.shortfall:,} short. Nothing was {nothing}.",
            key=key,
            needed=units,
            remaining=exc.remaining,
            month=quota.format_month(month),
        ) from None


# What a planned part gives its message row; the rest is the same for every path.
_PART_FIELDS = (
    "recipient_row",
    "part_index",
    "part_count",
    "candidate_id",
    "name",
    "kind",
    "phone",
    "body",
    "units",
)


def part_row(part: object, client_ref: str) -> dict[str, object]:
    """A planned part (a send's or a resend's) as the values of its message row."""
    return {field: getattr(part, field) for field in _PART_FIELDS} | {"client_ref": client_ref}


def insert_parts(session: Session, campaign: Campaign, parts: Sequence[dict]) -> None:
    """Write a new campaign's message parts, queued for its start time.

    Each part gives its recipient and text (``recipient_row``, ``part_index``,
    ``part_count``, ``candidate_id``, ``name``, ``kind``, ``phone``, ``body``, ``units``,
    ``client_ref``); the state and hand-over columns are the same for every path.
    """
    created = now_utc()
    session.execute(
        insert(Message),
        [
            {
                **part,
                "campaign_id": campaign.id,
                "state": "queued",
                "provider": campaign.provider,
                "attempts": 0,
                "next_attempt_at": campaign.scheduled_at,
                "created_at": created,
                "updated_at": created,
            }
            for part in parts
        ],
    )


def _write(
    session: Session,
    plan: SendPlan,
    body: str,
    *,
    url_base: str,
    name: str,
    key: str,
    actor: str,
    provider: str,
    when: datetime,
    urgent_reason: str | None,
    template_name: str | None,
    deadline: datetime | None = None,
) -> CampaignInfo:
    campaign = open_campaign(
        session,
        key=key,
        name=name,
        body=body,
        units=plan.units,
        recipients=plan.recipients,
        when=when,
        actor=actor,
        provider=provider,
        template_name=template_name,
        urgent_reason=urgent_reason,
        deadline=deadline,
    )
    plan = _fresh_codes(session, plan, url_base)
    insert_parts(session, campaign, [part_row(p, p.client_ref) for p in plan.parts])
    _write_links(session, campaign.id, plan, sent_at=when)
    audit(
        session,
        actor,
        "campaign.confirm",
        campaign=campaign.id,
        units=plan.units,
        recipients=plan.recipients,
        messages=len(plan.parts),
        send_at=when.isoformat(),
        urgent_reason=urgent_reason,
        deadline=deadline.isoformat() if deadline else None,
    )
    return CampaignInfo.of(campaign, len(plan.parts), created=True)


def _fresh_codes(session: Session, plan: SendPlan, url_base: str) -> SendPlan:
    """``plan`` with every short code that an earlier campaign already uses replaced.

    Codes are random (62**8 of them), so a collision is rare but possible: the primary
    key would then refuse the whole confirmation. A replacement code has the same length,
    so the text keeps its cost (R9), and it is swapped into the recipient's parts here,
    in the confirming transaction, before anything is written.
    """
    if not plan.links:
        return plan
    taken: set[str] = set()
    codes = [link.code for link in plan.links]
    for start in range(0, len(codes), _CODE_CHECK_CHUNK):
        chunk = codes[start : start + _CODE_CHECK_CHUNK]
        taken.update(session.scalars(select(ShortLink.code).where(ShortLink.code.in_(chunk))))
    if not taken:
        return plan
    from sms_core.rules.plan import new_short_code

    used = set(codes)
    links: list[PlannedLink] = []
    swaps: dict[int, list[tuple[str, str]]] = {}
    for link in plan.links:
        if link.code not in taken:
            links.append(link)
            continue
        code = new_short_code()
        while code in used or session.get(ShortLink, code) is not None:
            code = new_short_code()
        used.add(code)
        links.append(replace(link, code=code))
        swaps.setdefault(link.recipient_row, []).append((url_base + link.code, url_base + code))
    parts = []
    for part in plan.parts:
        body = part.body
        for old, new in swaps.get(part.recipient_row, ()):
            body = body.replace(old, new)
        parts.append(part if body is part.body else replace(part, body=body))
    return replace(plan, links=links, parts=parts)


def _write_links(session: Session, campaign_id: int, plan: SendPlan, *, sent_at: datetime) -> None:
    """Short links of the plan (R11); the link service serves them (issue 3).

    They expire ``link_retention_days()`` after the send goes out (not after it was
    confirmed: a send scheduled weeks ahead keeps its links as long as one sent now).
    """
    if not plan.links:
        return
    created = now_utc()
    expires = max(created, sent_at) + timedelta(days=link_retention_days())
    rows = [
        {
            "code": link.code,
            "target": link.target,
            "campaign_id": campaign_id,
            "recipient_row": link.recipient_row,
            "created_at": created,
            "expires_at": expires,
        }
        for link in plan.links
    ]
    session.execute(insert(ShortLink), rows)


def links_expire_on(preview: Preview, send_at: datetime | None = None) -> date | None:
    """The Japan-time day the short links of ``preview``'s body stop working, if any.

    None when the body has no URL tag. ``send_at`` defaults to now. What the New send
    page warns with, so a link whose target must live longer is noticed before sending.
    """
    roster = preview.assessment.roster
    if not any(p.kind in (URL, URL_COLUMN) for p in parse_body(preview.body, roster)):
        return None
    when = max(send_at or now_utc(), now_utc())
    return (when + timedelta(days=link_retention_days())).astimezone(JST).date()


def link_retention_days() -> int:
    """How long short links keep redirecting (``SMS_LINK_RETENTION_DAYS``, default 183)."""
    raw = os.environ.get("SMS_LINK_RETENTION_DAYS", str(DEFAULT_LINK_RETENTION_DAYS))
    try:
        days = int(raw)
    except ValueError:
        raise ConfigError(f"SMS_LINK_RETENTION_DAYS must be whole days, not '{raw}'") from None
    if days < 1:
        raise ConfigError("SMS_LINK_RETENTION_DAYS must be at least 1")
    return days


def cancel_campaign(engine: Engine, campaign_id: int, *, actor: str) -> CampaignInfo:
    """Cancel a campaign: its queued messages are cancelled and their units released.

    Messages already handed to the provider keep their course. Raises StateError for a
    finished or cancelled campaign.
    """
    with transaction(engine) as session:
        campaign = session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None:
            raise InputError(
                f"there is no campaign {campaign_id}", key="campaign.missing", id=campaign_id
            )
        if not campaign_move_allowed(campaign.state, CampaignState.CANCELLED):
            raise StateError(
                f"campaign {campaign_id} is {campaign.state}; it cannot be cancelled",
                key="campaign.not_cancellable",
                id=campaign_id,
                state=campaign.state,
            )
        released = release_queued(session, campaign)
        check_campaign_move(campaign, CampaignState.CANCELLED)
        campaign.cancelled_at = now_utc()
        audit(session, actor, "campaign.cancel", campaign=campaign_id, released_units=released)
        count = session.scalar(select(func.count()).where(Message.campaign_id == campaign_id))
        return CampaignInfo.of(campaign, count or 0, created=False)


def release_queued(session: Session, campaign: Campaign) -> int:
    """Cancel the campaign's queued messages and release their units; returns the units."""
    units = _cancel_queued(session, campaign.id)
    if units:
        quota.release(session, campaign.quota_month, units)
    return units


def _cancel_queued(session: Session, campaign_id: int) -> int:
    # RETURNING: exactly the messages this cancelled, so a message a worker claimed
    # between a count and the UPDATE never has its units released while it is sent.
    statement = message_update(
        MessageState.CANCELLED,
        Message.campaign_id == campaign_id,
        frm=MessageState.QUEUED,
        updated_at=now_utc(),
    ).returning(Message.units)
    return sum(session.scalars(statement).all())


def set_paused(engine: Engine, campaign_id: int, paused: bool, *, actor: str) -> CampaignInfo:
    """Pause a sending or scheduled campaign, or resume a paused one."""
    with transaction(engine) as session:
        campaign = session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None:
            raise InputError(
                f"there is no campaign {campaign_id}", key="campaign.missing", id=campaign_id
            )
        if paused and not campaign_move_allowed(campaign.state, CampaignState.PAUSED):
            raise StateError(
                f"campaign {campaign_id} is {campaign.state}; it cannot be paused",
                key="campaign.not_pausable",
                id=campaign_id,
                state=campaign.state,
            )
        if not paused and campaign.state != CampaignState.PAUSED:
            raise StateError(
                f"campaign {campaign_id} is not paused", key="campaign.not_paused", id=campaign_id
            )
        # Resumed campaigns go back through the scheduler, which starts them when due.
        check_campaign_move(campaign, CampaignState.PAUSED if paused else CampaignState.SCHEDULED)
        audit(
            session, actor, "campaign.pause" if paused else "campaign.resume", campaign=campaign_id
        )
        count = session.scalar(select(func.count()).where(Message.campaign_id == campaign_id))
        return CampaignInfo.of(campaign, count or 0, created=False)
