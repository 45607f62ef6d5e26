"""Browser sessions that survive a reload (issue 15): web_session.

Revision ID: 0016
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create web_session."""
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=True),
        sa.Column("handoff_digest", sa.String(length=64), nullable=True),
        sa.Column("handoff_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_web_session_token_digest")),
        sa.UniqueConstraint("handoff_digest", name=op.f("uq_web_session_handoff_digest")),
    )
    op.create_index(op.f("ix_web_session_user_name"), "web_session", ["user_name"])


def downgrade() -> None:
    """Drop web_session."""
    op.drop_index(op.f("ix_web_session_user_name"), table_name="web_session")
    op.drop_table("web_session")
