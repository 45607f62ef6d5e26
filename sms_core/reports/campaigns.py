"""Reports per campaign, for the History page: summaries, a campaign's messages, units.

Paginated in SQL: the page of campaigns is chosen first (LIMIT/OFFSET on campaign), and
only that page's messages are aggregated, through the (campaign_id, state) index.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from sms_core.errors import InputError
from sms_core.reports._base import (
    Bind,
    count_filters,
    fetch,
    frame,
    masked_phone,
    message_filters,
    template_name,
    typed,
)
from sms_core.rules.tags import OPTOUT_TARGET
from sms_core.store.models import (
    CAMPAIGN_STATES,
    MESSAGE_STATES,
    Campaign,
    Click,
    Message,
    MessageCount,
    ShortLink,
)
from sms_core.store.paging import page

# Open messages still hold reserved units; accepted ones used theirs; the rest (refused
# at sending, cancelled) gave them back.
OPEN_STATES = ("queued", "sending", "unknown")


def _month(value: date | None, what: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise InputError(f"{what} must be a date (any day of the month), not {value!r}")
    return date(value.year, value.month, 1)


def _campaign_filters(
    state: str | None,
    month_from: date | None,
    month_to: date | None,
    template: str | None = None,
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    name = template_name(template)
    if name is not None:
        clauses.append(Campaign.template_name == name)
    if state is not None:
        if state not in CAMPAIGN_STATES:
            raise InputError(f"a campaign state is one of {', '.join(CAMPAIGN_STATES)}")
        clauses.append(Campaign.state == state)
    first, last = _month(month_from, "month_from"), _month(month_to, "month_to")
    if first is not None:
        clauses.append(Campaign.quota_month >= first)
    if last is not None:
        clauses.append(Campaign.quota_month <= last)
    return clauses


def _sum_if(
    condition: ColumnElement[bool] | InstrumentedAttribute[bool], value=MessageCount.messages
) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def campaign_count(
    bind: Bind,
    state: str | None = None,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
    template: str | None = None,
) -> int:
    """How many campaigns :func:`campaign_summary` pages through with the same filters."""
    stmt = select(func.count()).select_from(Campaign)
    _, rows = fetch(bind, stmt.where(*_campaign_filters(state, month_from, month_to, template)))
    return int(rows[0][0])


def campaign_summary(
    bind: Bind,
    limit: int = 50,
    offset: int = 0,
    state: str | None = None,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
    template: str | None = None,
) -> pd.DataFrame:
    """One row per campaign, newest first: a page of the History list.

    Columns: ``campaign_id``, ``name``, ``template_name`` (the template its body was
    loaded from, or None), ``state`` (the campaign's), ``scheduled_at``,
    ``created_at`` (Japan time), ``quota_month``, ``recipients``, ``units_reserved`` (at
    confirmation), ``units_used`` (of messages the provider accepted), ``messages``, and
    one count per message state (``queued`` … ``cancelled``). Filters: campaign ``state``,
    ``month_from``/``month_to`` (inclusive) on the campaign's quota month, ``template``.
    """
    limit, offset = page(limit, offset)
    chosen = (
        select(
            Campaign.id.label("campaign_id"),
            Campaign.name,
            Campaign.template_name,
            Campaign.state,
            Campaign.scheduled_at,
            Campaign.created_at,
            Campaign.quota_month,
            Campaign.recipients,
            Campaign.units_reserved,
        )
        .where(*_campaign_filters(state, month_from, month_to, template))
        .order_by(Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    )
    campaigns = frame(
        bind,
        chosen,
        timestamps=["scheduled_at", "created_at"],
        ints=["campaign_id", "recipients", "units_reserved"],
    )
    sums = [
        _sum_if(MessageCount.accepted, MessageCount.units).label("units_used"),
        func.sum(MessageCount.messages).label("messages"),
        *(_sum_if(MessageCount.state == s).label(s) for s in MESSAGE_STATES),
    ]
    return _with_sums(bind, campaigns, sums)


def _with_sums(
    bind: Bind,
    campaigns: pd.DataFrame,
    sums: list,
    clauses: list[ColumnElement[bool]] | None = None,
) -> pd.DataFrame:
    """``campaigns`` (one page) with its messages' ``sums`` beside, 0 where none match.

    The sums are over the trigger-kept counts (``message_count``, migration 0010): a few
    rows per campaign instead of every message of it.
    """
    ids = [int(i) for i in campaigns["campaign_id"]]
    names = [column.name for column in sums]
    rows: list = []
    if ids:
        # The page's ids as values, not as a subquery: the planner then reads their
        # ranges of the primary key (campaign_id first) instead of the whole table.
        stmt = (
            select(MessageCount.campaign_id, *sums)
            .where(MessageCount.campaign_id.in_(ids), *(clauses or []))
            .group_by(MessageCount.campaign_id)
        )
        _, rows = fetch(bind, stmt)
    found = pd.DataFrame([tuple(r) for r in rows], columns=["campaign_id", *names])
    found["campaign_id"] = found["campaign_id"].astype("int64")
    return typed(campaigns.merge(found, on="campaign_id", how="left"), ints=names)


def _message_filters(
    campaign_id: int,
    state: str | None,
    kind: str | None,
    error_code: str | None,
    error_message: str | None,
) -> list[ColumnElement[bool]]:
    clauses = message_filters(campaign_id=campaign_id, kind=kind)
    if state is not None:
        if state not in MESSAGE_STATES:
            raise InputError(f"a message state is one of {', '.join(MESSAGE_STATES)}")
        clauses.append(Message.state == state)
    if error_code is not None:
        clauses.append(Message.error_code == error_code)
    if error_message is not None:
        clauses.append(Message.error_message == error_message)
    return clauses


def campaign_messages(
    bind: Bind,
    campaign_id: int,
    state: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
    mask: bool = True,
    *,
    kind: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    clicks: bool = False,
) -> pd.DataFrame:
    """A page of one campaign's messages, by recipient row and part.

    Phone numbers are masked except their last 4 digits (``*******5678``) unless
    ``mask=False``. Filters: message ``state``, ``kind`` (new_grad/新卒, mid_career/中途),
    and the exact ``error_code`` / ``error_message`` of :func:`failure_reasons`. Columns:
    ``message_id``, ``recipient_row``, ``part_index``, ``part_count``, ``candidate_id``,
    ``name``, ``kind``, ``phone``, ``body``, ``units``, ``state``, ``error_code``,
    ``error_message``, ``attempts``, and ``created_at``, ``accepted_at``,
    ``delivered_at``, ``failed_at`` in Japan time.

    ``limit=None`` returns every matching message of the campaign, for a CSV export:
    those rows grow with the campaign, so only on an explicit request, never per page view.
    ``clicks=True`` adds the recipient's short-link ``clicks`` and ``first_click_at``
    (Japan time) to each of their messages (0 and NaT without a click).
    """
    limit, offset = page(limit, offset) if limit is not None else (None, page(1, offset)[1])
    phone = masked_phone() if mask else Message.phone
    extra: list = []
    per_recipient = None
    if clicks:
        per_recipient = (
            select(
                Click.recipient_row,
                func.count().label("clicks"),
                func.min(Click.at).label("first_click_at"),
            )
            # People only: link previewers and HEAD requests are not clicks (issue 12).
            .where(Click.campaign_id == campaign_id, Click.human)
            .group_by(Click.recipient_row)
            .subquery()
        )
        extra = [
            func.coalesce(per_recipient.c.clicks, 0).label("clicks"),
            per_recipient.c.first_click_at,
        ]
    stmt = (
        select(
            Message.id.label("message_id"),
            Message.recipient_row,
            Message.part_index,
            Message.part_count,
            Message.candidate_id,
            Message.name,
            Message.kind,
            phone.label("phone"),
            Message.body,
            Message.units,
            Message.state,
            Message.error_code,
            Message.error_message,
            Message.attempts,
            Message.created_at,
            Message.accepted_at,
            Message.delivered_at,
            Message.failed_at,
            *extra,
        )
        .where(*_message_filters(campaign_id, state, kind, error_code, error_message))
        .order_by(Message.recipient_row, Message.part_index)
        .limit(limit)
        .offset(offset)
    )
    if per_recipient is not None:
        stmt = stmt.outerjoin(per_recipient, per_recipient.c.recipient_row == Message.recipient_row)
    keys, rows = fetch(bind, stmt)
    df = pd.DataFrame([tuple(r) for r in rows], columns=keys)
    if clicks:
        df["first_click_at"] = [_utc(v) for v in df["first_click_at"]]
    return typed(
        df,
        timestamps=["created_at", "accepted_at", "delivered_at", "failed_at"]
        + (["first_click_at"] if clicks else []),
        ints=["message_id", "recipient_row", "part_index", "part_count", "units", "attempts"]
        + (["clicks"] if clicks else []),
    )


def campaign_message_count(
    bind: Bind,
    campaign_id: int,
    state: str | None = None,
    *,
    kind: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> int:
    """How many messages :func:`campaign_messages` pages through with the same filters."""
    clauses = _message_filters(campaign_id, state, kind, error_code, error_message)
    _, rows = fetch(bind, select(func.count()).select_from(Message).where(*clauses))
    return int(rows[0][0])


def units_per_campaign(
    bind: Bind,
    limit: int = 20,
    offset: int = 0,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
    kind: str | None = None,
    template: str | None = None,
) -> pd.DataFrame:
    """Billable units of each campaign, newest first, split by what became of them.

    Columns: ``campaign_id``, ``name``, ``quota_month``, ``units_planned`` (all its
    messages), ``units_used`` (the provider accepted them: the quota spent),
    ``units_pending`` (still queued, sending or unknown: reserved), ``units_released``
    (refused at sending or cancelled: given back). used + pending + released = planned.
    With ``kind``, only that kind's messages count; with ``template``, only campaigns
    loaded from that template.
    """
    limit, offset = page(limit, offset)
    chosen = (
        select(Campaign.id.label("campaign_id"), Campaign.name, Campaign.quota_month)
        .where(*_campaign_filters(None, month_from, month_to, template))
        .order_by(Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    )
    campaigns = frame(bind, chosen, ints=["campaign_id"])
    sums = [
        func.sum(MessageCount.units).label("units_planned"),
        _sum_if(MessageCount.accepted, MessageCount.units).label("units_used"),
        _sum_if(MessageCount.state.in_(OPEN_STATES), MessageCount.units).label("units_pending"),
    ]
    df = _with_sums(bind, campaigns, sums, count_filters(kind=kind))
    df["units_released"] = df["units_planned"] - df["units_used"] - df["units_pending"]
    return df


CLICK_COLUMNS = (
    "campaign_id",
    "name",
    "recipients",
    "clicked_recipients",
    "clicks",
    "click_rate",
    "first_click_at",
)
RECIPIENT_CLICK_COLUMNS = (
    "recipient_row",
    "candidate_id",
    "name",
    "links",
    "clicks",
    "first_click_at",
    "last_click_at",
)


def clicks_per_campaign(
    bind: Bind,
    limit: int = 20,
    offset: int = 0,
    *,
    month_from: date | None = None,
    month_to: date | None = None,
    campaign_id: int | None = None,
) -> pd.DataFrame:
    """Click-through of campaigns with short links (R11), newest first.

    Only campaigns whose body had a URL tag are listed: a campaign without links has no
    click rate (0 % would be false). Columns: ``campaign_id``, ``name``, ``recipients``
    (recipients given a short link), ``clicked_recipients`` (of them, who clicked at least
    once), ``clicks`` (requests by people: HEAD requests and link previewers are recorded
    but not counted, issue 12),
    ``click_rate`` = clicked_recipients / recipients, ``first_click_at`` (Japan time, NaT
    before any click). Filters: the campaign's quota month, or one ``campaign_id``.
    """
    limit, offset = page(limit, offset)
    # Opt-out links (issue 12) are not click-through links.
    has_links = (
        select(ShortLink.code)
        .where(ShortLink.campaign_id == Campaign.id, ShortLink.target != OPTOUT_TARGET)
        .exists()
    )
    clauses = [has_links, *_campaign_filters(None, month_from, month_to)]
    if campaign_id is not None:
        clauses.append(Campaign.id == campaign_id)
    chosen = (
        select(Campaign.id.label("campaign_id"), Campaign.name)
        .where(*clauses)
        .order_by(Campaign.id.desc())
        .limit(limit)
        .offset(offset)
    )
    campaigns = frame(bind, chosen, ints=["campaign_id"])
    ids = [int(i) for i in campaigns["campaign_id"]]
    links: dict[int, int] = {}
    clicks: dict[int, tuple] = {}
    if ids:
        # The page's ids as values: both aggregates then read only their index ranges.
        _, rows = fetch(
            bind,
            select(ShortLink.campaign_id, func.count(func.distinct(ShortLink.recipient_row)))
            .where(ShortLink.campaign_id.in_(ids), ShortLink.target != OPTOUT_TARGET)
            .group_by(ShortLink.campaign_id),
        )
        links = {int(c): int(n) for c, n in rows}
        _, rows = fetch(
            bind,
            select(
                Click.campaign_id,
                func.count(func.distinct(Click.recipient_row)),
                func.count(),
                func.min(Click.at),
            )
            .where(Click.campaign_id.in_(ids), Click.human)
            .group_by(Click.campaign_id),
        )
        clicks = {int(c): (int(who), int(n), first) for c, who, n, first in rows}
    campaigns["recipients"] = [links.get(i, 0) for i in ids]
    campaigns["clicked_recipients"] = [clicks.get(i, (0, 0, None))[0] for i in ids]
    campaigns["clicks"] = [clicks.get(i, (0, 0, None))[1] for i in ids]
    recipients = campaigns["recipients"].astype("float64")
    rate = campaigns["clicked_recipients"] / recipients.where(recipients > 0)
    campaigns["click_rate"] = rate.fillna(0.0).astype("float64")
    campaigns["first_click_at"] = [_utc(clicks.get(i, (0, 0, None))[2]) for i in ids]
    return typed(
        campaigns[list(CLICK_COLUMNS)],
        timestamps=["first_click_at"],
        ints=["recipients", "clicked_recipients", "clicks"],
    )


def campaign_clicks(
    bind: Bind, campaign_id: int, limit: int | None = 100, offset: int = 0
) -> pd.DataFrame:
    """Clicks of one campaign per recipient given a short link, by recipient row.

    Columns: ``recipient_row`` (0-based roster row), ``candidate_id``, ``name``, ``links``
    (short links the recipient got), ``clicks``, ``first_click_at`` and ``last_click_at``
    (Japan time, NaT if never clicked). ``limit=None`` returns every recipient (export).
    """
    limit, offset = page(limit, offset) if limit is not None else (None, page(1, offset)[1])
    links = (
        select(
            ShortLink.recipient_row,
            func.count().label("links"),
        )
        .where(ShortLink.campaign_id == campaign_id, ShortLink.target != OPTOUT_TARGET)
        .group_by(ShortLink.recipient_row)
        .subquery()
    )
    clicks = (
        select(
            Click.recipient_row,
            func.count().label("clicks"),
            func.min(Click.at).label("first_click_at"),
            func.max(Click.at).label("last_click_at"),
        )
        .where(Click.campaign_id == campaign_id, Click.human)
        .group_by(Click.recipient_row)
        .subquery()
    )
    stmt = (
        select(
            links.c.recipient_row,
            Message.candidate_id,
            Message.name,
            links.c.links,
            func.coalesce(clicks.c.clicks, 0).label("clicks"),
            clicks.c.first_click_at,
            clicks.c.last_click_at,
        )
        .select_from(links)
        .outerjoin(clicks, clicks.c.recipient_row == links.c.recipient_row)
        # The recipient's first part names them (the unique key's index finds it).
        .outerjoin(
            Message,
            (Message.campaign_id == campaign_id)
            & (Message.recipient_row == links.c.recipient_row)
            & (Message.part_index == 1),
        )
        .order_by(links.c.recipient_row)
        .limit(limit)
        .offset(offset)
    )
    _, rows = fetch(bind, stmt)
    df = pd.DataFrame(
        [(*r[:5], _utc(r[5]), _utc(r[6])) for r in rows], columns=list(RECIPIENT_CLICK_COLUMNS)
    )
    return typed(
        df,
        timestamps=["first_click_at", "last_click_at"],
        ints=["recipient_row", "links", "clicks"],
    )


def _utc(value):
    """A timestamp read by a bare aggregate: SQLite gives naive UTC text, PostgreSQL aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
