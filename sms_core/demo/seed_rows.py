"""The seeded messages themselves: what each row holds, and the SQL that writes them.

Every column of a seeded message is a function of its campaign's plan (id, size, send time,
still sending or not) and its row number. The database computes those rows itself with
``INSERT … SELECT`` (PostgreSQL: over ``generate_series``, a batch of campaigns per
statement; SQLite: over a recursive CTE, one campaign per run of a prepared statement):
nothing is built or sent row by row from Python, which used to cost more than the insert
itself. The outcome of a row (state, error, which timestamps it has) comes
from a small table built here from :data:`FAILURES` and the state cycles, the same table
:mod:`sms_core.demo.seed` counts its summary from.

While the rows go in, the secondary indexes of ``message`` (and on PostgreSQL its foreign
keys) are dropped and created again afterwards in the same transaction: building an index
from a million rows costs a fraction of a million insertions into it. The triggers that
keep ``message_count`` (migration 0010) fire as for any other insert.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple

from sqlalchemy import Connection

__all__ = [
    "BODY",
    "CYCLE",
    "FAILURES",
    "MESSAGE_COLUMNS",
    "PERIOD",
    "STEP",
    "Outcome",
    "Plan",
    "insert_messages",
    "kind_of",
    "outcome_of",
    "units_of",
]

# The columns written per message. The ids are given too (1, 2, … in campaign and row
# order, the table being empty), so they never depend on the order a plan yields rows in.
MESSAGE_COLUMNS: tuple[str, ...] = (
    "id",
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
# every other cycle (CYCLE rows), so the three failure reasons have three different counts.
_FINISHED = (
    ["delivered"] * 14 + ["accepted"] * 2 + ["invalid", "unreachable", "blocked", "cancelled"]
)
_SENDING = (
    ["delivered"] * 10
    + ["queued"] * 5
    + ["sending", "unknown", "accepted", "invalid", "unreachable"]
)
CYCLE = 40  # the outcomes repeat every CYCLE rows
_UNITS_EVERY = 7  # every 7th message is 2 units
_MID_CAREER_EVERY = 3  # every 3rd recipient is a mid-career one
# Every per-row pattern (outcome, units, kind) repeats after this many rows: any run of
# PERIOD consecutive rows holds each combination of them the same number of times.
PERIOD = math.lcm(CYCLE, _UNITS_EVERY, _MID_CAREER_EVERY)
STEP = timedelta(milliseconds=500)  # between two messages of one campaign
# The text of every seeded campaign; each message has the recipient's name in it.
BODY = "{name}様\n一次面接のご案内です。日程のご確認をお願いいたします。株式会社サンプル 採用担当"
_CANCELLED = "an earlier part failed: the number does not exist"
# Campaigns per INSERT statement on PostgreSQL, each with six bound values.
_BATCH = 1000
_OUTCOMES = "seed_outcome"  # the temporary table of outcomes by row


class Plan(NamedTuple):
    """One seeded campaign: its id, how many messages, when sending began, still open."""

    campaign_id: int
    size: int
    sent: datetime
    is_open: bool


class Outcome(NamedTuple):
    """What became of a seeded message; its timestamps follow from these flags."""

    state: str
    error_code: str | None
    error_message: str | None
    accepted: bool  # accepted_at is the send time
    delivered: bool  # delivered_at 3 s after it
    failed_after: int | None  # failed_at this many seconds after the send time
    attempts: int


def _outcome_name(row: int, is_open: bool) -> str:
    outcome = (_SENDING if is_open else _FINISHED)[row % 20]
    if outcome == "blocked" and row % CYCLE != 18:
        return "delivered"
    return outcome


def outcome_of(row: int, is_open: bool) -> Outcome:
    """The outcome of message ``row`` of a finished (or, ``is_open``, a sending) campaign."""
    name = _outcome_name(row, is_open)
    if name in FAILURES:
        code, reason, was_accepted = FAILURES[name]
        return Outcome("failed", code, reason, was_accepted, False, 30 if was_accepted else 1, 1)
    accepted = name in ("accepted", "delivered")
    attempts = 0 if name in ("queued", "cancelled") else 1
    why = _CANCELLED if name == "cancelled" else None
    return Outcome(name, None, why, accepted, name == "delivered", None, attempts)


def units_of(row: int) -> int:
    """The units of message ``row`` (a single part of 1 or 2 units)."""
    return 2 if row % _UNITS_EVERY == 0 else 1


def kind_of(row: int) -> str:
    """The kind of recipient ``row``."""
    return "mid_career" if row % _MID_CAREER_EVERY == 0 else "new_grad"


def insert_messages(conn: Connection, plans: Sequence[Plan]) -> None:
    """Write every message of ``plans`` into ``message``, in ``conn``'s transaction, with
    the ids 1, 2, … in campaign and row order (``message`` must be empty)."""
    raw = conn.connection.dbapi_connection
    if raw is None:
        raise RuntimeError("the connection is closed")
    postgres = conn.dialect.name == "postgresql"
    first_ids = list(accumulate((p.size for p in plans[:-1]), initial=1))
    with _checked_after_the_rows(raw, postgres), _outcome_table(raw, postgres):
        if postgres:
            # A batch of campaigns per statement: each fires the statement-level trigger
            # of message_count once.
            for first in range(0, len(plans), _BATCH):
                batch = slice(first, first + _BATCH)
                raw.execute(*_postgres_insert(plans[batch], first_ids[batch]))
        else:
            # One campaign per run of one prepared statement: SQLite inserts its rows in
            # row order (the recursion's), where a join could interleave several campaigns.
            raw.executemany(_sqlite_insert(), map(_sqlite_plan, plans, first_ids))


@contextmanager
def _checked_after_the_rows(raw: Any, postgres: bool) -> Iterator[None]:
    """Drop the secondary indexes of ``message`` (and on PostgreSQL its foreign keys) for
    the block, then create them again: each index is built from the rows in one sort, each
    key is checked by one query, instead of once per row.

    The primary key and UNIQUE constraints stay: they still check every row as it goes
    in. All comes back from its own definition in the catalog, so the schema after the
    block is the schema before it. In the caller's transaction: if the block fails, the
    rollback brings back what was dropped.
    """
    if postgres:
        # (drop, create again) for the indexes that back no constraint, and the keys. No
        # parameters: psycopg passes the % of format() through as it is.
        found = raw.execute(
            "SELECT format('DROP INDEX %I', c.relname), pg_get_indexdef(c.oid)"
            " FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = 'message'::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"
            " UNION ALL"
            " SELECT format('ALTER TABLE message DROP CONSTRAINT %I', conname),"
            " format('ALTER TABLE message ADD CONSTRAINT %I ', conname)"
            " || pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE conrelid = 'message'::regclass AND contype = 'f'"
        ).fetchall()
        # The builds sort in memory; for this transaction only.
        raw.execute("SET LOCAL maintenance_work_mem = '256MB'")
    else:
        # Automatic indexes (UNIQUE, primary key) have no SQL of their own. SQLite cannot
        # drop a foreign key; its check is a lookup of the campaign's rowid.
        found = raw.execute(
            "SELECT 'DROP INDEX \"' || name || '\"', sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'message' AND sql IS NOT NULL"
        ).fetchall()
        # The UNIQUE indexes are still updated row by row, and the builds sort: with
        # SQLite's default 2 MB cache their pages are evicted and read again all the time.
        saved = raw.execute("PRAGMA cache_size").fetchone()[0]
        raw.execute("PRAGMA cache_size = -262144")
    try:
        for drop, _create in found:
            raw.execute(drop)
        yield
        for _drop, create in found:
            raw.execute(create)
    finally:
        if not postgres:
            raw.execute(f"PRAGMA cache_size = {int(saved)}")


@contextmanager
def _outcome_table(raw: Any, postgres: bool) -> Iterator[None]:
    """A temporary table of the outcome of a row by (open campaign?, row % CYCLE), for
    the block: the INSERT looks each row's up by primary key."""
    raw.execute(
        f"CREATE TEMPORARY TABLE {_OUTCOMES} (is_open INTEGER, residue INTEGER, state TEXT,"
        " error_code TEXT, error_message TEXT, accepted INTEGER, delivered INTEGER,"
        " failed_after INTEGER, attempts INTEGER, PRIMARY KEY (is_open, residue))"
    )
    mark = "%s" if postgres else "?"
    cursor = raw.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO {_OUTCOMES} VALUES ({', '.join([mark] * 9)})",
            [
                (int(is_open), residue, *map(_plain, outcome_of(residue, is_open)))
                for is_open in (False, True)
                for residue in range(CYCLE)
            ],
        )
    finally:
        cursor.close()
    yield
    raw.execute(f"DROP TABLE {_OUTCOMES}")


