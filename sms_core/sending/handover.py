"""Promises kept at hand-over (issue 12): what the worker checks again as it claims.

A send is checked when it is confirmed; it may go out hours or days later. So the worker
checks again, in its claim transaction, with one statement per check for the whole batch
(never a round trip per message), on SQLite and PostgreSQL:

Before the claim, per campaign (:func:`before_claim`):

* **deadline** (送信期限): queued messages of a campaign whose deadline has passed become
  ``expired`` (error_code ``deadline``) and their units are released;
* **quiet hours** (team setting, Japan time): while they last, sending campaigns not
  confirmed as urgent move to ``quiet_hours``, so nothing of theirs is claimed; at their
  end they move back to ``sending`` by themselves. Units stay reserved;
* **month and contract** (R17–R19): a campaign's units are reserved in one Japan-time
  month (``campaign.quota_month``). A campaign still going out in a later month (say it
  ran into quiet hours at 20:59 on 30 November and resumes at 08:00 on 1 December) has
  its open units moved to the month of hand-over — released in the old month, reserved
  in the new one with the same conditional reservation as a confirmation — before any
  of them is claimed. If the new month has no contract or no room, the campaign is
  ``held`` (hold_reason ``no_contract`` or ``quota``) with its units left where they were,
  and retried each cycle: it resumes when a contract covers it again, or is cancelled.
  Nothing overshoots: every unit is reserved in the month it is handed over in.

After the claim, per message of the batch (:func:`screen`):

* **opt-outs**: a number on the opt-out list now is ``withheld`` (error_code
  ``opted_out``), its units released;
* **frequency cap** (team setting, default 3): at most N recipients' messages per number
  per Japan-time day across campaigns. A recipient's message counts once however many
  parts it has: its first part is what is counted and checked. Over the cap it is
  ``withheld`` (error_code ``frequency_cap``).

A withheld first part withholds the recipient's later parts too (they could never go out
in order, R8). Each claimed message also carries ``hand_over_by`` — the deadline or the
start of the next quiet hours, whichever comes first — and is not sent after it (it goes
back to the queue and the next claim deals with it), so a batch claimed at 20:59:59 does
not go out at 21:00:30.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select, text, tuple_, union_all, update
from sqlalchemy.orm import Session

from sms_core.errors import QuotaError
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending import quota
from sms_core.sending.states import CampaignState, MessageState, move_campaigns, move_messages
from sms_core.store.app_settings import quiet_hours_and_cap_of
from sms_core.store.models import Campaign, Message
from sms_core.store.suppression import suppressed_among

__all__ = [
    "DEADLINE",
    "FREQUENCY_CAP",
    "OPTED_OUT",
    "Conditions",
    "HandoverReport",
    "before_claim",
    "conditions",
    "day_start",
    "numbers_at_cap",
    "quiet_starts_after",
    "screen",
]

# error_code of messages not handed over (stable ids; History shows them as words).
DEADLINE = "deadline"
OPTED_OUT = "opted_out"
FREQUENCY_CAP = "frequency_cap"
# hold_reason of held campaigns.
NO_CONTRACT = "no_contract"
NO_ROOM = "quota"
IN_FLIGHT = ("sending", "unknown")
# Campaign states that may still have queued messages.
WAITING_OR_OPEN = ("scheduled", "sending", "paused", "quiet_hours", "held")


@dataclass(frozen=True, slots=True)
class Conditions:
    """The team settings the checks use, read once per claim in its transaction."""

    quiet: QuietHours
    frequency_cap: int


@dataclass
class HandoverReport:
    """What the checks of one claim did."""

    expired: int = 0  # messages past their deadline
    withheld: int = 0  # messages stopped by an opt-out or the frequency cap
    quiet: int = 0  # campaigns that went to wait for the end of quiet hours
    held: int = 0  # campaigns held for their month's contract or room
    resumed: int = 0  # campaigns back to sending

    def __bool__(self) -> bool:
        return bool(self.expired or self.withheld or self.quiet or self.held or self.resumed)


def conditions(session: Session) -> Conditions:
    """The quiet hours and frequency cap in use now."""
    return Conditions(*quiet_hours_and_cap_of(session))


def day_start(now: datetime) -> datetime:
    """The start of the Japan-time day holding ``now`` (the frequency cap's day)."""
    local = now.astimezone(JST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def quiet_starts_after(quiet: QuietHours, now: datetime) -> datetime | None:
    """The next moment quiet hours begin after ``now`` (None: there are none)."""
    if quiet.start == quiet.end:
        return None
    local = now.astimezone(JST)
    start = local.replace(hour=quiet.start.hour, minute=quiet.start.minute, second=0, microsecond=0)
    if start <= local:
        start += timedelta(days=1)
    return start


def _release(session: Session, units_by_month: dict[date, int]) -> None:
    for month, units in units_by_month.items():
        quota.release(session, month, units)


# --- before the claim: per campaign -------------------------------------------------------


def before_claim(
    session: Session, now: datetime, provider: str, cond: Conditions
) -> HandoverReport:
    """Deadline, quiet hours, month and contract, for this provider's campaigns.

    Runs before every claim, so first one read of the open campaigns says which checks
    have anything to act on; only those run their (guarded) statements. In the common
    case, nothing past its deadline, waiting or behind its month, that is one statement
    instead of three, and no trigger fires for an UPDATE of no message.
    """
    report = HandoverReport()
    month = quota.jst_month(now)
    due = _due_checks(session, now, provider, month)
    if due.past_deadline:
        report.expired = _expire_past_deadline(session, now, provider)
    mine = Campaign.provider == provider
    quiet_now = cond.quiet.contains(now)
    if quiet_now and due.quiet_candidates:
        report.quiet = move_campaigns(
            session,
            CampaignState.QUIET_HOURS,
            mine,
            Campaign.quiet_hours_override_reason.is_(None),
            frm=CampaignState.SENDING,
        )
    if due.behind_month:
        # Still sending in an earlier month: its units must move first (see _resume).
        report.held = move_campaigns(
            session,
            CampaignState.HELD,
            mine,
            Campaign.quota_month < month,
            frm=CampaignState.SENDING,
            hold_reason="new_month",
        )
    if not (due.waiting or report.quiet or report.held):
        return report
    waiting = session.execute(
        select(
            Campaign.id,
            Campaign.state,
            Campaign.quota_month,
            Campaign.quiet_hours_override_reason,
            Campaign.hold_reason,
        )
        .where(mine, Campaign.state.in_((CampaignState.QUIET_HOURS, CampaignState.HELD)))
        .order_by(Campaign.id)
        # Two workers never move one campaign's units at once; the other one skips it.
        .with_for_update(skip_locked=True)
    ).all()
    for campaign in waiting:
        quiet_applies = quiet_now and campaign.quiet_hours_override_reason is None
        outcome = _resume(session, campaign, month, quiet_applies)
        if outcome == CampaignState.SENDING:
            report.resumed += 1
        elif outcome == CampaignState.HELD and campaign.state != CampaignState.HELD:
            report.held += 1
    return report


@dataclass(frozen=True, slots=True)
class _Due:
    """Which of the checks before a claim have a campaign to act on."""

    past_deadline: bool  # an open campaign (any provider) whose deadline has passed
    quiet_candidates: bool  # a sending campaign of ours not confirmed as urgent
    behind_month: bool  # a sending campaign of ours reserved in an earlier month
    waiting: bool  # a campaign of ours in quiet hours or held


def _due_checks(session: Session, now: datetime, provider: str, month: date) -> _Due:
    """One read of the open campaigns: the conditions of the checks' own statements,
    evaluated by the database as those statements would (the statements still run guarded
    by them; a campaign that changes meanwhile is dealt with at the next claim)."""
    sending = Campaign.state == CampaignState.SENDING
    rows = session.execute(
        select(
            Campaign.provider == provider,
            Campaign.deadline_at.is_not(None) & (Campaign.deadline_at <= now),
            sending & Campaign.quiet_hours_override_reason.is_(None),
            sending & (Campaign.quota_month < month),
            Campaign.state.in_((CampaignState.QUIET_HOURS, CampaignState.HELD)),
        ).where(Campaign.state.in_(WAITING_OR_OPEN))
    ).all()
    ours = [r for r in rows if r[0]]
    return _Due(
        past_deadline=any(r[1] for r in rows),
        quiet_candidates=any(r[2] for r in ours),
        behind_month=any(r[3] for r in ours),
        waiting=any(r[4] for r in ours),
    )


def _expire_past_deadline(session: Session, now: datetime, provider: str) -> int:
    """Queued messages of campaigns whose deadline passed expire; units released."""
    # Campaigns still open only: finished ones, however many, never enter the statement.
    past = select(Campaign.id).where(
        Campaign.deadline_at.is_not(None),
        Campaign.deadline_at <= now,
        Campaign.state.in_(WAITING_OR_OPEN),
    )
    rows = session.execute(
        update(Message)
        .where(
            Message.state == MessageState.QUEUED,
            Message.provider == provider,
            Message.campaign_id.in_(past.scalar_subquery()),
        )
        .values(
            state=MessageState.EXPIRED.value,
            error_code=DEADLINE,
            error_message="not handed over before the send's deadline",
            updated_at=now,
        )
        .returning(Message.campaign_id, Message.units)
    ).all()
    if not rows:
        return 0
    units: dict[int, int] = defaultdict(int)
    for campaign_id, n in rows:
        units[campaign_id] += n
    months = dict(
        session.execute(
            select(Campaign.id, Campaign.quota_month).where(Campaign.id.in_(list(units)))
        ).all()
    )
    by_month: dict[date, int] = defaultdict(int)
    for campaign_id, n in units.items():
        by_month[months[campaign_id]] += n
    _release(session, by_month)
    return len(rows)


def _resume(session: Session, campaign, month: date, quiet_applies: bool) -> CampaignState:
    """Where a waiting or held campaign goes now (it is locked by the caller).

    Cheap while it waits (a few indexed reads); its queued rows are locked and its units
    moved only when the move is about to succeed.
    """
    this = Campaign.id == campaign.id
    open_ = session.execute(
        select(Message.state, func.count(), func.coalesce(func.sum(Message.units), 0))
        .where(Message.campaign_id == campaign.id, Message.state.in_(("queued", *IN_FLIGHT)))
        .group_by(Message.state)
    ).all()
    queued = sum(int(units) for state, _, units in open_ if state == MessageState.QUEUED)
    in_flight = sum(n for state, n, _ in open_ if state != MessageState.QUEUED)
    if not queued and not in_flight:
        # Nothing left to hand over (e.g. all expired): back to sending, to be finished.
        move_campaigns(session, CampaignState.SENDING, this, hold_reason=None)
        return CampaignState.SENDING
    if quiet_applies:
        if campaign.state != CampaignState.QUIET_HOURS:
            move_campaigns(session, CampaignState.QUIET_HOURS, this, hold_reason=None)
        return CampaignState.QUIET_HOURS
    if campaign.quota_month < month:
        if in_flight:
            # Messages being handed over or settled hold units in the old month; the move
            # waits for them (the next cycle tries again).
            return CampaignState(campaign.state)
        status = quota.remaining(session, month)
        reason = None
        if status.remaining < queued:
            reason = NO_ROOM if status.cap else NO_CONTRACT
        else:
            units = _lock_queued_units(session, campaign.id)
            reason = _move_month(session, campaign.id, campaign.quota_month, month, units)
        if reason is not None:
            if campaign.state != CampaignState.HELD:
                move_campaigns(session, CampaignState.HELD, this, hold_reason=reason)
            elif campaign.hold_reason != reason:  # held still, for another reason
                session.execute(update(Campaign).where(this).values(hold_reason=reason))
            return CampaignState.HELD
    move_campaigns(session, CampaignState.SENDING, this, hold_reason=None)
    return CampaignState.SENDING


def _lock_queued_units(session: Session, campaign_id: int) -> int:
    """Units of the campaign's queued messages, with those rows locked.

    An UPDATE, not a SELECT: on PostgreSQL it waits for a worker that claimed some of
    them a moment ago and has not committed yet, and then leaves those out (they are no
    longer queued), so units in flight are never moved to another month.
    """
    units = session.scalars(
        update(Message)
        .where(Message.campaign_id == campaign_id, Message.state == MessageState.QUEUED)
        .values(updated_at=Message.updated_at)
        .returning(Message.units)
    ).all()
    return sum(units)


def _move_month(session: Session, campaign_id: int, old: date, new: date, units: int) -> str | None:
    """Move ``units`` reserved in ``old`` to ``new``; the hold reason if they do not fit."""
    if units:
        reason = _reserve_then_release(session, old, new, units)
        if reason is not None:
            return reason
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(quota_month=new))
    return None


def _reserve_then_release(session: Session, old: date, new: date, units: int) -> str | None:
    savepoint = session.begin_nested()
    try:
        quota.reserve(session, new, units)
    except QuotaError as exc:
        savepoint.rollback()
        return NO_ROOM if exc.remaining else _no_room_or_contract(session, new)
    savepoint.commit()
    quota.release(session, old, units)
    return None


def _no_room_or_contract(session: Session, month: date) -> str:
    status = quota.remaining(session, month)
    return NO_ROOM if status.cap else NO_CONTRACT


def numbers_at_cap(session: Session, cap: int, now: datetime) -> set[str]:
    """Numbers that already had ``cap`` messages today (Japan time): what the preview
    marks ``frequency_cap``. Counted as at hand-over (first parts handed over today, or
    being handed over now)."""
    # Two ranges of the (state, …) indexes instead of a scan of every message ever sent:
    # handed over today (accepted_at is set once, when the provider took it), in flight.
    handed = select(Message.phone).where(
        Message.state.in_(("accepted", "delivered", "failed")),
        Message.accepted_at >= day_start(now),
        Message.part_index == 1,
    )
    flying = select(Message.phone).where(Message.state.in_(IN_FLIGHT), Message.part_index == 1)
    both = union_all(handed, flying).subquery()
    rows = session.execute(
        select(both.c.phone).group_by(both.c.phone).having(func.count() >= cap)
    ).scalars()
    return set(rows)


# --- after the claim: per message of the batch --------------------------------------------


def screen(
    session: Session,
    claimed: Sequence,
    now: datetime,
    owner: str,
    cond: Conditions,
    report: HandoverReport,
) -> list:
    """The claimed messages that may be handed over; the others are withheld (units released).

    ``claimed`` are :class:`sms_core.sending.dispatch.Claimed` of this worker's claim, in
    this transaction.
    """
    if not claimed:
        return []
    stopped: dict[int, str] = {}
    numbers = {m.outbound.to for m in claimed}
    for number in suppressed_among(session, numbers):
        for m in claimed:
            if m.outbound.to == number:
                stopped[m.id] = OPTED_OUT
    firsts = [m for m in claimed if m.part_index == 1 and m.id not in stopped]
    for m in _over_frequency_cap(session, firsts, claimed, now, cond.frequency_cap):
        stopped[m.id] = FREQUENCY_CAP
    if not stopped:
        return list(claimed)
    _withhold(session, [m for m in claimed if m.id in stopped], stopped, now, owner)
    report.withheld += len(stopped)
    return [m for m in claimed if m.id not in stopped]


# Run before every hand-over, so built once: building it anew (two lists of a batch's size)
# cost the worker about as much CPU as the database spends running it.
_COUNT_TODAY = (
    select(Message.phone, func.count())
    .where(
        Message.phone.in_(bindparam("phones", expanding=True)),
        Message.part_index == 1,
        Message.id.not_in(bindparam("batch", expanding=True)),
        (Message.accepted_at >= bindparam("since", type_=Message.accepted_at.type))
        | Message.state.in_(IN_FLIGHT),
    )
    .group_by(Message.phone)
)


def _over_frequency_cap(
    session: Session, firsts: list, claimed: Sequence, now: datetime, cap: int
) -> list:
    """First parts that would take their number over ``cap`` messages today (Japan time).

    Counted: first parts of other messages to the number handed over since the start of
    the day (``accepted_at``), or being handed over or settled now (``sending``,
    ``unknown``). Within the batch, earlier ids go first.
    """
    if not firsts:
        return []
    phones = sorted({m.outbound.to for m in firsts})
    if session.get_bind().dialect.name == "postgresql":
        # Two workers checking one number at once would each miss the other's claim:
        # numbers are locked (in one order, so never in a cycle) until this commits, and
        # the count below, a later statement, sees whatever the other worker committed.
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext('sms-frequency:' || p)) "
                "FROM unnest(CAST(:phones AS text[])) AS p ORDER BY p"
            ),
            {"phones": phones},
        )
    params = {"phones": phones, "batch": [m.id for m in claimed], "since": day_start(now)}
    counts: dict[str, int] = dict(session.execute(_COUNT_TODAY, params).all())
    over = []
    for m in sorted(firsts, key=lambda m: m.id):
        seen = counts.get(m.outbound.to, 0)
        if seen >= cap:
            over.append(m)
        else:
            counts[m.outbound.to] = seen + 1
    return over


