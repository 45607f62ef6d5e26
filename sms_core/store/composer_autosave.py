"""A user's unfinished New send, kept on the server so a reload finds it (issue 15).

A reload starts a new browser session, whose memory is empty; the composer (roster,
body, column mapping, narrowing, schedule, send name) is autosaved here per user.
The roster is personal data: an autosave lives at most :data:`KEEP_FOR` from its
roster's upload (enforced on read; expired rows are deleted on every write), is deleted
when its send is confirmed or a new send is started, and :func:`forget_rosters` (called
by an erasure) deletes every autosave that holds a roster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.store.db import rowcount
from sms_core.store.models import ComposerAutosave

KEEP_FOR = timedelta(hours=24)


@dataclass(frozen=True)
class Autosave:
    """What was autosaved: the choices (JSON values) and the roster, if one was uploaded."""

    choices: dict[str, Any] = field(default_factory=dict)
    roster_name: str | None = None
    roster: bytes | None = field(default=None, repr=False)
    updated_at: datetime | None = None


def _live_row(session: Session, user_name: str) -> ComposerAutosave | None:
    row = session.get(ComposerAutosave, user_name)
    if row is None or row.expires_at <= now_utc():
        return None
    return row


def load(session: Session, user_name: str) -> Autosave | None:
    """The autosave of ``user_name``, unless there is none or it expired."""
    row = _live_row(session, user_name)
    if row is None:
        return None
    return Autosave(json.loads(row.choices or "{}"), row.roster_name, row.roster, row.updated_at)


def _row_for_write(session: Session, user_name: str) -> ComposerAutosave:
    now = now_utc()
    prune(session, now)
    row = session.get(ComposerAutosave, user_name)
    if row is None:
        row = ComposerAutosave(user_name=user_name, choices="{}", expires_at=now + KEEP_FOR)
        session.add(row)
    row.updated_at = now
    return row


def save_choices(session: Session, user_name: str, choices: dict[str, Any]) -> None:
    """Store the composer's choices (JSON values) for ``user_name``; its roster stays."""
    row = _row_for_write(session, user_name)
    row.choices = json.dumps(choices, ensure_ascii=False, sort_keys=True)


def save_roster(session: Session, user_name: str, name: str | None, data: bytes | None) -> None:
    """Store the roster ``user_name`` works on (None: none); kept :data:`KEEP_FOR` from now."""
    row = _row_for_write(session, user_name)
    row.roster_name, row.roster = name, data
    # The clock of the personal data restarts with each new roster, and only then.
    row.expires_at = now_utc() + KEEP_FOR


def clear(session: Session, user_name: str) -> bool:
    """Delete the autosave of ``user_name`` (a confirmed send, a new send); whether one was."""
    result = session.execute(
        delete(ComposerAutosave).where(ComposerAutosave.user_name == user_name)
    )
    return bool(rowcount(result))


def forget_rosters(session: Session) -> int:
    """Delete every autosave holding a roster (an erasure: any of them may hold the number)."""
    result = session.execute(delete(ComposerAutosave).where(ComposerAutosave.roster.is_not(None)))
    return rowcount(result) or 0


def prune(session: Session, now: datetime | None = None) -> int:
    """Delete the autosaves that expired; how many."""
    result = session.execute(
        delete(ComposerAutosave).where(ComposerAutosave.expires_at <= (now or now_utc()))
    )
    return rowcount(result) or 0
