"""Clicks on short links and the delivery receipts already accepted (issue 3).

``click`` holds one row per redirected request (no IP address); ``receipt_seen`` the
digests of receipt signatures the link service accepted, so a replayed request is refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _big_id() -> sa.types.TypeEngine:
    # As models.BigIntPK: only INTEGER PRIMARY KEY auto-increments on SQLite.
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create click and receipt_seen."""
    op.create_table(
        "click",
        sa.Column("id", _big_id(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("recipient_row", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["code"], ["short_link.code"], name=op.f("fk_click_code_short_link")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_click_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click")),
    )
    op.create_index(op.f("ix_click_code"), "click", ["code"])
    op.create_index(
        op.f("ix_click_campaign_id_recipient_row_at"),
        "click",
        ["campaign_id", "recipient_row", "at"],
    )
    op.create_table(
        "receipt_seen",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "digest", name=op.f("pk_receipt_seen")),
    )
    op.create_index(op.f("ix_receipt_seen_received_at"), "receipt_seen", ["received_at"])


def downgrade() -> None:
    """Drop receipt_seen and click."""
    op.drop_index(op.f("ix_receipt_seen_received_at"), table_name="receipt_seen")
    op.drop_table("receipt_seen")
    op.drop_index(op.f("ix_click_campaign_id_recipient_row_at"), table_name="click")
    op.drop_index(op.f("ix_click_code"), table_name="click")
    op.drop_table("click")
