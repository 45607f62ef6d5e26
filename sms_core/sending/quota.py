"""The monthly quota ledger (R16-R20): reserve, commit, release, and what remains.

A send reserves all its units when it is confirmed; units move from ``reserved`` to
``used`` as the provider accepts messages, and back to nothing when a send is cancelled
or a message permanently rejected. Remaining = cap - used - reserved.

R19 (never overshoot, whatever happens at once) rests on two things, not on care in the
callers: the reservation is ONE conditional statement, so the check and the increment
cannot be separated by another writer (PostgreSQL re-evaluates the WHERE on the row
version it locked; SQLite runs writers one at a time under ``BEGIN IMMEDIATE``), and the
table's CHECK refuses any row with used + reserved > cap whatever statement produced it.
A month's row is created by the first reservation with INSERT … SELECT from the contract
… ON CONFLICT DO NOTHING, and a contract change locks the ledger against writers until it
commits (PostgreSQL), so a reservation never lands on a cap the contract no longer has.

Every function here works in the caller's session and never commits: confirming a
campaign reserves its units in the same transaction that records the campaign.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple, TypeGuard
from zoneinfo import ZoneInfo

from sqlalchemy import Date, extract, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import InputError, QuotaError, StateError
from sms_core.store.db import rowcount
from sms_core.store.models import CONTRACT_ID, Contract, QuotaMonth

__all__ = [
    "JST",
    "SHORT",
    "MonthUsage",
    "QuotaStatus",
    "add_months",
    "apply_contract",
    "commit_units",
    "contract_covers",
    "current_month",
    "format_month",
    "jst_month",
    "monthly_usage",
    "parse_month",
    "release",
    "remaining",
    "reserve",
]

JST = ZoneInfo("Asia/Tokyo")
# The code of the QuotaError that is a plain shortfall (the units do not fit the month);
# every other refusal of a reservation has its own (no contract, outside it, …).
SHORT = "quota.short"
# Tries before a reservation gives up on a ledger that keeps changing under it.
_RESERVE_ATTEMPTS = 5


class QuotaStatus(NamedTuple):
    """A month's ledger: ``remaining = cap - used - reserved`` (never negative)."""

    cap: int
    used: int
    reserved: int
    remaining: int


class MonthUsage(NamedTuple):
    """One bar of the R20 chart: units the provider accepted in ``month``, and its cap."""

    month: date
    used: int
    cap: int


def jst_month(dt: datetime) -> date:
    """The first day of the Japan-time calendar month holding the instant ``dt`` (R17).

    2026-11-30 14:59:59Z is 23:59:59 JST on 30 November (November); 15:00:00Z is
    00:00 JST on 1 December (December). ``dt`` must be timezone-aware.
    """
    if dt.tzinfo is None:
        raise ValueError(f"naive datetime {dt!r}: give a timezone-aware instant")
    local = dt.astimezone(JST)
    return date(local.year, local.month, 1)


def current_month(now: datetime | None = None) -> date:
    """The Japan-time month of ``now`` (default: this instant)."""
    return jst_month(now or now_utc())


def add_months(month: date, n: int) -> date:
    """The first day of the month ``n`` months after (or before, if negative) ``month``."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def format_month(month: date) -> str:
    """``2026-12`` for December 2026."""
    return f"{month.year:04d}-{month.month:02d}"


def contract_covers(
    contract: Contract | _Terms | None, month: date
) -> TypeGuard[Contract | _Terms]:
    """True if ``month`` (first day of a month) lies within the contract's period."""
    if contract is None:
        return False
    end = add_months(contract.start_month, contract.months)
    return contract.start_month <= month < end


class _Terms(NamedTuple):
    start_month: date
    months: int
    monthly_units: int


def _contract_terms(session: Session) -> _Terms | None:
    # A plain row, not the ORM object: this runs in every reservation (the hot path).
    row = session.execute(
        select(Contract.start_month, Contract.months, Contract.monthly_units).where(
            Contract.id == CONTRACT_ID
        )
    ).one_or_none()
    return _Terms(*row) if row else None


def _period(contract: Contract | _Terms) -> str:
    return f"{_first(contract)} to {_last(contract)}"


def _first(contract: Contract | _Terms) -> str:
    """The contract's first month, ``2026-11`` (an error's ``start``)."""
    return format_month(contract.start_month)


def _last(contract: Contract | _Terms) -> str:
    """The contract's last month, ``2027-01`` (an error's ``end``)."""
    return format_month(add_months(contract.start_month, contract.months - 1))


def _check_month(month: date) -> None:
    if not isinstance(month, date) or isinstance(month, datetime) or month.day != 1:
        raise InputError(f"a quota month is the first day of a month, not {month!r}")


def _insert_ignore(session: Session):
    dialect = session.get_bind().dialect.name
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _month_index(month_column):
    return extract("year", month_column) * 12 + extract("month", month_column)


