"""What every report shares: running a statement on any bind, Japan-time bounds, filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, Engine, case, cast, func, literal, literal_column, select, type_coerce
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Executable

from sms_core.clock import now_utc
from sms_core.errors import InputError
from sms_core.rules.schedule import JST
from sms_core.sending.quota import add_months, current_month
from sms_core.store.models import Campaign, Message, MessageCount

if TYPE_CHECKING:
    # Imported where a frame is made: the candidate lookup (one command, one page) reads
    # rows, not frames, and does without pandas.
    import pandas as pd

Bind = Engine | Connection | Session
JST_NAME = "Asia/Tokyo"

# Kinds as stored (Message.kind), and the words people type for them in a notebook.
KINDS: dict[str, str] = {
    "new_grad": "new_grad",
    "mid_career": "mid_career",
    "新卒": "new_grad",
    "中途": "mid_career",
}


def dialect_name(bind: Bind) -> str:
    """``sqlite`` or ``postgresql``: some Japan-time expressions differ between them."""
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def fetch(bind: Bind, stmt: Executable) -> tuple[list[str], list[Any]]:
    """Run ``stmt`` on an engine (own short connection), a connection or a session."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            result: Result[Any] = conn.execute(stmt)
            return list(result.keys()), list(result.all())
    result = bind.execute(stmt)
    return list(result.keys()), list(result.all())


def frame(
    bind: Bind, stmt: Executable, *, timestamps: Sequence[str] = (), ints: Sequence[str] = ()
) -> pd.DataFrame:
    """The rows of ``stmt`` as a DataFrame: ``timestamps`` in Japan time, ``ints`` as int64.

    Integer columns are fixed explicitly because an aggregate over no rows (SUM → NULL)
    or an empty result would otherwise give floats or objects, differently per backend.
    """
    import pandas as pd

    keys, rows = fetch(bind, stmt)
    df = pd.DataFrame([tuple(r) for r in rows], columns=keys)
    return typed(df, timestamps=timestamps, ints=ints)


def typed(
    df: pd.DataFrame, *, timestamps: Sequence[str] = (), ints: Sequence[str] = ()
) -> pd.DataFrame:
    """Set the dtypes of a report frame (also of an empty one): see :func:`frame`."""
    import pandas as pd

    for column in ints:
        df[column] = pd.to_numeric(df[column]).fillna(0).astype("int64")
    for column in timestamps:
        # Stored in UTC; people read Japan time (R13). Aware, so nothing is ambiguous.
        df[column] = pd.to_datetime(df[column], utc=True).dt.tz_convert(JST_NAME)
    return df


def instant(value: date | datetime | None, what: str) -> datetime | None:
    """An aware instant from a filter value; a bare date means 00:00 Japan time that day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InputError(f"{what}: naive datetime {value!r}; give a timezone-aware one")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=JST).astimezone(UTC)
    raise InputError(f"{what} must be a date or a datetime, not {value!r}")


def month_start(month: date) -> datetime:
    """The UTC instant at which the Japan-time month ``month`` begins (R17)."""
    return datetime(month.year, month.month, 1, tzinfo=JST).astimezone(UTC)


def last_months(months: int, now: datetime | None) -> list[date]:
    """The ``months`` Japan-time months up to and including the one of ``now``, oldest first."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise InputError(f"months must be a whole number from 1 to 120, not {months!r}")
    last = current_month(now)
    return [add_months(last, i - months + 1) for i in range(months)]


def last_days(days: int, now: datetime | None) -> list[date]:
    """The ``days`` Japan-time days up to and including today (of ``now``), oldest first."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        raise InputError(f"days must be a whole number from 1 to 3660, not {days!r}")
    today = (now or now_utc()).astimezone(JST).date()
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def day_start(day: date) -> datetime:
    """The UTC instant at which the Japan-time day ``day`` begins."""
    return datetime(day.year, day.month, day.day, tzinfo=JST).astimezone(UTC)


def jst_day(bind: Bind, column: ColumnElement) -> ColumnElement:
    """The Japan-time calendar day of a UTC timestamp, computed by the database.

    PostgreSQL converts the ``timestamptz`` with ``AT TIME ZONE 'Asia/Tokyo'``; SQLite holds
    UTC wall time as text, so nine hours are added (Japan has no daylight saving time).
    """
    # Literal SQL, not bound parameters: PostgreSQL accepts a GROUP BY on this expression
    # only if it is written exactly as in the select list, and two parameters are not.
    if dialect_name(bind) == "postgresql":
        return cast(func.timezone(literal_column(f"'{JST_NAME}'"), column), Date)
    # Date's SQLite result processor turns the 'YYYY-MM-DD' text into a date.
    return type_coerce(func.date(column, literal_column("'+9 hours'")), Date)


def kind_code(kind: str | None) -> str | None:
    """``new_grad`` / ``mid_career`` (or 新卒 / 中途) as stored; None means every kind."""
    if kind is None:
        return None
    code = KINDS.get(str(kind).strip())
    if code is None:
        raise InputError(f"kind is new_grad (新卒) or mid_career (中途), not {kind!r}")
    return code


def template_name(template: str | None) -> str | None:
    """A template filter as stored (stripped); None means every template."""
    if template is None:
        return None
    if not isinstance(template, str) or not template.strip():
        raise InputError(f"template must be a template's name, not {template!r}")
    return template.strip()


def message_filters(
    *,
    campaign_id: int | None = None,
    kind: str | None = None,
    template: str | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE clauses on message for the common filters (None: not filtered).

    ``template`` keeps the messages of campaigns whose body was loaded from the template
    of that name (Campaign.template_name): a sub-select of campaign ids, so the message
    indexes on campaign_id still serve the query.
    """
    clauses: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        clauses.append(Message.campaign_id == campaign_id)
    code = kind_code(kind)
    if code is not None:
        clauses.append(Message.kind == code)
    name = template_name(template)
    if name is not None:
        clauses.append(
            Message.campaign_id.in_(select(Campaign.id).where(Campaign.template_name == name))
        )
    return clauses


def count_filters(
    *,
    campaign_id: int | None = None,
    kind: str | None = None,
    template: str | None = None,
) -> list[ColumnElement[bool]]:
    """:func:`message_filters` for the trigger-kept counts (MessageCount), which the
    reports read instead of the message table: the same filters, the same meaning."""
    clauses: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        clauses.append(MessageCount.campaign_id == campaign_id)
    code = kind_code(kind)
    if code is not None:
        clauses.append(MessageCount.kind == code)
    name = template_name(template)
    if name is not None:
        clauses.append(
            MessageCount.campaign_id.in_(select(Campaign.id).where(Campaign.template_name == name))
        )
    return clauses


MASK = "*" * 16  # as long as the phone column


def masked_phone() -> ColumnElement[str]:
    """The phone number with every digit but the last 4 replaced by ``*``, in SQL.

    Masked by the database, so the full numbers of a masked page never leave it.
    """
    length = func.length(Message.phone)
    visible = func.substr(Message.phone, length - 3)
    return case(
        (length > 4, func.substr(literal(MASK), 1, length - 4).concat(visible)),
        else_=Message.phone,
    )
