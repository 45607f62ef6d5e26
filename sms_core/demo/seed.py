"""Synthetic send histories inserted in bulk, for the reports' tests, benchmarks and demos.

A million messages go in within seconds: PostgreSQL through ``COPY … FROM STDIN`` (psycopg),
SQLite through one ``executemany`` of a prepared INSERT, both inside a single transaction
with the campaigns, the contract and the quota ledger, so a failure leaves nothing behind.
The history is deterministic (no randomness): the same arguments give the same rows, and
:class:`SeedSummary` returns what each report must find, computed in Python while the rows
were generated, so tests can check the SQL against an independent count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
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

# The columns written per message; ``id`` comes from the table's own sequence/rowid.
MESSAGE_COLUMNS: tuple[str, ...] = (
    "campaign_id",
    "recipient_row",
    "part_index",
    "part_count",
    "candidate_id",
    "name",
    "kind",
    "phone",
    "body",
    "units",
    "state",
    "client_ref",
    "provider",
    "provider_id",
    "error_code",
    "error_message",
    "attempts",
    "next_attempt_at",
    "created_at",
    "accepted_at",
    "delivered_at",
    "failed_at",
    "updated_at",
)

# (error_code, error_message, accepted first?) of the failures the history holds. A
# rejection at send time has no accepted_at; a carrier failure after acceptance has one
# and, as the dispatch worker records receipts, no error code.
FAILURES: dict[str, tuple[str | None, str, bool]] = {
    "invalid": ("invalid_number", "the number does not exist", False),
    "blocked": ("blocked", "the carrier blocked the message", False),
    "unreachable": (None, "unreachable: handset off or out of coverage", True),
}

# The state of each message by ``recipient_row % 20``: finished campaigns, and the most
# recent campaign, which is still sending. Row 18 of a finished campaign fails only on
# every other cycle, so the three failure reasons have three different counts.
_FINISHED = (
    ["delivered"] * 14 + ["accepted"] * 2 + ["invalid", "unreachable", "blocked", "cancelled"]
)
_SENDING = (
    ["delivered"] * 10
    + ["queued"] * 5
    + ["sending", "unknown", "accepted", "invalid", "unreachable"]
)
_OPEN = ("queued", "sending", "unknown")
# The template each campaign was loaded from, by campaign id % 3 (None: written by hand).
SEED_TEMPLATES: tuple[str | None, ...] = ("一次面接のご案内", "会社説明会のご案内", None)
_STEP = timedelta(milliseconds=500)  # between two messages of one campaign
_BODY = "{name}様\n一次面接のご案内です。日程のご確認をお願いいたします。株式会社サンプル 採用担当"


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
    failures: Counter[tuple[str | None, str]] = field(default_factory=Counter)
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
        sqlite = conn.dialect.name == "sqlite"
        plans = []
        for k in range(campaigns):
            count = per + (1 if k < extra else 0)
            sent = start + span * k / campaigns
            plans.append((k + 1, count, sent, k == campaigns - 1))
        rows = _campaign_rows(plans, summary)
        conn.execute(Campaign.__table__.insert(), rows)
        if not sqlite:
            # Explicit ids do not move the sequence; the next real campaign must not collide.
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('campaign', 'id'), "
                "(SELECT max(id) FROM campaign))"
            )
        generated = _messages(plans, summary)
        raw = conn.connection.dbapi_connection
        if sqlite:
            _executemany(raw, generated)
        else:
            _copy(raw, generated)
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
        units = count + count // 7  # every 7th message is 2 units
        month = jst_month(sent)
        rows.append(
            {
                "id": cid,
                "name": f"{month:%Y年%m月} 一次面接のご案内 #{cid}",
                "body": _BODY,
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
                "finished_at": None if is_open else sent + _STEP * count,
            }
        )
        summary.campaigns += 1
        summary.campaign_ids.append(cid)
    return rows


def template_of(campaign_id: int) -> str | None:
    """The template a seeded campaign was loaded from (see SEED_TEMPLATES)."""
    return SEED_TEMPLATES[campaign_id % len(SEED_TEMPLATES)]


def _outcome(row: int, is_open: bool) -> str:
    outcome = (_SENDING if is_open else _FINISHED)[row % 20]
    if outcome == "blocked" and row % 40 != 18:
        return "delivered"
    return outcome


def _messages(plans, summary: SeedSummary) -> Iterator[tuple]:
    """Yield message tuples in MESSAGE_COLUMNS order, counting them into ``summary``.

    Timestamps are UTC wall-time text, ``2026-11-30 14:59:59.000000``: exactly what
    SQLAlchemy's SQLite DateTime stores, so seeded rows sort and compare like rows the
    product wrote; PostgreSQL reads the same text as UTC (the COPY runs with TimeZone UTC).
    """
    by_state = summary.by_state
    successful, delivered_by_month = summary.successful_by_month, summary.delivered_by_month
    second, half = timedelta(seconds=1), _STEP
    for cid, count, sent, is_open in plans:
        # Naive UTC and one month boundary per campaign: zone arithmetic per row would
        # cost more than everything else here.
        base = sent.astimezone(UTC).replace(tzinfo=None)
        month = in_month = jst_month(sent)
        boundary = _jst_month_start_utc(add_months(month, 1))
        created = _text(base - timedelta(days=1))
        ledger = summary.ledger.setdefault(month, [0, 0])
        summary.by_template[template_of(cid)] += count
        for row in range(1, count + 1):
            outcome = _outcome(row, is_open)
            units = 2 if row % 7 == 0 else 1
            kind = "mid_career" if row % 3 == 0 else "new_grad"
            at = base + half * (row - 1)
            at_text = _text(at)
            while at >= boundary:  # sending went on past midnight ending a Japan month
                in_month = add_months(in_month, 1)
                boundary = _jst_month_start_utc(add_months(in_month, 1))
            accepted = delivered = failed = next_attempt = None
            code = reason = provider_id = None
            attempts = 1
            if outcome in FAILURES:
                state = "failed"
                code, reason, was_accepted = FAILURES[outcome]
                accepted = at_text if was_accepted else None
                failed = _text(at + second * (30 if was_accepted else 1))
                summary.failures[code, reason] += 1
            else:
                state = outcome
                if state in ("accepted", "delivered"):
                    accepted = at_text
                    successful[in_month] += 1
                    if state == "delivered":
                        delivered = _text(at + 3 * second)
                        delivered_by_month[in_month] += 1
                elif state == "queued":
                    attempts = 0
                    next_attempt = at_text
                elif state == "cancelled":
                    attempts = 0
                    reason = "an earlier part failed: the number does not exist"
            if accepted is not None:
                provider_id = f"sb-{cid}-{row}"
                summary.reached_acceptance += 1
                summary.units_used += units
                ledger[0] += units
            elif state in _OPEN:
                ledger[1] += units
            by_state[state] += 1
            summary.by_kind[kind] += 1
            summary.units += units
            name = f"候補者{row}"
            yield (
                cid,
                row,
                1,
                1,
                f"C{cid:04d}-{row:06d}",
                name,
                kind,
                f"090{(cid * 100_003 + row) % 100_000_000:08d}",
                _BODY.format(name=name),
                units,
                state,
                f"seed-{cid}-{row}-1",
                "sandbox",
                provider_id,
                code,
                reason,
                attempts,
                next_attempt,
                created,
                accepted,
                delivered,
                failed,
                failed or delivered or accepted or created,
            )
        summary.messages += count


def _jst_month_start_utc(month: date) -> datetime:
    """Naive UTC instant at which ``month`` begins in Japan."""
    return datetime(month.year, month.month, 1) - timedelta(hours=9)


def _text(value: datetime) -> str:
    return value.isoformat(" ", "microseconds")


def _executemany(raw, rows: Iterator[tuple]) -> None:
    """One prepared INSERT for all rows, with a page cache big enough for the indexes."""
    marks = ", ".join("?" * len(MESSAGE_COLUMNS))
    # The five indexes of message are updated row by row; with SQLite's default 2 MB
    # cache their pages are evicted and re-read all the time (a fifth of the insert time).
    saved = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute("PRAGMA cache_size = -262144")
    try:
        raw.executemany(
            f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) VALUES ({marks})", rows
        )
    finally:
        raw.execute(f"PRAGMA cache_size = {int(saved)}")


def _copy(raw, rows: Iterator[tuple]) -> None:
    """COPY the rows into message; psycopg formats them (in C, with psycopg_binary)."""
    columns = ", ".join(MESSAGE_COLUMNS)
    with raw.cursor() as cursor:
        # The seeded timestamps are UTC wall-time text; for this transaction only.
        cursor.execute("SET LOCAL TIME ZONE 'UTC'")
        with cursor.copy(f"COPY message ({columns}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)


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
