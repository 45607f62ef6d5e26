"""Everyday ops tools (issue 16): resends, users' own test numbers, team notifications.

- ``campaign.resend_of``: a resend campaign points at the campaign it resends.
- ``app_user.phone``: the user's own mobile number (national form), the only number an
  operator may test-send to.
- indexes on ``message.candidate_id`` and ``message.phone`` for the candidate lookup.
- ``notification``: each team chat notification the worker sent (or tried to), one row per
  event, so an event is notified once whatever number of workers run.

Revision ID: 0015
Revises: 0013 (re-chained by the lead at merge)
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add campaign.resend_of, app_user.phone and the notification table."""
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("resend_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_campaign_resend_of_campaign"), "campaign", ["resend_of"], ["id"]
        )
        batch.create_index(op.f("ix_campaign_resend_of"), ["resend_of"])
    # The candidate lookup (and erasure by number) find a candidate's messages by these.
    op.create_index(op.f("ix_message_candidate_id"), "message", ["candidate_id"])
    op.create_index(op.f("ix_message_phone"), "message", ["phone"])
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=16), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('sending', 'sent', 'failed')", name=op.f("ck_notification_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("event", "subject", name=op.f("uq_notification_event_subject")),
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("notification")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("phone")
    op.drop_index(op.f("ix_message_phone"), table_name="message")
    op.drop_index(op.f("ix_message_candidate_id"), table_name="message")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_index(op.f("ix_campaign_resend_of"))
        batch.drop_constraint(op.f("fk_campaign_resend_of_campaign"), type_="foreignkey")
        batch.drop_column("resend_of")
