"""campaign.template_name (issue 5) and app_setting (issue 6).

A campaign remembers the template its body was loaded from, so analysts can slice the
history by template; app_setting holds the team-wide choices made in the dashboard's
Settings page (provider, quiet hours, short URL base), shared by every process.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add campaign.template_name (indexed) and create app_setting."""
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("template_name", sa.String(length=200), nullable=True))
        batch.create_index(op.f("ix_campaign_template_name"), ["template_name"])
    op.create_table(
        "app_setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_setting")),
    )


def downgrade() -> None:
    """Drop app_setting and campaign.template_name."""
    op.drop_table("app_setting")
    with op.batch_alter_table("campaign") as batch:
        batch.drop_index(op.f("ix_campaign_template_name"))
        batch.drop_column("template_name")
