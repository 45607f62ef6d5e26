"""Reports over all messages: monthly successes (R20), daily sends, funnel, failures, quota.

Each one is a few aggregate statements whose result has at most one row per month, day,
state or reason, whatever the number of messages; pandas only reshapes those rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from sms_core.errors import InputError
from sms_core.reports._base import (
    Bind,
    count_filters,
    fetch,
    frame,
    instant,
    last_days,
    last_months,
    message_filters,
    month_start,
    typed,
)
from sms_core.rules.schedule import JST
from sms_core.sending.quota import add_months, contract_covers
from sms_core.store.models import (
    CONTRACT_ID,
    MESSAGE_STATES,
    Contract,
    Message,
    MessageCount,
    QuotaMonth,
)
from sms_core.store.paging import page

# The states a part of a successful send is in: the provider accepted it and no failure
# came back (see :func:`successful_recipient`).
SUCCESSFUL_STATES = ("accepted", "delivered")
FUNNEL_STAGES = ("queued", "accepted", "delivered", "failed")
# States of a message the provider was handed (the daily report and "sends today"):
# accepted, then delivered or failed after it, or refused by the provider (failed).
HANDED_OVER_STATES = ("accepted", "delivered", "failed")


def _other_part(state_clause) -> ColumnElement[bool]:
    """EXISTS another part of the same recipient's message matching ``state_clause``."""
    other = aliased(Message)
    return (
        select(other.id)
        .where(
            other.campaign_id == Message.campaign_id,
            other.recipient_row == Message.recipient_row,
            state_clause(other),
        )
        .exists()
    )