def _plain(value: object) -> object:
    """A flag as 0/1, as the outcome table holds it (both backends compare it to 1)."""
    return int(value) if isinstance(value, bool) else value


class _Dialect(NamedTuple):
    """How one backend spells what the SELECT list needs."""

    at: Callable[[str], str]  # the send time shifted by a number of seconds (SQL)
    pad: Callable[[str, int], str]  # an integer zero-padded to a width, as text
    mod: Callable[[str, int], str]  # a remainder


def _columns_sql(d: _Dialect) -> str:
    """The SELECT list in MESSAGE_COLUMNS order, over r (row number n and its campaign's
    plan: cid, first_id, created) and p (its outcome)."""
    head, tail = BODY.split("{name}")
    sent = d.at("0")
    accepted = f"CASE WHEN p.accepted = 1 THEN {sent} END"
    delivered = f"CASE WHEN p.delivered = 1 THEN {d.at('3')} END"
    failed = f"CASE WHEN p.failed_after IS NOT NULL THEN {d.at('p.failed_after')} END"
    return ", ".join(
        (
            "r.first_id + r.n - 1",
            "r.cid",
            "r.n",
            "1",
            "1",
            f"'C' || {d.pad('r.cid', 4)} || '-' || {d.pad('r.n', 6)}",
            "'候補者' || r.n",
            f"CASE WHEN {d.mod('r.n', _MID_CAREER_EVERY)} = 0"
            " THEN 'mid_career' ELSE 'new_grad' END",
            f"'090' || {d.pad(d.mod('r.cid * 100003 + r.n', 100_000_000), 8)}",
            f"'{head}' || '候補者' || r.n || '{tail}'",
            f"CASE WHEN {d.mod('r.n', _UNITS_EVERY)} = 0 THEN 2 ELSE 1 END",
            "p.state",
            "'seed-' || r.cid || '-' || r.n || '-1'",
            "'sandbox'",
            "CASE WHEN p.accepted = 1 THEN 'sb-' || r.cid || '-' || r.n END",
            "p.error_code",
            "p.error_message",
            "p.attempts",
            f"CASE WHEN p.state = 'queued' THEN {sent} END",
            "r.created",
            accepted,
            delivered,
            failed,
            f"coalesce({failed}, {delivered}, {accepted}, r.created)",
        )
    )


