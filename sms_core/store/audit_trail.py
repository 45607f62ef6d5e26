"""Reading the audit trail (issue 4): who did what and when, newest first; CSV export.

The trail itself is written by :func:`sms_core.store.models.audit` in the transaction of each
change, and is append-only (database triggers refuse updates and deletes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sms_core.rules.export import frame_csv_bytes
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent
from sms_core.store.paging import page


@dataclass(frozen=True, slots=True)
class AuditView:
    """One event: when (UTC), who, what, and its details as JSON text."""

    at: datetime
    actor: str
    action: str
    detail: str


def _select(action: str | None):
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    return stmt.where(AuditEvent.action == action) if action else stmt


def events(engine: Engine, limit: int = 100, offset: int = 0, *, action: str | None = None):
    """A page of events, newest first, optionally of one ``action`` (e.g. login.failure)."""
    limit, offset = page(limit, offset)
    with transaction(engine) as s:
        rows = s.scalars(_select(action).limit(limit).offset(offset)).all()
        return [AuditView(e.at, e.actor, e.action, e.detail) for e in rows]


def csv(engine: Engine, *, action: str | None = None) -> bytes:
    """Every event (or one action's) as CSV, UTF-8 with BOM, formulas neutralised."""
    with transaction(engine) as s:
        rows = [(e.at, e.actor, e.action, e.detail) for e in s.scalars(_select(action))]
    return frame_csv_bytes(pd.DataFrame(rows, columns=["at", "actor", "action", "detail"]))
