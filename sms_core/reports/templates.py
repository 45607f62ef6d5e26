"""Sends per template: how each saved template performed across the campaigns made from it."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import and_, case, func, select

from sms_core.reports._base import Bind, fetch, typed
from sms_core.reports.activity import spoiled_messages
from sms_core.reports.campaigns import _campaign_filters
from sms_core.store.models import Campaign, MessageCount

TEMPLATE_COLUMNS = (
    "template_name",
    "campaigns",
    "recipients",
    "messages",
    "successful",
    "delivered",
    "failed",
    "units_used",
    "success_rate",
)
_COUNTS = TEMPLATE_COLUMNS[1:-1]
SUCCESSFUL = ("accepted", "delivered")


def template_summary(
    bind: Bind,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
) -> pd.DataFrame:
    """One row per template campaigns were loaded from, most messages first.

    Columns: ``template_name`` (None for campaigns written by hand), ``campaigns``,
    ``recipients``, ``messages`` (SMS parts), ``successful`` (recipients' messages, as R20
    counts them: :func:`sms_core.reports.activity.successful_recipient`), ``delivered``
    (of those, every part confirmed delivered), ``failed`` (parts), ``units_used``
    (accepted by the provider) and ``success_rate`` (successful / recipients, 0 without
    recipients). ``month_from`` /
    ``month_to`` (inclusive) choose campaigns by quota month. Two grouped queries — one
    over campaigns, one over their messages — so recipients are not multiplied by parts.
    """
    clauses = _campaign_filters(None, month_from, month_to)
    _, per_campaign = fetch(
        bind,
        select(Campaign.template_name, func.count(), func.sum(Campaign.recipients))
        .where(*clauses)
        .group_by(Campaign.template_name),
    )

    def sum_if(condition, value=MessageCount.messages):
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    # Over the trigger-kept counts (message_count, migration 0010): a few rows per
    # campaign, not every message ever sent.
    last = MessageCount.part_index == MessageCount.part_count
    _, per_message = fetch(
        bind,
        select(
            Campaign.template_name,
            func.sum(MessageCount.messages),
            # R20 counts recipients' messages: their last parts, less the spoiled few below.
            sum_if(and_(last, MessageCount.accepted, MessageCount.state.in_(SUCCESSFUL))),
            sum_if(and_(last, MessageCount.accepted, MessageCount.state == "delivered")),
            sum_if(MessageCount.state == "failed"),
            sum_if(MessageCount.accepted, MessageCount.units),
        )
        .join(MessageCount, MessageCount.campaign_id == Campaign.id)
        .where(*clauses)
        .group_by(Campaign.template_name),
    )
    sums = {name: list(rest) for name, *rest in per_message}
    # Multi-part messages a failed or unconfirmed part spoils (R20): few, read apart.
    spoiled = spoiled_messages().subquery()
    _, per_template = fetch(
        bind,
        select(
            Campaign.template_name,
            func.sum(spoiled.c.failed),
            func.sum(spoiled.c.last_delivered),
        )
        .join(Campaign, Campaign.id == spoiled.c.campaign_id)
        .where(*clauses)
        .group_by(Campaign.template_name),
    )
    for name, failed, last_delivered in per_template:
        if name in sums:
            sums[name][1] -= int(failed or 0)  # successful
            sums[name][2] -= int(last_delivered or 0)  # delivered
    records = [
        (name, n, recipients or 0, *sums.get(name, (0, 0, 0, 0, 0)))
        for name, n, recipients in per_campaign
    ]
    df = typed(pd.DataFrame(records, columns=list(TEMPLATE_COLUMNS[:-1])), ints=_COUNTS)
    df["success_rate"] = (df["successful"] / df["recipients"].where(df["recipients"] > 0)).fillna(
        0.0
    )
    # Hand-written campaigns (None) last; otherwise by volume, then by name for ties.
    df["_none"] = df["template_name"].isna()
    df = df.sort_values(
        ["_none", "messages", "template_name"], ascending=[True, False, True], kind="stable"
    )
    return df.drop(columns="_none").reset_index(drop=True)


def campaign_templates(bind: Bind) -> list[str]:
    """The names of the templates campaigns were loaded from, sorted: a filter's choices.

    Read from the campaign table alone (its template_name index), so it costs the same
    with a million messages as with none.
    """
    _, rows = fetch(
        bind,
        select(Campaign.template_name)
        .where(Campaign.template_name.is_not(None))
        .distinct()
        .order_by(Campaign.template_name),
    )
    return [name for (name,) in rows]
