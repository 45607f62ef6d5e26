"""Message and campaign states, and the only moves between them (R15).

The names and the table of allowed moves are in :mod:`sms_core.rules.state_table`
(re-exported here: import them from this module). Every UPDATE that changes a message's
or a campaign's state goes through :func:`move_messages` / :func:`move_message_ids` /
:func:`move_campaigns` (set-wise), :func:`message_update` (a statement built once and run
many times, like the worker's claim), or :func:`check_campaign_move` (for a campaign
loaded and locked by the ORM). Each move is guarded in SQL by the states it may come
from, so two processes racing for one row cannot both move it, and a move the table does
not allow is refused before any SQL runs.

One consequence lives here, so that it has one place: a message that fails (whoever
records it: the worker's send, its status poll, a lookup, a pushed receipt) takes the
recipient's later queued parts with it. They can never go out in order (R8), so they are
cancelled and their reserved units released; otherwise they would hold units forever and
their campaign would never finish.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Update, exists, select, update
from sqlalchemy.orm import Session, aliased

from sms_core.clock import now_utc
from sms_core.rules.state_table import (
    CAMPAIGN_MOVES,
    CAMPAIGN_STATES,
    FINAL_MESSAGE_STATES,
    HANDED_OVER_STATES,
    MESSAGE_MOVES,
    MESSAGE_STATES,
    OPEN_MESSAGE_STATES,
    CampaignState,
    IllegalTransition,
    MessageState,
    campaign_move_allowed,
    campaign_sources,
    message_move_allowed,
    message_sources,
)
from sms_core.sending import quota
from sms_core.store.models import Campaign, Message

__all__ = [
    "CAMPAIGN_MOVES",
    "CAMPAIGN_STATES",
    "FINAL_MESSAGE_STATES",
    "HANDED_OVER_STATES",
    "MESSAGE_MOVES",
    "MESSAGE_STATES",
    "OPEN_MESSAGE_STATES",
    "CampaignState",
    "IllegalTransition",
    "MessageState",
    "campaign_move_allowed",
    "campaign_sources",
    "cancel_later_parts",
    "check_campaign_move",
    "final_values",
    "message_move_allowed",
    "message_sources",
    "message_update",
    "move_campaigns",
    "move_message_ids",
    "move_messages",
    "release_units",
    "run_message_move",
    "settle_accepted",
]

M = MessageState
_message = Message.__table__


def message_update(
    to: MessageState | str,
    *where: ColumnElement[bool],
    frm: Iterable[str] | str | None = None,
    **values: Any,
) -> Update:
    """The guarded UPDATE moving messages matching ``where`` (and in a state ``to`` may
    come from, or in ``frm``) to ``to``, setting ``values`` too; not run.

    A Core statement on the table (not the ORM entity): the worker runs these by the
    thousand, and no caller holds Message objects whose attributes would need refreshing.
    A move to ``failed`` built here must be followed by :func:`cancel_later_parts`; prefer
    :func:`move_messages`, or :func:`run_message_move` for a statement built once, which
    do both.
    """
    sources = message_sources(to, frm)
    return (
        update(_message)
        .where(*where, _message.c.state.in_(sources))
        .values(state=MessageState(to).value, **values)
    )


def move_message_ids(
    session: Session,
    to: MessageState | str,
    *where: ColumnElement[bool],
    frm: Iterable[str] | str | None = None,
    **values: Any,
) -> list[int]:
    """Move messages as :func:`move_messages` does; the ids of those moved."""
    statement = message_update(to, *where, frm=frm, **values).returning(_message.c.id)
    return run_message_move(session, statement, to, reason=values.get("error_message"))


def run_message_move(
    session: Session,
    statement: Update,
    to: MessageState | str,
    params: dict[str, Any] | None = None,
    *,
    reason: str | None = None,
) -> list[int]:
    """Run a move built by :func:`message_update` with ``.returning(id)`` (built once, run
    with ``params``); the ids of the messages moved. A move to ``failed`` also cancels the
    recipients' later queued parts (R8), ``reason`` saying why."""
    ids = list(session.scalars(statement, params).all())
    if ids and MessageState(to) is M.FAILED:
        cancel_later_parts(session, ids, reason=reason)
    return ids


