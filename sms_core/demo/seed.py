"""Synthetic send histories inserted in bulk, for the reports' tests, benchmarks and demos.

A million messages go in within seconds: the database computes them itself from each
campaign's plan (:mod:`sms_core.demo.seed_rows`), inside a single transaction with the
campaigns, the contract and the quota ledger, so a failure leaves nothing behind. The
history is deterministic (no randomness): the same arguments give the same rows, and
:class:`SeedSummary` returns what each report must find, counted in Python from the same
row patterns (never read back from the database), so tests can check the SQL against an
independent count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.demo.seed_rows import (
    BODY,
    CYCLE,
    FAILURES,
    MESSAGE_COLUMNS,
    PERIOD,
    STEP,
    Outcome,
    Plan,
    insert_messages,
    kind_of,
    outcome_of,
    units_of,
)
from sms_core.errors import InputError, StateError
from sms_core.rules.schedule import JST
from sms_core.sending.contract import get_contract, set_contract
from sms_core.sending.quota import add_months, current_month, jst_month
from sms_core.store.models import Campaign, QuotaMonth

__all__ = [
    "FAILURES",
    "MESSAGE_COLUMNS",
    "SEED_TEMPLATES",
    "SeedSummary",
    "seed_history",
    "template_of",
]

_OPEN = ("queued", "sending", "unknown")
# The template each campaign was loaded from, by campaign id % 3 (None: written by hand).
SEED_TEMPLATES: tuple[str | None, ...] = ("一次面接のご案内", "会社説明会のご案内", None)


@dataclass
class SeedSummary:
    """What the seeded history holds, counted while it was generated.

    Months and days are Japan time; ``successful`` means state accepted or delivered
    (what :func:`sms_core.reports.monthly_success` counts).
    """

    campaigns: int = 0
    messages: int = 0
    units: int = 0
    by_state: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_template: Counter[str | None] = field(default_factory=Counter)  # messages
    reached_acceptance: int = 0
    units_used: int = 0
    successful_by_month: Counter[date] = field(default_factory=Counter)
    delivered_by_month: Counter[date] = field(default_factory=Counter)
    failures: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    ledger: dict[date, list[int]] = field(default_factory=dict)  # month -> [used, reserved]
    campaign_ids: list[int] = field(default_factory=list)
    first_month: date | None = None
    now: datetime | None = None


def seed_history(
    engine: Engine,
    messages: int = 1_000_000,
    *,
    campaigns: int = 200,
    months: int = 12,
    now: datetime | None = None,
) -> SeedSummary:
    """Insert ``campaigns`` campaigns holding ``messages`` messages in all, over ``months``
    Japan-time months up to ``now``, with a contract and a quota ledger that match.

    Campaigns are spread evenly in time; the newest is still sending (queued, sending and
    unknown messages), the others are finished. Each message is one single-part SMS of 1
    or 2 units. The database must hold no campaign yet (StateError otherwise); an existing
    contract is kept if its monthly units cover the history. One transaction: nothing is
    written if anything fails.
    """
    if messages < 0 or campaigns < 1 or months < 1 or messages < campaigns:
        raise InputError("seed at least one message per campaign, over at least one month")
    now = (now or now_utc()).astimezone(UTC)
    summary = SeedSummary(now=now)
    first = add_months(current_month(now), -(months - 1))
    summary.first_month = first
    start = datetime(first.year, first.month, first.day, tzinfo=JST).astimezone(UTC)
    # Campaigns sent evenly between the first month's start and an hour before now, each
    # message a half second after the previous one, so the newest finished sending by now.
    span = (now - timedelta(hours=1)) - start
    per, extra = divmod(messages, campaigns)

    with engine.begin() as conn, Session(bind=conn) as session:
        if session.scalar(select(func.count()).select_from(Campaign)):
            raise StateError("seed_history needs a database without campaigns")
        plans = [
            Plan(k + 1, per + (k < extra), start + span * k / campaigns, k == campaigns - 1)
            for k in range(campaigns)
        ]
        conn.execute(Campaign.__table__.insert(), _campaign_rows(plans, summary))
        insert_messages(conn, plans)
        if conn.dialect.name == "postgresql":
            # Explicit ids do not move the sequences; the next real campaign or message
            # must not collide.
            for table in ("campaign", "message"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        for plan in plans:
            _count(plan, summary)
        _ledger(session, summary, now)
        session.flush()
    _settle(engine)
    return summary


def _settle(engine: Engine) -> None:
    """Bring the new rows to the state a history that grew over months is in.

    Planner statistics (ANALYZE) on both backends; on PostgreSQL also the visibility map
    (VACUUM), which autovacuum sets on a table that grew by inserts: until then an
    index-only scan still visits every row, and a benchmark would measure that instead.
    """
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE message")
            conn.exec_driver_sql("ANALYZE")
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _campaign_rows(plans, summary: SeedSummary) -> list[dict]:
    rows = []
    for cid, count, sent, is_open in plans:
        units = count + count // 7  # every 7th message is 2 units (units_of)
        month = jst_month(sent)
        rows.append(
            {
                "id": cid,
                "name": f"{month:%Y年%m月} 一次面接のご案内 #{cid}",
                "body": BODY,
                "state": "sending" if is_open else "finished",
                "scheduled_at": sent,
                "quota_month": month,
                "units_reserved": units,
                "recipients": count,
                "sender_mode": "shared",
                "sender_number": "05055271265",
                "provider": "sandbox",
                "template_name": template_of(cid),
                "idempotency_key": f"seed-{cid}",
                "created_by": "seed",
                "created_at": sent - timedelta(days=1),
                "started_at": sent,
                "finished_at": None if is_open else sent + STEP * count,
            }
        )
        summary.campaigns += 1
        summary.campaign_ids.append(cid)
    return rows


def template_of(campaign_id: int) -> str | None:
    """The template a seeded campaign was loaded from (see SEED_TEMPLATES)."""
    return SEED_TEMPLATES[campaign_id % len(SEED_TEMPLATES)]


def _count(plan: Plan, summary: SeedSummary) -> None:
    """Count the messages of ``plan`` into ``summary``, month by Japan-time month."""
    month = in_month = jst_month(plan.sent)
    ledger = summary.ledger.setdefault(month, [0, 0])  # the campaign's quota month
    summary.by_template[template_of(plan.campaign_id)] += plan.size
    summary.messages += plan.size
    base = plan.sent.astimezone(UTC).replace(tzinfo=None)
    first = 1
    while first <= plan.size:  # sending may go on past midnight ending a Japan month
        boundary = _jst_month_start_utc(add_months(in_month, 1))
        # Row n is sent at base + (n - 1) * STEP: the rows before the boundary end at
        # ceil((boundary - base) / STEP).
        last = min(plan.size, -((base - boundary) // STEP))
        for (residue, units, kind), n in _tally(first, last, plan.is_open).items():
            _add(summary, ledger, in_month, outcome_of(residue, plan.is_open), units, kind, n)
        first = max(first, last + 1)
        in_month = add_months(in_month, 1)


def _add(
    summary: SeedSummary,
    ledger: list[int],
    month: date,
    outcome: Outcome,
    units: int,
    kind: str,
    n: int,
) -> None:
    """Count ``n`` messages of one outcome, units and kind, sent in ``month``."""
    state = outcome.state
    summary.by_state[state] += n
    summary.by_kind[kind] += n
    summary.units += units * n
    if state == "failed":
        summary.failures[outcome.error_code, outcome.error_message] += n
    if outcome.accepted:
        summary.reached_acceptance += n
        summary.units_used += units * n
        ledger[0] += units * n
    elif state in _OPEN:
        ledger[1] += units * n
    if state in ("accepted", "delivered"):
        summary.successful_by_month[month] += n
        if state == "delivered":
            summary.delivered_by_month[month] += n


def _tally(first: int, last: int, is_open: bool) -> Counter[tuple[int, int, str]]:
    """How many of the rows ``first..last`` have each (row % CYCLE, units, kind)."""
    periods, rest = divmod(max(0, last - first + 1), PERIOD)
    tally: Counter[tuple[int, int, str]] = Counter()
    if periods:
        tally.update({key: n * periods for key, n in _period(is_open).items()})
    tally.update(_row_key(row) for row in range(last - rest + 1, last + 1))
    return tally


@cache
def _period(is_open: bool) -> Counter[tuple[int, int, str]]:
    """The keys of PERIOD consecutive rows (the same for every run of that many)."""
    return Counter(_row_key(row) for row in range(PERIOD))


def _row_key(row: int) -> tuple[int, int, str]:
    """What the summary needs to know of row ``row``: its outcome's place, units, kind."""
    return row % CYCLE, units_of(row), kind_of(row)


