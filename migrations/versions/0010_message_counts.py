"""Message counts kept by triggers, so reports need not scan the message table (issue 14).

``message_count`` holds, per campaign, Japan-time day, state, kind, part and whether the
provider accepted it, how many messages (SMS parts) there are and their units. Database
triggers on ``message`` keep it up to date in the same transaction as every INSERT,
UPDATE and DELETE of a message, whichever code path writes: a count cannot go stale.

The day is the one :func:`sms_core.reports.daily_sends` groups by: the Japan-time day of
``coalesce(accepted_at, failed_at, created_at)``. Part number and part count are kept so
that both counts of parts (as carriers bill) and of recipients' texts (one per
``part_index = part_count``: parts go out in order, R8) can be answered.

PostgreSQL: statement-level triggers with transition tables (one grouped upsert per
statement, so a COPY of ten million rows costs one aggregation, not ten million upserts).
SQLite: row-level triggers (SQLite has no statement-level ones). Existing messages are
counted by the migration itself.

Note for later migrations: on SQLite, Alembic's batch mode rebuilds a table by dropping
it, which drops its triggers; a migration that batch-alters ``message`` must re-create
them (:func:`create_triggers`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("campaign_id", "day", "state", "kind", "part_index", "part_count", "accepted")


def _key_sql(row: str, dialect: str) -> str:
    """The key columns of one message row (``row`` is its alias), in KEY order."""
    when = f"coalesce({row}.accepted_at, {row}.failed_at, {row}.created_at)"
    if dialect == "postgresql":
        day = f"({when} AT TIME ZONE 'Asia/Tokyo')::date"
        accepted = f"{row}.accepted_at IS NOT NULL"
    else:
        # SQLite holds UTC wall time as text; Japan has no daylight saving time.
        day = f"date({when}, '+9 hours')"
        accepted = f"({row}.accepted_at IS NOT NULL)"
    return ", ".join(
        (
            f"{row}.campaign_id",
            day,
            f"{row}.state",
            f"coalesce({row}.kind, '')",
            f"{row}.part_index",
            f"{row}.part_count",
            accepted,
        )
    )


_UPSERT_TAIL = (
    f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
    "messages = message_count.messages + excluded.messages, "
    "units = message_count.units + excluded.units"
)
_COLUMNS = f"{', '.join(KEY)}, messages, units"

_PG_FUNCTION = f"""
CREATE FUNCTION message_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Keys in a fixed order, so two transactions lock count rows in the same order and
    -- cannot deadlock on them; keys whose net change is nil are not written at all
    -- (a lease or attempt update moves no count).
    IF TG_OP = 'INSERT' THEN
        INSERT INTO message_count ({_COLUMNS})
        SELECT {_key_sql("n", "postgresql")}, count(*), sum(n.units)
        FROM new_rows n GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
        {_UPSERT_TAIL};
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO message_count ({_COLUMNS})
        SELECT {_key_sql("o", "postgresql")}, -count(*), -sum(o.units)
        FROM old_rows o GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
        {_UPSERT_TAIL};
    ELSE
        INSERT INTO message_count ({_COLUMNS})
        SELECT {", ".join(KEY)}, sum(messages), sum(units) FROM (
            SELECT {_key_sql("n", "postgresql")}, 1 AS messages, n.units AS units
            FROM new_rows n
            UNION ALL
            SELECT {_key_sql("o", "postgresql")}, -1, -o.units FROM old_rows o
        ) AS delta ({_COLUMNS})
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        HAVING sum(messages) <> 0 OR sum(units) <> 0
        ORDER BY 1, 2, 3, 4, 5, 6, 7
        {_UPSERT_TAIL};
    END IF;
    RETURN NULL;
END $$
"""

_PG_TRIGGERS = {
    "message_count_insert": "AFTER INSERT ON message REFERENCING NEW TABLE AS new_rows",
    "message_count_update": (
        "AFTER UPDATE ON message REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "message_count_delete": "AFTER DELETE ON message REFERENCING OLD TABLE AS old_rows",
}

# The columns a key is made of: an UPDATE of any other column moves no count.
_KEY_SOURCES = (
    "campaign_id",
    "accepted_at",
    "failed_at",
    "created_at",
    "state",
    "kind",
    "part_index",
    "part_count",
    "units",
)


def _sqlite_add(row: str, sign: str) -> str:
    return (
        f"INSERT INTO message_count ({_COLUMNS}) "
        f"VALUES ({_key_sql(row, 'sqlite')}, {sign}1, {sign}{row}.units) {_UPSERT_TAIL};"
    )


_SQLITE_TRIGGERS = {
    "message_count_insert": f"AFTER INSERT ON message BEGIN {_sqlite_add('NEW', '')} END",
    "message_count_update": (
        f"AFTER UPDATE OF {', '.join(_KEY_SOURCES)} ON message "
        f"WHEN ({' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in _KEY_SOURCES)}) "
        f"BEGIN {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '')} END"
    ),
    "message_count_delete": f"AFTER DELETE ON message BEGIN {_sqlite_add('OLD', '-')} END",
}


def create_triggers(dialect: str) -> None:
    """Create the triggers that keep ``message_count`` (and, on PostgreSQL, their function)."""
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for name, when in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} "
                "FOR EACH STATEMENT EXECUTE FUNCTION message_count_apply()"
            )
        return
    for name, body in _SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def drop_triggers(dialect: str) -> None:
    """Drop what :func:`create_triggers` created."""
    on = " ON message" if dialect == "postgresql" else ""
    for name in _PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}{on}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS message_count_apply()")


def upgrade() -> None:
    """Create message_count, count the existing messages into it, add the triggers."""
    dialect = op.get_bind().dialect.name
    op.create_table(
        "message_count",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, name=op.f("pk_message_count")),
    )
    # Reports over all campaigns read a range of days (the 12-month chart, 30 days).
    op.create_index(op.f("ix_message_count_day_state"), "message_count", ["day", "state"])
    # Backfill in the same transaction as the triggers: no write can fall in between
    # (PostgreSQL: the lock below; SQLite: the migration's BEGIN IMMEDIATE).
    if dialect == "postgresql":
        op.execute("LOCK TABLE message IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        f"INSERT INTO message_count ({_COLUMNS}) "
        f"SELECT {_key_sql('m', dialect)}, count(*), sum(m.units) FROM message m "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )
    create_triggers(dialect)


def downgrade() -> None:
    """Drop the triggers and message_count (the messages themselves are untouched)."""
    drop_triggers(op.get_bind().dialect.name)
    op.drop_index(op.f("ix_message_count_day_state"), table_name="message_count")
    op.drop_table("message_count")
