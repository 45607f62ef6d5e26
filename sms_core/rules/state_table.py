"""The names of message and campaign states and the only moves between them (R15).

Pure vocabulary: the store's CHECK constraints (:mod:`sms_core.store.models`) and the
guarded UPDATEs of :mod:`sms_core.sending.states` are both derived from it, which is why
it sits below both layers instead of in ``sending/states.py`` (that module imports the
models, so the models could not import it back without an import circle). Code outside
the store imports these names from :mod:`sms_core.sending.states`.

To add a state: add it to the enum (at the end: the order is the order of the report
columns and of the CHECK constraint's list), give it its moves below, add a migration
for the CHECK constraint, and extend tests/unit/test_states.py's expectations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from sms_core.errors import StateError


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
    """Where one send stands (in the order of the existing CHECK constraint)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    # Issue 12: both resume by themselves, their units stay reserved.
    QUIET_HOURS = "quiet_hours"  # ran into quiet hours; resumes at their end
    HELD = "held"  # its month has no contract or no room for it (hold_reason says which)


M, C = MessageState, CampaignState

# from → the states it may move to. A state with no entry (or an empty one) is final.
MESSAGE_MOVES: Mapping[MessageState, frozenset[MessageState]] = {
    # claimed by a worker; or cancelled with its campaign, or because an earlier part failed
    # (issue 12) expired at its deadline, or withheld by a hand-over check
    M.QUEUED: frozenset({M.SENDING, M.CANCELLED, M.EXPIRED, M.WITHHELD}),
    # the provider's answer: retry later (queued), taken, refused, or lost (unknown);
    # expired/withheld only by the claiming worker, in its claim transaction (issue 12)
    M.SENDING: frozenset(
        {M.QUEUED, M.ACCEPTED, M.DELIVERED, M.FAILED, M.UNKNOWN, M.EXPIRED, M.WITHHELD}
    ),
    # settled by lookup or a pushed receipt; never found: queued again, or cancelled when
    # its campaign was cancelled meanwhile
    M.UNKNOWN: frozenset({M.QUEUED, M.ACCEPTED, M.DELIVERED, M.FAILED, M.CANCELLED}),
    # the carrier's final word (status poll or pushed receipt)
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
    # (issue 12) into quiet hours, or held for want of a contract or room in its month
    C.SENDING: frozenset({C.FINISHED, C.PAUSED, C.CANCELLED, C.QUIET_HOURS, C.HELD}),
    # resumed campaigns go back through the scheduler, which starts them when due
    C.PAUSED: frozenset({C.SCHEDULED, C.CANCELLED}),
    C.QUIET_HOURS: frozenset({C.SENDING, C.HELD, C.PAUSED, C.CANCELLED}),
    C.HELD: frozenset({C.SENDING, C.QUIET_HOURS, C.PAUSED, C.CANCELLED}),
    C.FINISHED: frozenset(),
    C.CANCELLED: frozenset(),
}

MESSAGE_STATES: tuple[str, ...] = tuple(s.value for s in MessageState)
CAMPAIGN_STATES: tuple[str, ...] = tuple(s.value for s in CampaignState)
# Messages still to be handed over or settled: a campaign with one is not finished.
OPEN_MESSAGE_STATES: tuple[str, ...] = (M.QUEUED.value, M.SENDING.value, M.UNKNOWN.value)
FINAL_MESSAGE_STATES: tuple[str, ...] = tuple(s.value for s, to in MESSAGE_MOVES.items() if not to)
# A later part may go out only once every earlier part of its recipient is in one (R8).
HANDED_OVER_STATES: tuple[str, ...] = (M.ACCEPTED.value, M.DELIVERED.value)


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
    return sorted(s.value for s in chosen)


def message_sources(to: MessageState | str, frm: Iterable[str] | str | None = None) -> list[str]:
    """The states a message may move to ``to`` from (all of them, or checked ``frm``)."""
    return _sources(MESSAGE_MOVES, MessageState(to), frm)


def campaign_sources(to: CampaignState | str, frm: Iterable[str] | str | None = None) -> list[str]:
    """The states a campaign may move to ``to`` from (all of them, or checked ``frm``)."""
    return _sources(CAMPAIGN_MOVES, CampaignState(to), frm)


def message_move_allowed(frm: MessageState | str, to: MessageState | str) -> bool:
    """Whether the table lets a message move from ``frm`` to ``to``."""
    return MessageState(to) in MESSAGE_MOVES.get(MessageState(frm), frozenset())


def campaign_move_allowed(frm: CampaignState | str, to: CampaignState | str) -> bool:
    """Whether the table lets a campaign move from ``frm`` to ``to``."""
    return CampaignState(to) in CAMPAIGN_MOVES.get(CampaignState(frm), frozenset())