def _insert_sql(rows: str, d: _Dialect) -> str:
    """The INSERT of every row of ``rows`` (a FROM item aliased r) with its outcome."""
    # CROSS JOIN: SQLite then keeps r as the outer loop (rows in their order, an outcome
    # looked up by key for each), where it could scan r once per outcome instead.
    return (
        f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) SELECT {_columns_sql(d)}"
        f" FROM {rows} CROSS JOIN {_OUTCOMES} AS p"
        f" WHERE p.is_open = r.is_open AND p.residue = {d.mod('r.n', CYCLE)}"
    )


def _sqlite_insert() -> str:
    """SQLite: the rows of one campaign from a recursive CTE, timestamps as the UTC text
    SQLAlchemy stores (``2026-11-30 14:59:59.000000``), from whole microseconds since 1970.
    Its parameters: :func:`_sqlite_plan`."""
    step = STEP // timedelta(microseconds=1)

    def at(seconds: str) -> str:
        us = f"(r.base_us + (r.n - 1) * {step} + {seconds} * 1000000)"
        return (
            f"(strftime('%Y-%m-%d %H:%M:%S', {us} / 1000000, 'unixepoch')"
            f" || printf('.%06d', {us} % 1000000))"
        )

    rows = (
        "(WITH RECURSIVE r(cid, size, base_us, is_open, created, first_id, n) AS ("
        "SELECT ?, ?, ?, ?, ?, ?, 1 UNION ALL"
        " SELECT cid, size, base_us, is_open, created, first_id, n + 1 FROM r WHERE n < size)"
        " SELECT * FROM r) AS r"
    )
    dialect = _Dialect(at, lambda e, n: f"printf('%0{n}d', {e})", lambda e, n: f"({e}) % {n}")
    return _insert_sql(rows, dialect)


def _sqlite_plan(plan: Plan, first_id: int) -> tuple:
    """The parameters of :func:`_sqlite_insert` for ``plan``, its first message's id."""
    sent = plan.sent.astimezone(UTC)
    created = _text(_created(sent))
    return plan.campaign_id, plan.size, _micros(sent), int(plan.is_open), created, first_id


def _postgres_insert(batch: Sequence[Plan], first_ids: Sequence[int]) -> tuple[str, list]:
    """PostgreSQL: rows from ``generate_series``, timestamps as timestamptz arithmetic."""
    step = STEP // timedelta(milliseconds=1)

    def at(seconds: str) -> str:
        return (
            f"(r.sent + (r.n - 1) * interval '{step} milliseconds'"
            f" + {seconds} * interval '1 second')"
        )

    def pad(expr: str, width: int) -> str:
        # lpad cuts a longer text; a number past the width keeps all its digits (Python's).
        return f"lpad(({expr})::text, greatest({width}, length(({expr})::text)), '0')"

    params: list = []
    for p, first_id in zip(batch, first_ids, strict=True):
        params += [p.campaign_id, p.size, p.sent, int(p.is_open), _created(p.sent), first_id]
    plan = "(%s::bigint, %s::int, %s::timestamptz, %s::int, %s::timestamptz, %s::bigint)"
    rows = (
        f"(SELECT c.*, n FROM (VALUES {', '.join([plan] * len(batch))})"
        " AS c(cid, size, sent, is_open, created, first_id)"
        " CROSS JOIN LATERAL generate_series(1, c.size) AS n) AS r"
    )
    return _insert_sql(rows, _Dialect(at, pad, lambda e, n: f"mod({e}, {n})")), params


def _created(sent: datetime) -> datetime:
    """When a campaign's messages were queued: a day before sending began."""
    return sent - timedelta(days=1)


def _micros(value: datetime) -> int:
    """Whole microseconds since 1970 (UTC) of an aware datetime."""
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _text(value: datetime) -> str:
    """UTC wall time as SQLAlchemy's SQLite DateTime stores it."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")