def _withhold(
    session: Session, stopped: list, reasons: dict[int, str], now: datetime, owner: str
) -> None:
    """Withhold claimed messages and their recipients' later parts; release their units."""
    released: dict[date, int] = defaultdict(int)
    for reason in sorted(set(reasons.values())):
        group = [m for m in stopped if reasons[m.id] == reason]
        message = _REASON_TEXT[reason]
        moved = move_messages(
            session,
            MessageState.WITHHELD,
            Message.id.in_([m.id for m in group]),
            Message.lease_owner == owner,
            frm=MessageState.SENDING,
            error_code=reason,
            error_message=message,
            lease_owner=None,
            lease_expires_at=None,
            attempts=Message.attempts - 1,  # never handed over: no attempt was made
            updated_at=now,
        )
        if moved != len(group):  # a programming error: these are this claim's own rows
            raise RuntimeError(f"withheld {moved} of {len(group)} claimed messages")
        for m in group:
            released[m.month] += m.units
        pairs = [(m.campaign_id, m.recipient_row) for m in group]
        later = session.execute(
            select(Message.id, Message.units, Message.campaign_id).where(
                tuple_(Message.campaign_id, Message.recipient_row).in_(pairs),
                Message.state == MessageState.QUEUED,
            )
        ).all()
        if later:
            move_messages(
                session,
                MessageState.WITHHELD,
                Message.id.in_([r.id for r in later]),
                frm=MessageState.QUEUED,
                error_code=reason,
                error_message=message,
                updated_at=now,
            )
            month_of = {m.campaign_id: m.month for m in group}
            for r in later:
                released[month_of[r.campaign_id]] += r.units
    _release(session, released)


_REASON_TEXT = {
    OPTED_OUT: "the number is on the opt-out list",
    FREQUENCY_CAP: "the number already had its messages for the day (frequency cap)",
}