def success_cases() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The two disjoint cases of :func:`successful_recipient`: a one-part message, and the
    last part of a longer one none of whose parts failed. Kept apart so a database can
    count the first from an index alone and plan the second as an anti-join (an OR of
    both makes PostgreSQL run the sub-query for every message)."""
    last_accepted = and_(
        Message.state.in_(SUCCESSFUL_STATES), Message.part_index == Message.part_count
    )
    single = and_(last_accepted, Message.part_count == 1)
    multi = and_(
        last_accepted,
        Message.part_count > 1,
        ~_other_part(lambda other: other.state == "failed"),
    )
    return single, multi


def successful_recipient() -> ColumnElement[bool]:
    """THE definition of a successful send (R20, 成功件数), as a WHERE clause on Message.

    One success is one recipient's message of a campaign, not one SMS part: it counts when
    its last part (``part_index = part_count``) is ``accepted`` or ``delivered`` and no part
    of that recipient failed. Parts go out in order, each only after the previous one was
    accepted (R8), so an accepted last part means every part was accepted; a part reported
    failed afterwards spoils the whole message. The success belongs to the Japan-time month
    of the last part's ``accepted_at``. Accepted counts, not only delivered: not every
    provider or carrier route sends delivery receipts, and counting receipts only would
    undercount such months for good.

    Every count of successful sends (the R20 chart, ``quota --history``, the notebook,
    per-template summaries) uses this definition.
    """
    return or_(*success_cases())


def fully_delivered() -> ColumnElement[bool]:
    """Among :func:`successful_recipient` rows: every part confirmed by a delivery receipt."""
    return and_(
        Message.state == "delivered",
        or_(
            Message.part_count == 1,
            ~_other_part(lambda other: other.state != "delivered"),
        ),
    )


def monthly_success(
    bind: Bind,
    months: int = 12,
    now: datetime | None = None,
    *,
    campaign_id: int | None = None,
    kind: str | None = None,
    template: str | None = None,
) -> pd.DataFrame:
    """Successful sends per Japan-time calendar month, the R20 chart: one row per month.

    The ``months`` months up to and including the current one (of ``now``), oldest first,
    months without sends as 0. Columns: ``month`` (date of the first day), ``successful``,
    ``delivered``, ``awaiting_receipt``.

    *Successful* counts recipients' messages, not SMS parts, as
    :func:`successful_recipient` defines them (the one definition of R20), in the month
    of the last part's ``accepted_at``. ``delivered`` counts those whose every part was
    confirmed by a delivery receipt, and ``awaiting_receipt`` = successful - delivered.

    Read from the trigger-kept counts (``message_count``, migration 0010), not from the
    messages: a count row of an accepted message has the Japan-time day of ``accepted_at``,
    so a month is the range [its first day, the next month's) of that day. The counts give
    every recipient's last part; the few multi-part messages that a failed (or, for
    ``delivered``, an undelivered) earlier part spoils are then read from the messages,
    starting from those parts (rare), and taken off.
    """
    month_list = last_months(months, now)
    first, end = month_list[0], add_months(month_list[-1], 1)
    filters = count_filters(campaign_id=campaign_id, kind=kind, template=template)
    last_part = MessageCount.part_index == MessageCount.part_count
    month_of: dict[date, date] = {}
    stmt = (
        select(
            MessageCount.day,
            _sum_if(MessageCount.state.in_(SUCCESSFUL_STATES)),
            _sum_if(MessageCount.state == "delivered"),
        )
        .where(
            last_part,
            MessageCount.accepted,
            MessageCount.day >= first,
            MessageCount.day < end,
            *filters,
        )
        .group_by(MessageCount.day)
    )
    found: dict[date, list[int]] = {m: [0, 0] for m in month_list}
    for day, ok, delivered in fetch(bind, stmt)[1]:
        month = month_of.setdefault(day, date(day.year, day.month, 1))
        found[month][0] += int(ok)
        found[month][1] += int(delivered)
    for month, failed, last_delivered in _spoiled(bind, first, end, campaign_id, kind, template):
        if month in found:
            found[month][0] -= int(failed)  # a failed part: no success at all
            found[month][1] -= int(last_delivered)  # counted delivered by its last part only
    df = pd.DataFrame(
        [(month, ok, delivered) for month, (ok, delivered) in found.items()],
        columns=["month", "successful", "delivered"],
    )
    df["awaiting_receipt"] = df["successful"] - df["delivered"]
    return typed(df, ints=["successful", "delivered", "awaiting_receipt"])


def spoiled_messages(
    *where: ColumnElement[bool],
) -> Select[int, datetime | None, Any, Any]:
    """The multi-part messages (their last part, matching ``where``) whose last part was
    accepted but another part is not delivered, as rows of ``campaign_id``,
    ``accepted_at`` (the last part's), ``failed`` (1: a part failed, so it is no success
    at all, R20) and ``last_delivered`` (1: the counts took it for fully delivered).
    Driven by the other parts, which are few: accepted but unconfirmed, or failed."""
    other = aliased(Message)
    return (
        select(
            Message.campaign_id,
            Message.accepted_at,
            func.max(case((other.state == "failed", 1), else_=0)).label("failed"),
            func.max(case((Message.state == "delivered", 1), else_=0)).label("last_delivered"),
        )
        .join(
            other,
            and_(
                other.campaign_id == Message.campaign_id,
                other.recipient_row == Message.recipient_row,
                other.part_index < other.part_count,
            ),
        )
        .where(
            other.state.in_(("accepted", "failed")),
            other.part_count > 1,
            Message.part_index == Message.part_count,
            Message.state.in_(SUCCESSFUL_STATES),
            *where,
        )
        .group_by(Message.id, Message.campaign_id, Message.accepted_at)
    )


def _spoiled(
    bind: Bind,
    first: date,
    end: date,
    campaign_id: int | None,
    kind: str | None,
    template: str | None,
) -> list[tuple[date, bool, bool]]:
    """:func:`spoiled_messages` whose last part was accepted in [first, end) (Japan-time
    months): (the month, whether a part failed, whether the last part is delivered)."""
    stmt = spoiled_messages(
        Message.accepted_at >= month_start(first),
        Message.accepted_at < month_start(end),
        *message_filters(campaign_id=campaign_id, kind=kind, template=template),
    )
    spoiled = []
    for _, accepted_at, failed, last_delivered in fetch(bind, stmt)[1]:
        when = accepted_at.astimezone(JST)
        spoiled.append((date(when.year, when.month, 1), bool(failed), bool(last_delivered)))
    return spoiled


def _sum_if(condition, column=MessageCount.messages):
    """SUM of ``column`` over the count rows matching ``condition`` (0, never NULL)."""
    return func.coalesce(func.sum(case((condition, column), else_=0)), 0)


def daily_sends(
    bind: Bind,
    days: int = 30,
    campaign_id: int | None = None,
    *,
    kind: str | None = None,
    template: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Messages handed to the provider per Japan-time day, by their current state, for the
    ``days`` days to today ("sends today" on Overview is the last row's ``total``).

    A message counts on the day it was handed over: when the provider accepted it, else
    when it was refused (failed). Messages not handed over are not counted at all: queued
    (also those scheduled for a later day), sending, cancelled, and ``unknown`` (the
    provider's answer was lost; it counts once settled). One row per day, oldest first,
    days without messages as 0. Columns: ``day`` (date), one per message state (queued …
    cancelled; those never handed over stay 0), and ``total``.
    """
    day_list = last_days(days, now)
    # The count rows carry that very day (message_count, migration 0010).
    stmt = (
        select(MessageCount.day, MessageCount.state, func.sum(MessageCount.messages))
        .where(
            MessageCount.day >= day_list[0],
            MessageCount.day <= day_list[-1],
            # Handed over: accepted (then perhaps delivered or failed), or refused.
            MessageCount.state.in_(HANDED_OVER_STATES),
            *count_filters(campaign_id=campaign_id, kind=kind, template=template),
        )
        .group_by(MessageCount.day, MessageCount.state)
    )
    _, rows = fetch(bind, stmt)
    counts = {(d, s): int(n) for d, s, n in rows}
    records = [(d, *(counts.get((d, s), 0) for s in MESSAGE_STATES)) for d in day_list]
    df = pd.DataFrame(records, columns=["day", *MESSAGE_STATES])
    df["total"] = df[list(MESSAGE_STATES)].sum(axis=1)
    return typed(df, ints=[*MESSAGE_STATES, "total"])


