"""Indexes for the reports a page opens with (issue 6: each page well under 2 s at 1M).

``ix_message_state_failed_at`` serves recent failures (Overview, failure_reasons with a
time window); ``ix_message_sent_at`` is the expression daily_sends counts a message by —
coalesce(accepted_at, failed_at, created_at) — with its state, so "sends today" or the
last 30 days read a range of the index instead of every message.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create both indexes."""
    op.create_index(op.f("ix_message_state_failed_at"), "message", ["state", "failed_at"])
    op.create_index(
        "ix_message_sent_at",
        "message",
        [sa.text("coalesce(accepted_at, failed_at, created_at)"), "state"],
    )


def downgrade() -> None:
    """Drop both indexes."""
    op.drop_index("ix_message_sent_at", table_name="message")
    op.drop_index(op.f("ix_message_state_failed_at"), table_name="message")
