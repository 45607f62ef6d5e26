"""Reports over all messages: monthly successes (R20), daily sends, funnel, failures, quota.

Each one is a few aggregate statements whose result has at most one row per month, day,
state or reason, whatever the number of messages; pandas only reshapes those rows.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import case, func, literal, select, union_all

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
    typed,
)
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

# What R20 calls a successful send: the provider accepted it and no failure came back.
SUCCESSFUL_STATES = ("accepted", "delivered")
FUNNEL_STAGES = ("queued", "accepted", "delivered", "failed")


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

    *Successful* counts messages (SMS parts, as carriers bill and deliver them) that the
    provider accepted and that have not been reported failed: state ``delivered`` or
    ``accepted``, in the month of ``accepted_at``. Not delivered only: a delivery receipt
    may never come (not every provider or carrier route reports one), and a message the
    provider took was sent all the same; counting receipts only would undercount such
    months for good. Not every accepted message either: one reported failed after
    acceptance is no success, although its units were used. ``delivered`` (confirmed by
    a receipt) is given beside it, and ``awaiting_receipt`` = successful - delivered.

    Read from the trigger-kept counts (``message_count``, migration 0010), not from the
    messages: an accepted message's count row has the Japan-time day of ``accepted_at``,
    so each month is the range [its first day, the next month's) of that day, whatever
    the number of messages.
    """
    month_list = last_months(months, now)
    filters = count_filters(campaign_id=campaign_id, kind=kind, template=template)
    delivered = _sum_if(MessageCount.state == "delivered")
    branches = [
        select(
            literal(i).label("i"),
            func.coalesce(func.sum(MessageCount.messages), 0).label("successful"),
            delivered.label("delivered"),
        ).where(
            MessageCount.state.in_(SUCCESSFUL_STATES),
            MessageCount.accepted,
            MessageCount.day >= month,
            MessageCount.day < add_months(month, 1),
            *filters,
        )
        for i, month in enumerate(month_list)
    ]
    stmt = branches[0] if len(branches) == 1 else union_all(*branches)
    _, rows = fetch(bind, stmt)
    found = {int(i): (int(n), int(d)) for i, n, d in rows}
    df = pd.DataFrame(
        [(month, *found.get(i, (0, 0))) for i, month in enumerate(month_list)],
        columns=["month", "successful", "delivered"],
    )
    df["awaiting_receipt"] = df["successful"] - df["delivered"]
    return typed(df, ints=["successful", "delivered", "awaiting_receipt"])


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
    """Messages per Japan-time day by their current state, for the ``days`` days to today.

    A message belongs to the day it was sent: when the provider accepted it, else when it
    failed (refused at sending), else when it was queued (not sent yet, or cancelled).
    One row per day, oldest first, days without messages as 0. Columns: ``day`` (date),
    one per message state (queued … cancelled), and ``total``.
    """
    day_list = last_days(days, now)
    # The count rows carry that very day (message_count, migration 0010).
    stmt = (
        select(MessageCount.day, MessageCount.state, func.sum(MessageCount.messages))
        .where(
            MessageCount.day >= day_list[0],
            MessageCount.day <= day_list[-1],
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
        default = (contract.monthly_units if covered else 0, 0, 0)
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