def sends_today(bind: Bind, now: datetime | None = None) -> int:
    """Messages handed to the provider today (Japan time): 本日の送信数 on Overview."""
    return int(daily_sends(bind, days=1, now=now)["total"].iloc[0])


def funnel(
    bind: Bind,
    campaign_id: int | None = None,
    since: date | datetime | None = None,
    *,
    until: date | datetime | None = None,
    kind: str | None = None,
    template: str | None = None,
    clicks: bool = False,
) -> pd.DataFrame:
    """The delivery funnel: queued → accepted → delivered / failed (→ clicked).

    A message counts in every stage it reached: every message was queued; ``accepted``
    counts those the provider took (``accepted_at`` set, whatever came next);
    ``delivered`` and ``failed`` their outcomes (a failure may come before or after
    acceptance). ``since``/``until`` select messages queued (created) in [since, until);
    a bare date means 00:00 Japan time. Columns: ``stage``, ``messages``, ``share`` (of
    queued, 0 when there are none).

    ``clicks=True`` (with a ``campaign_id`` whose body had short links) adds a last stage
    ``clicked``: the *recipients* who clicked at least once, and as its ``share`` the click
    rate — of the recipients given a link, not of messages, since a recipient's text may
    be several messages. A campaign without links gets no such stage.
    """
    if clicks and campaign_id is None:
        raise InputError("the clicked stage is per campaign: give campaign_id")
    start, end = instant(since, "since"), instant(until, "until")
    if start is None and end is None:
        # All time: the trigger-kept counts answer it without reading a message.
        stmt = (
            select(
                MessageCount.state,
                func.sum(MessageCount.messages),
                _sum_if(MessageCount.accepted),
            )
            .where(*count_filters(campaign_id=campaign_id, kind=kind, template=template))
            .group_by(MessageCount.state)
        )
    else:
        # A window of queue times is not a dimension of the counts: the messages' own
        # (state, …) indexes answer it.
        clauses = message_filters(campaign_id=campaign_id, kind=kind, template=template)
        if start is not None:
            clauses.append(Message.created_at >= start)
        if end is not None:
            clauses.append(Message.created_at < end)
        stmt = (
            select(Message.state, func.count(), func.count(Message.accepted_at))
            .where(*clauses)
            .group_by(Message.state)
        )
    _, rows = fetch(bind, stmt)
    by_state = {state: int(n) for state, n, _ in rows}
    values = {
        "queued": sum(by_state.values()),
        "accepted": sum(int(accepted) for _, _, accepted in rows),
        "delivered": by_state.get("delivered", 0),
        "failed": by_state.get("failed", 0),
    }
    df = pd.DataFrame({"stage": list(FUNNEL_STAGES), "messages": list(values.values())})
    queued = values["queued"]
    df["share"] = df["messages"] / queued if queued else 0.0
    if clicks:
        from sms_core.reports.campaigns import (
            clicks_per_campaign,  # campaigns imports this module's peers
        )

        rate = clicks_per_campaign(bind, campaign_id=campaign_id)
        if not rate.empty:
            row = rate.iloc[0]
            clicked = pd.DataFrame(
                {
                    "stage": ["clicked"],
                    "messages": [int(row["clicked_recipients"])],
                    "share": [float(row["click_rate"])],
                }
            )
            df = pd.concat([df, clicked], ignore_index=True)
    return typed(df, ints=["messages"])


