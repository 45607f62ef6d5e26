"""A composer that keeps work across a reload (issue 15): composer_autosave.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create composer_autosave."""
    op.create_table(
        "composer_autosave",
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("roster_name", sa.String(length=255), nullable=True),
        sa.Column("roster", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_name", name=op.f("pk_composer_autosave")),
    )
    op.create_index(op.f("ix_composer_autosave_expires_at"), "composer_autosave", ["expires_at"])


def downgrade() -> None:
    """Drop composer_autosave."""
    op.drop_index(op.f("ix_composer_autosave_expires_at"), table_name="composer_autosave")
    op.drop_table("composer_autosave")
