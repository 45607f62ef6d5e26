"""Message and campaign states, and the only moves between them (R15).

Every UPDATE that changes a message's or a campaign's state goes through
:func:`move_messages` / :func:`move_campaigns` (set-wise) or :func:`check_campaign_move`
(for a campaign loaded and locked by the ORM). Each move is guarded in SQL by the states
it may come from, so two processes racing for one row cannot both move it, and a move the
table below does not allow is refused before any SQL runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from sms_core.errors import StateError
from sms_core.store.models import Campaign, Message


class MessageState(StrEnum):
    """Where one message (one part of one recipient's text) stands."""

    QUEUED = "queued"  # reserved, waiting for the worker
    SENDING = "sending"  # leased by a worker, being handed to the provider
    ACCEPTED = "accepted"  # the provider took it; its units are used
    DELIVERED = "delivered"  # the carrier delivered it (final)
    FAILED = "failed"  # the provider or carrier gave up (final)
    UNKNOWN = "unknown"  # the answer was lost: to be settled by lookup, never resent blindly
    CANCELLED = "cancelled"  # never handed over; its units released (final)
    # Issue 12, checked again at hand-over; never handed over, units released (final):
    EXPIRED = "expired"  # its campaign's deadline (送信期限) passed first
    WITHHELD = "withheld"  # a hand-over check stopped it; error_code: opted_out, frequency_cap


class CampaignState(StrEnum):
    """Where one send stands."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    # Issue 12: both resume by themselves, their units stay reserved.
    QUIET_HOURS = "quiet_hours"  # ran into quiet hours; resumes at their end
    HELD = "held"  # its month has no contract or no room for it (hold_reason says which)


M, C = MessageState, CampaignState

# from → the states it may move to. A state with no entry (or an empty one) is final.
MESSAGE_MOVES: Mapping[MessageState, frozenset[MessageState]] = {
    M.QUEUED: frozenset({M.SENDING, M.CANCELLED, M.EXPIRED, M.WITHHELD}),
    # sending → expired/withheld: only by the claiming worker, in its claim transaction.
    M.SENDING: frozenset(
        {M.QUEUED, M.ACCEPTED, M.DELIVERED, M.FAILED, M.UNKNOWN, M.EXPIRED, M.WITHHELD}
    ),
    M.UNKNOWN: frozenset({M.QUEUED, M.ACCEPTED, M.DELIVERED, M.FAILED, M.CANCELLED}),
    M.ACCEPTED: frozenset({M.DELIVERED, M.FAILED}),
    M.DELIVERED: frozenset(),
    M.FAILED: frozenset(),
    M.CANCELLED: frozenset(),
    M.EXPIRED: frozenset(),
    M.WITHHELD: frozenset(),
}

CAMPAIGN_MOVES: Mapping[CampaignState, frozenset[CampaignState]] = {
    C.DRAFT: frozenset({C.SCHEDULED, C.CANCELLED}),
    C.SCHEDULED: frozenset({C.SENDING, C.PAUSED, C.CANCELLED}),
    C.SENDING: frozenset({C.FINISHED, C.PAUSED, C.CANCELLED, C.QUIET_HOURS, C.HELD}),
    C.PAUSED: frozenset({C.SCHEDULED, C.CANCELLED}),
    C.QUIET_HOURS: frozenset({C.SENDING, C.HELD, C.PAUSED, C.CANCELLED}),
    C.HELD: frozenset({C.SENDING, C.QUIET_HOURS, C.PAUSED, C.CANCELLED}),
    C.FINISHED: frozenset(),
    C.CANCELLED: frozenset(),
}

# Messages still to be handed over or settled: a campaign with one is not finished.
OPEN_MESSAGE_STATES: tuple[str, ...] = (M.QUEUED, M.SENDING, M.UNKNOWN)
FINAL_MESSAGE_STATES: tuple[str, ...] = tuple(s.value for s, to in MESSAGE_MOVES.items() if not to)


class IllegalTransition(StateError):
    """A move the state table does not allow (a programming error, never user input)."""


def _sources(
    moves: Mapping[Any, frozenset[Any]], to: StrEnum, frm: Iterable[str] | str | None
) -> list[str]:
    allowed = {source for source, targets in moves.items() if to in targets}
    if frm is None:
        chosen = allowed
    else:
        chosen = {type(to)(frm)} if isinstance(frm, str) else {type(to)(s) for s in frm}
        illegal = chosen - allowed
        if illegal:
            names = ", ".join(sorted(illegal))
            raise IllegalTransition(f"{to.__class__.__name__}: {names} → {to} is not allowed")
    if not chosen:
        raise IllegalTransition(f"nothing may move to {to}")
    return sorted(chosen)


def message_sources(to: MessageState | str, frm: Iterable[str] | str | None = None) -> list[str]:
    """The states a message may move to ``to`` from (all of them, or checked ``frm``)."""
    return _sources(MESSAGE_MOVES, MessageState(to), frm)


def campaign_sources(to: CampaignState | str, frm: Iterable[str] | str | None = None) -> list[str]:
    """The states a campaign may move to ``to`` from (all of them, or checked ``frm``)."""
    return _sources(CAMPAIGN_MOVES, CampaignState(to), frm)


def move_messages(
    session: Session,
    to: MessageState | str,
    *where: ColumnElement[bool],
    frm: Iterable[str] | str | None = None,
    **values: Any,
) -> int:
    """Move the messages matching ``where`` (and in a state ``to`` may come from, or in
    ``frm``) to ``to``, setting ``values`` too; the number of messages moved."""
    sources = message_sources(to, frm)
    statement = (
        update(Message)
        .where(*where, Message.state.in_(sources))
        .values(state=MessageState(to).value, **values)
    )
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]


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
    )
    return session.execute(statement).rowcount or 0  # type: ignore[attr-defined]


def check_campaign_move(campaign: Campaign, to: CampaignState | str) -> None:
    """Move a campaign loaded (and locked) by the ORM to ``to``, or raise IllegalTransition."""
    campaign_sources(to, campaign.state)
    campaign.state = CampaignState(to).value