def failure_reasons(
    bind: Bind,
    campaign_id: int | None = None,
    limit: int = 10,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    kind: str | None = None,
    template: str | None = None,
) -> pd.DataFrame:
    """Failed messages grouped by the provider's reason, most frequent first.

    Columns: ``error_code`` (None when the provider gave only a text, as delivery
    receipts do), ``error_message``, ``messages``, ``share`` (of all failed messages that
    match the filters, not only of the ``limit`` rows shown). ``since``/``until`` filter on
    the time of failure; a bare date means 00:00 Japan time.
    """
    limit, _ = page(limit, 0)
    clauses = [
        Message.state == "failed",
        *message_filters(campaign_id=campaign_id, kind=kind, template=template),
    ]
    start, end = instant(since, "since"), instant(until, "until")
    if start is not None:
        clauses.append(Message.failed_at >= start)
    if end is not None:
        clauses.append(Message.failed_at < end)
    n = func.count()
    stmt = (
        select(
            Message.error_code,
            Message.error_message,
            n.label("messages"),
            func.sum(n).over().label("all_failed"),
        )
        .where(*clauses)
        .group_by(Message.error_code, Message.error_message)
        # NULLs sort differently per backend; coalesce keeps ties in the same order.
        .order_by(
            n.desc(),
            func.coalesce(Message.error_code, ""),
            func.coalesce(Message.error_message, ""),
        )
        .limit(limit)
    )
    df = frame(bind, stmt, ints=["messages", "all_failed"])
    df["share"] = (df["messages"] / df["all_failed"]).astype("float64")
    return df.drop(columns="all_failed")


def quota_by_month(
    bind: Bind, months: int = 12, *, now: datetime | None = None, ahead: int = 0
) -> pd.DataFrame:
    """The quota ledger per Japan-time month: the ``months`` months to this one, then
    ``ahead`` months after it (where scheduled sends already reserved units).

    Columns: ``month``, ``cap``, ``used``, ``reserved``, ``remaining``. A month without a
    ledger row has the contract's cap if the contract covers it (else 0) and nothing used;
    a month outside the contract has nothing remaining, as :func:`sms_core.sending.quota.remaining`.
    """
    if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= 120:
        raise InputError(f"ahead must be a whole number from 0 to 120, not {ahead!r}")
    month_list = last_months(months, now)
    month_list += [add_months(month_list[-1], i) for i in range(1, ahead + 1)]
    _, rows = fetch(
        bind,
        select(QuotaMonth.month, QuotaMonth.cap, QuotaMonth.used, QuotaMonth.reserved).where(
            QuotaMonth.month >= month_list[0], QuotaMonth.month <= month_list[-1]
        ),
    )
    ledger = {month: (cap, used, reserved) for month, cap, used, reserved in rows}
    _, terms = fetch(
        bind,
        select(Contract.start_month, Contract.months, Contract.monthly_units).where(
            Contract.id == CONTRACT_ID
        ),
    )
    contract = terms[0] if terms else None
    records = []
    for month in month_list:
        covered = contract_covers(contract, month)
        default = (contract.monthly_units if covered and contract else 0, 0, 0)
        cap, used, reserved = ledger.get(month, default)
        remaining = max(cap - used - reserved, 0) if covered else 0
        records.append((month, cap, used, reserved, remaining))
    df = pd.DataFrame(records, columns=["month", "cap", "used", "reserved", "remaining"])
    return typed(df, ints=["cap", "used", "reserved", "remaining"])


def failure_reason_keys(df: pd.DataFrame) -> list[tuple[str | None, str | None]]:
    """The ``(error_code, error_message)`` of each row of :func:`failure_reasons`, a missing
    value as None (pandas gives NaN): what :func:`campaign_messages` filters by."""

    def text(value: object) -> str | None:
        return value if isinstance(value, str) else None

    return [(text(c), text(m)) for c, m in zip(df["error_code"], df["error_message"], strict=True)]
