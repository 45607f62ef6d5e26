"""An index for the one definition of a successful send (R20, issue 11).

A success is a recipient's message whose last part (``part_index = part_count``) was
accepted: ``(state, accepted_at, part_index, part_count)`` lets the 12-month chart count
each month's range from the index alone, reading a table row only for multi-part
messages (whose other parts are checked for failures).

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the index."""
    op.create_index(
        op.f("ix_message_state_accepted_at_part_index_part_count"),
        "message",
        ["state", "accepted_at", "part_index", "part_count"],
    )


def downgrade() -> None:
    """Drop the index."""
    op.drop_index(op.f("ix_message_state_accepted_at_part_index_part_count"), table_name="message")