def _jst_month_start_utc(month: date) -> datetime:
    """Naive UTC instant at which ``month`` begins in Japan."""
    return datetime(month.year, month.month, 1) - timedelta(hours=9)


def _ledger(session: Session, summary: SeedSummary, now: datetime) -> None:
    """The contract (if none) and the ledger rows matching the seeded units."""
    needed = max((used + reserved for used, reserved in summary.ledger.values()), default=1)
    contract = get_contract(session)
    if contract is None:
        # Round up, so the cap is a plausible plan and the newest month has room left.
        cap = -(-needed * 5 // 4 // 1000) * 1000 or 1000
        start = min(summary.ledger, default=current_month(now))
        this = current_month(now)
        # Through this month and a few ahead, as a running contract would.
        months = (this.year - start.year) * 12 + this.month - start.month + 4
        contract = set_contract(session, cap, start, months, actor="seed", now=now)
    elif contract.monthly_units < needed:
        raise StateError(
            f"the contract's {contract.monthly_units:,} monthly units cannot hold the "
            f"seeded history ({needed:,} in one month)"
        )
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for month, (used, reserved) in sorted(summary.ledger.items()):
        stmt = insert(QuotaMonth).values(
            month=month, cap=contract.monthly_units, used=used, reserved=reserved
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["month"],
            set_={
                "used": QuotaMonth.used + stmt.excluded.used,
                "reserved": QuotaMonth.reserved + stmt.excluded.reserved,
            },
        )
        session.execute(stmt)
