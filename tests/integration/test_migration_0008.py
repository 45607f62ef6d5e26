"""Migration 0008 (issue 13) on SQLite and PostgreSQL: opt-outs stored before it become
keyed hashes that the product still matches, and the numbers in earlier opt-out audit
events become their last 4 digits; the audit trail stays append-only afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sms_core.store import suppression
from sms_core.store.db import alembic_config, make_engine, transaction, upgrade


def _upgrade_to(engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_migration_0008_hashes_existing_optouts_and_strips_audit_numbers(
    empty_database_url, monkeypatch
):
    monkeypatch.setenv(suppression.ENV_KEY, "migration-test-key")
    engine = make_engine(empty_database_url)
    try:
        _upgrade_to(engine, "0007")
        at = datetime(2026, 11, 1, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO suppression (phone, reason, added_by, added_at) "
                    "VALUES ('09012345678', 'asked', 'ops', :at), "
                    "('08011112222', NULL, 'ops', :at)"
                ),
                {"at": at},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_event (at, actor, action, detail) VALUES "
                    "(:at, 'ops', 'optout.add', :add), (:at, 'ops', 'optout.remove', :rem), "
                    "(:at, 'ops', 'template.save', :other)"
                ),
                {
                    "at": at,
                    "add": json.dumps({"phone": "09012345678", "reason": "asked"}),
                    "rem": json.dumps({"phone": "08033334444"}),
                    "other": json.dumps({"name": "案内"}),
                },
            )
        upgrade(engine)
        with engine.connect() as conn:
            dumped = repr(conn.execute(text("SELECT * FROM suppression")).all())
            details = [
                json.loads(d)
                for (d,) in conn.execute(text("SELECT detail FROM audit_event ORDER BY id"))
            ]
        for number in ("09012345678", "08011112222", "08033334444"):
            assert number not in dumped and number not in repr(details)
        assert details[0] == {"phone_tail": "5678", "reason": "asked"}
        assert details[1] == {"phone_tail": "4444"}
        assert details[2] == {"name": "案内"}
        with transaction(engine) as s:
            blocked = suppression.suppressed_numbers(s)
            assert "09012345678" in blocked and "08011112222" in blocked
            assert "09012345670" not in blocked
            entries = {e.phone_tail: e for e in suppression.list_optouts(s)}
            assert entries["5678"].reason == "asked" and entries["5678"].added_by == "ops"
        # The append-only triggers are back.
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("UPDATE audit_event SET actor = 'x'"))
    finally:
        engine.dispose()
