"""The state table (R15): every allowed move is allowed, every other one refused.

The expected moves are written out here on their own, from R15 and the worker's design,
so a change to the table in :mod:`sms_core.rules.state_table` must be made twice (there
and here) to pass: a move added or dropped by accident shows up as a failure.
"""

from __future__ import annotations

from itertools import product

import pytest

from sms_core.sending import states
from sms_core.sending.states import (
    CampaignState,
    IllegalTransition,
    MessageState,
    campaign_sources,
    message_sources,
)
from sms_core.store import models

M, C = MessageState, CampaignState

EXPECTED_MESSAGE_MOVES = {
    (M.QUEUED, M.SENDING),  # claimed by a worker
    (M.QUEUED, M.CANCELLED),  # campaign cancelled, or an earlier part failed (R8)
    (M.SENDING, M.QUEUED),  # not processed: retried later, or not sent in time
    (M.SENDING, M.ACCEPTED),
    (M.SENDING, M.DELIVERED),
    (M.SENDING, M.FAILED),
    (M.SENDING, M.UNKNOWN),  # the answer was lost, or the worker died (lease expired)
    (M.UNKNOWN, M.QUEUED),  # certainly never reached the provider
    (M.UNKNOWN, M.ACCEPTED),
    (M.UNKNOWN, M.DELIVERED),
    (M.UNKNOWN, M.FAILED),
    (M.UNKNOWN, M.CANCELLED),  # never reached the provider, campaign cancelled meanwhile
    (M.ACCEPTED, M.DELIVERED),
    (M.ACCEPTED, M.FAILED),
    # issue 12: checked again at hand-over
    (M.QUEUED, M.EXPIRED),  # its deadline passed before it was handed over
    (M.QUEUED, M.WITHHELD),  # opted out, or over the frequency cap, by now
    (M.SENDING, M.EXPIRED),  # by the claiming worker, in its claim transaction
    (M.SENDING, M.WITHHELD),
}
EXPECTED_CAMPAIGN_MOVES = {
    (C.DRAFT, C.SCHEDULED),
    (C.DRAFT, C.CANCELLED),
    (C.SCHEDULED, C.SENDING),
    (C.SCHEDULED, C.PAUSED),
    (C.SCHEDULED, C.CANCELLED),
    (C.SENDING, C.FINISHED),
    (C.SENDING, C.PAUSED),
    (C.SENDING, C.CANCELLED),
    (C.PAUSED, C.SCHEDULED),
    (C.PAUSED, C.CANCELLED),
    # issue 12: quiet hours and a month without room pause a campaign by themselves
    (C.SENDING, C.QUIET_HOURS),
    (C.SENDING, C.HELD),
    (C.QUIET_HOURS, C.SENDING),
    (C.QUIET_HOURS, C.HELD),
    (C.QUIET_HOURS, C.PAUSED),
    (C.QUIET_HOURS, C.CANCELLED),
    (C.HELD, C.SENDING),
    (C.HELD, C.QUIET_HOURS),
    (C.HELD, C.PAUSED),
    (C.HELD, C.CANCELLED),
}


@pytest.mark.parametrize(("frm", "to"), list(product(MessageState, MessageState)))
def test_r15_every_message_move_is_allowed_or_refused_as_the_table_says(frm, to):
    allowed = (frm, to) in EXPECTED_MESSAGE_MOVES
    assert states.message_move_allowed(frm, to) is allowed
    if allowed:
        assert message_sources(to, frm) == [frm.value]
        assert frm.value in message_sources(to)
    else:
        with pytest.raises(IllegalTransition):
            message_sources(to, frm)
        if to in {t for _, t in EXPECTED_MESSAGE_MOVES}:
            assert frm.value not in message_sources(to)


@pytest.mark.parametrize(("frm", "to"), list(product(CampaignState, CampaignState)))
def test_r15_every_campaign_move_is_allowed_or_refused_as_the_table_says(frm, to):
    allowed = (frm, to) in EXPECTED_CAMPAIGN_MOVES
    assert states.campaign_move_allowed(frm, to) is allowed
    if allowed:
        assert campaign_sources(to, frm) == [frm.value]
    else:
        with pytest.raises(IllegalTransition):
            campaign_sources(to, frm)


def test_r15_nothing_may_move_to_a_state_no_move_leads_to():
    """Draft is where a campaign starts; no move leads back to it."""
    with pytest.raises(IllegalTransition):
        campaign_sources(C.DRAFT)


def test_r15_final_states_have_no_way_out():
    assert set(states.FINAL_MESSAGE_STATES) == {
        "delivered",
        "failed",
        "cancelled",
        "expired",
        "withheld",
    }
    for final in states.FINAL_MESSAGE_STATES:
        assert not any(states.message_move_allowed(final, to) for to in MessageState)
    for final in (C.FINISHED, C.CANCELLED):
        assert not any(states.campaign_move_allowed(final, to) for to in CampaignState)


def test_r15_the_models_check_constraints_use_the_state_table():
    """The CHECK constraints (and reports' columns) are derived from the enums."""
    assert tuple(s.value for s in MessageState) == models.MESSAGE_STATES
    assert tuple(s.value for s in CampaignState) == models.CAMPAIGN_STATES
    checks = [
        str(c.sqltext)
        for c in models.Message.__table__.constraints
        if hasattr(c, "sqltext") and "'queued'" in str(c.sqltext)
    ]
    assert len(checks) == 1
    assert all(f"'{s.value}'" in checks[0] for s in MessageState)


def test_r15_an_unknown_state_name_is_refused():
    with pytest.raises(ValueError):
        message_sources("vanished")
    with pytest.raises(ValueError):
        message_sources(M.QUEUED, "lost")


class _NoSql:
    """A session that fails the test if any SQL is run through it."""

    def execute(self, *args, **kwargs):  # pragma: no cover - reaching it is the failure
        raise AssertionError("SQL ran for a forbidden move")

    scalars = execute


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (f, t)
        for f, t in product(MessageState, MessageState)
        if (f, t) not in EXPECTED_MESSAGE_MOVES
    ],
)
def test_r15_a_forbidden_message_move_is_refused_before_any_sql(frm, to):
    with pytest.raises(IllegalTransition):
        states.move_messages(_NoSql(), to, frm=frm)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (f, t)
        for f, t in product(CampaignState, CampaignState)
        if (f, t) not in EXPECTED_CAMPAIGN_MOVES
    ],
)
def test_r15_a_forbidden_campaign_move_is_refused_before_any_sql(frm, to):
    with pytest.raises(IllegalTransition):
        states.move_campaigns(_NoSql(), to, frm=frm)  # type: ignore[arg-type]
    campaign = models.Campaign(state=frm.value)
    with pytest.raises(IllegalTransition):
        states.check_campaign_move(campaign, to)
    assert campaign.state == frm.value