def move_messages(
    session: Session,
    to: MessageState | str,
    *where: ColumnElement[bool],
    frm: Iterable[str] | str | None = None,
    **values: Any,
) -> int:
    """Move the messages matching ``where`` (and in a state ``to`` may come from, or in
    ``frm``) to ``to``, setting ``values`` too; the number of messages moved.

    Raises :class:`IllegalTransition` (before any SQL) for a move the table forbids. A
    move to ``failed`` also cancels the recipients' later queued parts (R8).
    """
    if MessageState(to) is M.FAILED:
        return len(move_message_ids(session, to, *where, frm=frm, **values))
    return session.execute(message_update(to, *where, frm=frm, **values)).rowcount or 0  # type: ignore[attr-defined]


def move_campaigns(
    session: Session,
    to: CampaignState | str,
    *where: ColumnElement[bool],
    frm: Iterable[str] | str | None = None,
    **values: Any,
) -> int:
    """Move the campaigns matching ``where`` to ``to`` (guarded as :func:`move_messages`)."""
    sources = campaign_sources(to, frm)
    statement = (
        update(Campaign)
        .where(*where, Campaign.state.in_(sources))
        .values(state=CampaignState(to).value, **values)
        # Core-like: no Campaign object in these sessions needs its state refreshed.
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]


def check_campaign_move(campaign: Campaign, to: CampaignState | str) -> None:
    """Move a campaign loaded (and locked) by the ORM to ``to``, or raise IllegalTransition."""
    campaign_sources(to, campaign.state)
    campaign.state = CampaignState(to).value


def final_values(
    to: MessageState | str,
    now: datetime,
    *,
    reason: str | None = None,
    error_code: str | None = None,
) -> dict[str, object]:
    """The columns the carrier's (or provider's) final word sets besides the state:
    when it was delivered, or when and why it failed. Empty for ``accepted``."""
    state = MessageState(to)
    if state is M.DELIVERED:
        return {"delivered_at": now}
    if state is M.FAILED:
        values: dict[str, object] = {"failed_at": now, "error_message": reason}
        if error_code is not None:
            values["error_code"] = error_code
        return values
    return {}


def settle_accepted(
    session: Session,
    message_id: int,
    to: MessageState | str,
    now: datetime,
    *,
    reason: str | None = None,
    error_code: str | None = None,
) -> int:
    """The one way an accepted message gets its final state (status poll or pushed
    receipt): accepted → delivered or failed; 1 if it moved, 0 if it was no longer
    accepted. Its units stay used: the provider took it. A failure cancels the
    recipient's later queued parts (R8)."""
    return move_messages(
        session,
        to,
        _message.c.id == message_id,
        frm=M.ACCEPTED,
        updated_at=now,
        **final_values(to, now, reason=reason, error_code=error_code),
    )


def cancel_later_parts(
    session: Session, failed_ids: Sequence[int], *, reason: str | None = None
) -> int:
    """Cancel the queued later parts of the recipients of the failed messages
    ``failed_ids`` and release their reserved units; the number cancelled.

    RETURNING says exactly which parts this transaction cancelled, so a part claimed by a
    worker meanwhile keeps its units.
    """
    if not failed_ids:
        return 0
    failed = aliased(Message, name="failed_part")
    later = exists().where(
        failed.id.in_(list(failed_ids)),
        failed.campaign_id == _message.c.campaign_id,
        failed.recipient_row == _message.c.recipient_row,
        failed.part_index < _message.c.part_index,
    )
    why = f"an earlier part failed: {reason}" if reason else "an earlier part failed"
    statement = message_update(
        M.CANCELLED,
        later,
        frm=M.QUEUED,
        updated_at=now_utc(),
        error_message=why,
    ).returning(_message.c.campaign_id, _message.c.units)
    rows = session.execute(statement).all()
    release_units(session, rows)
    return len(rows)


def release_units(session: Session, rows: Iterable[Any]) -> int:
    """Release the reserved units of cancelled messages, given ``(campaign_id, units)``
    rows, into their campaigns' quota months; the units released."""
    by_campaign: dict[int, int] = {}
    for campaign_id, units in rows:
        by_campaign[campaign_id] = by_campaign.get(campaign_id, 0) + int(units)
    if not by_campaign:
        return 0
    months = dict(
        session.execute(
            select(Campaign.id, Campaign.quota_month).where(Campaign.id.in_(list(by_campaign)))
        ).all()
    )
    per_month: dict[date, int] = {}
    for campaign_id, units in by_campaign.items():
        month = months[campaign_id]
        per_month[month] = per_month.get(month, 0) + units
    for month, units in sorted(per_month.items()):
        quota.release(session, month, units)
    return sum(per_month.values())