def _ensure_row(session: Session, month: date) -> None:
    # Two sends opening a month at once both try to create its row; the loser's insert
    # does nothing, and both go on to the same conditional update. The cap and the
    # coverage are read from the contract by this very statement, not from an earlier
    # read: a contract change committed while this waited on its lock is what counts.
    index = month.year * 12 + month.month
    start = _month_index(Contract.start_month)
    terms = select(literal(month, Date), Contract.monthly_units, literal(0), literal(0)).where(
        Contract.id == CONTRACT_ID, start <= index, start + Contract.months > index
    )
    stmt = (
        _insert_ignore(session)(QuotaMonth)
        .from_select(["month", "cap", "used", "reserved"], terms)
        .on_conflict_do_nothing(index_elements=["month"])
    )
    session.execute(stmt)


def _conditional_reserve(session: Session, month: date, units: int) -> QuotaStatus | None:
    # Core, not the ORM: no identity-map work on the hot path (a fifth more reservations
    # a second on SQLite), and callers need the figures, not a tracked object.
    table = QuotaMonth.__table__
    stmt = (
        update(table)
        .where(table.c.month == month, table.c.used + table.c.reserved + units <= table.c.cap)
        .values(reserved=table.c.reserved + units)
        .returning(table.c.cap, table.c.used, table.c.reserved)
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    cap, used, reserved = row
    return QuotaStatus(cap, used, reserved, cap - used - reserved)


def reserve(session: Session, month: date, units: int) -> QuotaStatus:
    """Reserve ``units`` of ``month``'s quota, or refuse with the shortfall (R16-R19).

    Returns the month's ledger right after the reservation (what the UPDATE returned).

    Raises QuotaError (``needed``, ``remaining``, ``shortfall``) when there is no contract,
    the month is outside it, or the units do not fit; nothing is reserved then.
    """
    _check_month(month)
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise InputError(f"units to reserve must be a positive whole number, not {units!r}")
    contract = _contract_terms(session)
    if contract is None:
        raise QuotaError(
            "there is no SMS contract: set one up in Settings before sending",
            key="contract.none",
            needed=units,
        )
    if not contract_covers(contract, month):
        raise QuotaError(
            f"{format_month(month)} is outside the SMS contract ({_period(contract)})",
            key="quota.outside_contract",
            needed=units,
            month=format_month(month),
            start=_first(contract),
            end=_last(contract),
        )
    for _attempt in range(_RESERVE_ATTEMPTS):
        row = _conditional_reserve(session, month, units)
        if row is None:
            # The month's row may not exist, or exist only in another transaction that
            # has not committed yet (PostgreSQL: an UPDATE skips rows it cannot see, it
            # does not wait for them). The INSERT … ON CONFLICT DO NOTHING waits for such
            # a transaction and then does nothing; the UPDATE that follows is a new
            # statement and sees its committed row. Checking with a read first would
            # refuse a send that fits when that other transaction commits in between.
            _ensure_row(session, month)
            row = _conditional_reserve(session, month, units)
        if row is not None:
            return row
        contract = _contract_terms(session)  # again: it may have changed while we waited
        if contract is None:
            raise QuotaError(
                "the SMS contract was removed while sending",
                key="quota.contract_removed",
                needed=units,
            )
        if not contract_covers(contract, month):
            raise QuotaError(
                f"{format_month(month)} is outside the SMS contract ({_period(contract)})",
                key="quota.outside_contract",
                needed=units,
                month=format_month(month),
                start=_first(contract),
                end=_last(contract),
            )
        status = remaining(session, month)
        if status.remaining < units:
            break
        # Units were freed between the UPDATE and this read (a release committed): the
        # send fits now, so try again rather than show a shortfall of zero or less.
    else:
        raise QuotaError(
            f"the quota of {format_month(month)} is changing too fast to reserve "
            f"{units} units; try again",
            key="quota.busy",
            needed=units,
            remaining=status.remaining,
            month=format_month(month),
        )
    if status.remaining == 0:
        message = (
            f"no units remain in {format_month(month)} (cap {status.cap}): nothing can be "
            f"sent; this send needs {units}"
        )
    else:
        message = (
            f"this send needs {units} units but only {status.remaining} remain in "
            f"{format_month(month)} (cap {status.cap}): {units - status.remaining} short"
        )
    raise QuotaError(
        message, key=SHORT, needed=units, remaining=status.remaining, month=format_month(month)
    )


def commit_units(session: Session, month: date, units: int) -> None:
    """Move ``units`` from reserved to used: the provider accepted them."""
    _move(session, month, units, used_delta=units)


def release(session: Session, month: date, units: int) -> None:
    """Give back ``units`` that were reserved and will not be sent (cancel, rejection)."""
    _move(session, month, units, used_delta=0)


def _move(session: Session, month: date, units: int, *, used_delta: int) -> None:
    _check_month(month)
    if units < 0:
        raise InputError(f"units must not be negative, not {units}")
    if units == 0:
        return
    table = QuotaMonth.__table__
    stmt = (
        update(table)
        .where(table.c.month == month, table.c.reserved >= units)
        .values(reserved=table.c.reserved - units, used=table.c.used + used_delta)
    )
    if rowcount(session.execute(stmt)) != 1:
        row = session.get(QuotaMonth, month, populate_existing=True)
        held = row.reserved if row else 0
        action = "commit" if used_delta else "release"
        raise StateError(
            f"cannot {action} {units} units of {format_month(month)}: only {held} are reserved"
        )


def remaining(session: Session, month: date) -> QuotaStatus:
    """The ledger of ``month``: cap, used, reserved and remaining units (R20).

    A month of the contract without any reservation yet has the contract's cap; a month
    outside the contract has no units at all.
    """
    _check_month(month)
    row = session.execute(
        select(QuotaMonth.cap, QuotaMonth.used, QuotaMonth.reserved).where(
            QuotaMonth.month == month
        )
    ).one_or_none()
    contract = _contract_terms(session)
    covered = contract_covers(contract, month)
    if row is None:
        cap = contract.monthly_units if covered and contract else 0
        return QuotaStatus(cap, 0, 0, cap)
    cap, used, reserved = row
    left = max(cap - used - reserved, 0) if covered else 0
    return QuotaStatus(cap, used, reserved, left)


def monthly_usage(
    session: Session, months: int = 12, *, now: datetime | None = None
) -> list[MonthUsage]:
    """Used units per month for the ``months`` months up to this one, oldest first (R20).

    Months without a ledger row count 0.
    """
    last = current_month(now)
    first = add_months(last, -(months - 1))
    rows = session.execute(
        select(QuotaMonth.month, QuotaMonth.used, QuotaMonth.cap).where(
            QuotaMonth.month >= first, QuotaMonth.month <= last
        )
    ).all()
    by_month = {month: (used, cap) for month, used, cap in rows}
    contract = _contract_terms(session)
    result = []
    for i in range(months):
        month = add_months(first, i)
        default_cap = contract.monthly_units if contract_covers(contract, month) else 0
        used, cap = by_month.get(month, (0, default_cap))
        result.append(MonthUsage(month, used, cap))
    return result


def apply_contract(session: Session, contract: Contract, *, now: datetime | None = None) -> None:
    """Bring the ledger of this month and later in line with a changed contract.

    Covered months get the contract's cap; a month that would end up with less than it
    already used or reserved, or that falls outside the new period while holding
    reservations, makes the whole change fail with QuotaError. Past months keep theirs.
    """
    this_month = current_month(now)
    if session.get_bind().dialect.name == "postgresql":
        # Holds off every reservation (their UPDATE and INSERT) until the change commits,
        # including rows for months that do not exist yet; plain reads go on. SQLite
        # needs nothing: BEGIN IMMEDIATE already runs one writer at a time.
        session.execute(text("LOCK TABLE quota_month IN SHARE ROW EXCLUSIVE MODE"))
    rows = session.scalars(
        select(QuotaMonth)
        .where(QuotaMonth.month >= this_month)
        .order_by(QuotaMonth.month)
        # The figures must be the database's, not older copies held by this session.
        .execution_options(populate_existing=True)
    ).all()
    for row in rows:
        taken = row.used + row.reserved
        if contract_covers(contract, row.month):
            if taken > contract.monthly_units:
                raise QuotaError(
                    f"cannot set the monthly units to {contract.monthly_units}: "
                    f"{format_month(row.month)} already has {taken} units used or reserved",
                    key="quota.units_taken",
                    units=contract.monthly_units,
                    month=format_month(row.month),
                    taken=taken,
                )
            row.cap = contract.monthly_units
        elif taken:
            raise QuotaError(
                f"the new contract period ({_period(contract)}) leaves out "
                f"{format_month(row.month)}, which already has {taken} units used or "
                "reserved: cancel those sends first",
                key="quota.period_leaves_out",
                month=format_month(row.month),
                taken=taken,
                start=_first(contract),
                end=_last(contract),
            )
        else:
            session.delete(row)
    session.flush()


def parse_month(value: str) -> date:
    """``2026-12`` (or ``2026/12``, ``2026-12-01``) as the date of that month's first day."""
    cleaned = (value or "").strip().replace("/", "-")
    parts = cleaned.split("-")
    try:
        if len(parts) == 3 and int(parts[2]) == 1:
            parts = parts[:2]
        if len(parts) != 2 or len(parts[0]) != 4:
            raise ValueError
        return date(int(parts[0]), int(parts[1]), 1)
    except ValueError:
        raise InputError(
            f"a month is written YYYY-MM (e.g. 2026-12), not '{value}'",
            key="month.format",
            value=value,
        ) from None
