"""The Alembic migrations on an empty database, SQLite and PostgreSQL.

The models are what the code uses and the migrations what databases get; Alembic's own
comparison (the one autogenerate uses) must find no difference between them.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from sms_core.store.db import alembic_config, make_engine, upgrade
from sms_core.store.models import Base
from tests.integration.race_processes import racing_context


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# Alembic cannot compare expression indexes on SQLite; the test below checks that one.
@pytest.mark.filterwarnings("ignore:.*expression-based index ix_message_sent_at")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
def test_upgrade_on_an_empty_database_reaches_head_and_matches_the_models(empty_database_url):
    engine = make_engine(empty_database_url)
    try:
        assert upgrade(engine) == head_revision()
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"migrations and models disagree: {diff}"
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert upgrade(engine) == head_revision()  # a second run changes nothing
    finally:
        engine.dispose()


def test_the_daily_report_reads_the_kept_counts_not_the_messages(database_url):
    """daily_sends ("sends today" on Overview) is answered from message_count (kept by the
    triggers of migration 0010) without reading the message table, on a history of 20,000
    messages."""
    from sqlalchemy import event

    from sms_core import reports
    from sms_core.demo.seed import seed_history

    engine = make_engine(database_url)
    try:
        seed_history(engine, 20_000, campaigns=20)  # and ANALYZE, as a grown history has
        seen = []
        listen = lambda conn, cursor, sql, params, context, many: seen.append((sql, params))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            reports.daily_sends(engine, days=1)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        sql, params = next((q, p) for q, p in seen if "GROUP BY" in q)
        explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"{explain} {sql}", params).all()
        plan = " ".join(str(r) for r in rows)
        assert "message_count" in plan, plan
        # Neither the message table nor one of its indexes (ix_message_count_… is not one).
        assert not re.search(r"\bmessage\b|ix_message_(?!count)", plan), plan
    finally:
        engine.dispose()


def test_sqlite_engine_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY
    finally:
        engine.dispose()


def test_r19_sqlite_transactions_begin_immediate(tmp_path):
    """A second writer cannot even start while a transaction is open (BEGIN IMMEDIATE)."""
    import sqlite3

    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")  # a read only, yet the write lock is held
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
    finally:
        engine.dispose()


def _upgrade_in_child(url: str) -> str:
    engine = make_engine(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()


def test_concurrent_first_starts_migrate_once(empty_database_url):
    """Several app processes starting on a fresh database at once all end at head."""
    ctx = racing_context("alembic", "alembic.command")
    with ctx.Pool(4) as pool:
        revisions = pool.map(_upgrade_in_child, [empty_database_url] * 4)
    assert revisions == [head_revision()] * 4


def test_audit_events_are_append_only(engine):
    from sms_core.store.db import transaction
    from sms_core.store.models import audit

    with transaction(engine) as session:
        audit(session, "test", "something.happened", n=1)
    for statement in ("UPDATE audit_event SET actor = 'someone else'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def test_state_and_contract_checks_are_in_the_schema(engine):
    from sms_core.store.db import transaction

    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO contract (id, monthly_units, start_month, months, sender_mode, "
                "sender_number, created_at, updated_at) VALUES (1, 10, :d, 2, 'shared', "
                "'05055271265', :t, :t)"
            ),
            {"d": date(2026, 12, 1), "t": "2026-11-25 00:00:00"},
        )
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(
            text(
                "INSERT INTO campaign (name, body, state, quota_month, units_reserved, "
                "recipients, sender_mode, sender_number, provider, created_by, created_at) "
                "VALUES ('x', 'x', 'exploded', :d, 0, 0, 'shared', '05055271265', "
                "'sandbox', 'test', :t)"
            ),
            {"d": date(2026, 12, 1), "t": "2026-11-25 00:00:00"},
        )
