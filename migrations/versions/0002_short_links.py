"""Short links behind URL tags (R11), written when a campaign is confirmed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create short_link."""
    op.create_table(
        "short_link",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("recipient_row", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_short_link_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_short_link")),
    )
    op.create_index(op.f("ix_short_link_campaign_id"), "short_link", ["campaign_id"])


def downgrade() -> None:
    """Drop short_link."""
    op.drop_index(op.f("ix_short_link_campaign_id"), table_name="short_link")
    op.drop_table("short_link")
