"""Opt-outs as keyed hashes, and no opt-out number left in the audit trail (issue 13).

``suppression`` is rebuilt keyed by ``phone_hash`` (HMAC-SHA-256 of the national form
under ``SMS_OPTOUT_KEY``, see sms_core.store.suppression) with ``phone_tail`` (the last 4
digits); every existing entry is hashed with the key in force when the migration runs, so
that key must be the one the product runs with. The ``optout.add`` / ``optout.remove``
audit events kept the number in their detail: it becomes ``phone_tail``. The append-only
triggers are lifted for that one rewrite and put back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": False}


def upgrade() -> None:
    """Hash every opt-out; strip numbers from opt-out audit events."""
    from sms_core.rules.optout_hash import optout_hash
    from sms_core.store.suppression import optout_key

    bind = op.get_bind()
    old = sa.table(
        "suppression",
        sa.column("phone"),
        sa.column("reason"),
        sa.column("added_by"),
        sa.column("added_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(sa.select(old)).all()
    # Read, dropped, created anew: the primary key changes, and a fresh table keeps the
    # constraint names the models' naming convention expects on both backends.
    op.drop_table("suppression")
    new = op.create_table(
        "suppression",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("phone_tail", sa.String(length=4), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", **_ts()),
        sa.PrimaryKeyConstraint("phone_hash", name=op.f("pk_suppression")),
    )
    entries = {}
    # The key only when there is something to hash: a fresh database needs none (and
    # must not warn about a missing one).
    key = optout_key() if rows else b""
    for r in rows:
        entries.setdefault(
            optout_hash(key, r.phone),
            {
                "phone_tail": r.phone[-4:],
                "reason": r.reason,
                "added_by": r.added_by,
                "added_at": r.added_at,
            },
        )
    if entries:
        op.bulk_insert(new, [{"phone_hash": h, **v} for h, v in entries.items()])
    _strip_audit_numbers(bind)


def _strip_audit_numbers(bind) -> None:
    events = sa.table("audit_event", sa.column("id"), sa.column("action"), sa.column("detail"))
    rows = bind.execute(
        sa.select(events.c.id, events.c.detail).where(
            events.c.action.in_(("optout.add", "optout.remove"))
        )
    ).all()
    changed = []
    for row in rows:
        detail = json.loads(row.detail or "{}")
        if "phone" in detail:
            detail["phone_tail"] = str(detail.pop("phone"))[-4:]
            changed.append(
                {"i": row.id, "d": json.dumps(detail, ensure_ascii=False, sort_keys=True)}
            )
    if not changed:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        op.execute("DROP TRIGGER audit_event_append_only_update")
    bind.execute(sa.text("UPDATE audit_event SET detail = :d WHERE id = :i"), changed)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    else:
        op.execute(
            "CREATE TRIGGER audit_event_append_only_update BEFORE UPDATE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def downgrade() -> None:
    """Numbers cannot be recovered from hashes: the list is emptied back to the old shape."""
    op.drop_table("suppression")
    op.create_table(
        "suppression",
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", **_ts()),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_suppression")),
    )
