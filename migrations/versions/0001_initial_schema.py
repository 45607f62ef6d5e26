"""Initial schema: contract, quota ledger, templates, drafts, campaigns, messages,
suppression list and audit events.

Generated with ``alembic revision --autogenerate`` and rewritten by hand: timestamps as
plain ``DateTime(timezone=True)`` (the model's UTCDateTime only converts values, so the
migration does not import the models), tables in dependency order, and the triggers that
make ``audit_event`` append-only, which autogenerate cannot see.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model's value lists: a later change needs its own migration.
SENDER_MODES = "sender_mode IN ('shared', 'dedicated')"
CAMPAIGN_STATES = "state IN ('draft', 'scheduled', 'sending', 'finished', 'cancelled', 'paused')"
MESSAGE_STATES = (
    "state IN ('queued', 'sending', 'accepted', 'delivered', 'failed', 'unknown', 'cancelled')"
)


def _ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def _big_id() -> sa.types.TypeEngine:
    # SQLite auto-increments only an INTEGER PRIMARY KEY.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create every table, index, constraint and trigger."""
    op.create_table(
        "contract",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("monthly_units", sa.Integer(), nullable=False),
        sa.Column("start_month", sa.Date(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("sender_mode", sa.String(length=16), nullable=False),
        sa.Column("sender_number", sa.String(length=16), nullable=False),
        sa.Column("created_at", **_ts()),
        sa.Column("updated_at", **_ts()),
        sa.CheckConstraint("id = 1", name=op.f("ck_contract_singleton")),
        sa.CheckConstraint("monthly_units > 0", name=op.f("ck_contract_monthly_units_positive")),
        sa.CheckConstraint("months >= 3", name=op.f("ck_contract_at_least_3_months")),
        sa.CheckConstraint(SENDER_MODES, name=op.f("ck_contract_sender_mode")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
    )
    op.create_table(
        "quota_month",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("cap", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        # R19: the last line of defence against overshooting the cap.
        sa.CheckConstraint(
            "used >= 0 AND reserved >= 0 AND used + reserved <= cap",
            name=op.f("ck_quota_month_within_cap"),
        ),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_quota_month")),
    )
    op.create_table(
        "template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", **_ts()),
        sa.Column("updated_at", **_ts()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template")),
        sa.UniqueConstraint("name", name=op.f("uq_template_name")),
    )
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", **_ts()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft")),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", **_ts(nullable=True)),
        sa.Column("quota_month", sa.Date(), nullable=False),
        sa.Column("units_reserved", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("sender_mode", sa.String(length=16), nullable=False),
        sa.Column("sender_number", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("quiet_hours_override_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", **_ts()),
        sa.Column("started_at", **_ts(nullable=True)),
        sa.Column("finished_at", **_ts(nullable=True)),
        sa.Column("cancelled_at", **_ts(nullable=True)),
        sa.CheckConstraint(CAMPAIGN_STATES, name=op.f("ck_campaign_state")),
        sa.CheckConstraint(SENDER_MODES, name=op.f("ck_campaign_sender_mode")),
        sa.CheckConstraint(
            "units_reserved >= 0 AND recipients >= 0", name=op.f("ck_campaign_counts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_campaign_idempotency_key")),
    )
    op.create_index(op.f("ix_campaign_state_scheduled_at"), "campaign", ["state", "scheduled_at"])
    op.create_table(
        "message",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("recipient_row", sa.Integer(), nullable=False),
        sa.Column("part_index", sa.Integer(), nullable=False),
        sa.Column("part_count", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("client_ref", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", **_ts(nullable=True)),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", **_ts(nullable=True)),
        sa.Column("created_at", **_ts()),
        sa.Column("accepted_at", **_ts(nullable=True)),
        sa.Column("delivered_at", **_ts(nullable=True)),
        sa.Column("failed_at", **_ts(nullable=True)),
        sa.Column("updated_at", **_ts()),
        sa.CheckConstraint(MESSAGE_STATES, name=op.f("ck_message_state")),
        sa.CheckConstraint(
            "part_index >= 1 AND part_index <= part_count", name=op.f("ck_message_part_index")
        ),
        sa.CheckConstraint("units >= 1 AND attempts >= 0", name=op.f("ck_message_counts")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_message_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint(
            "campaign_id",
            "recipient_row",
            "part_index",
            name=op.f("uq_message_campaign_id_recipient_row_part_index"),
        ),
        sa.UniqueConstraint("client_ref", name=op.f("uq_message_client_ref")),
    )
    op.create_index(op.f("ix_message_campaign_id_state"), "message", ["campaign_id", "state"])
    op.create_index(op.f("ix_message_provider_id"), "message", ["provider_id"])
    op.create_index(
        op.f("ix_message_state_next_attempt_at"), "message", ["state", "next_attempt_at"]
    )
    op.create_table(
        "suppression",
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", **_ts()),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_suppression")),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("at", **_ts()),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_at"), "audit_event", ["at"])
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_event_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_event is append-only';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_append_only_{event.lower()} "
            f"BEFORE {event} ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def downgrade() -> None:
    """Drop everything (the data goes with it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    for table in (
        "audit_event",
        "suppression",
        "message",
        "campaign",
        "draft",
        "template",
        "quota_month",
        "contract",
    ):
        # Dropping a table drops its indexes and (on SQLite) its triggers.
        op.drop_table(table)
