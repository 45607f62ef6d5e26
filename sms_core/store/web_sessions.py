"""Browser sessions that survive a reload: begin, hand over, resume, end (issue 15).

A sign-in in the dashboard begins a session and gets a one-time hand-over code. The
browser is sent to the dashboard's own ``/session/start`` route with it; the route trades
the code for a random token in an HttpOnly, SameSite=Lax cookie (the page's scripts never
see it). Every later page load resumes the session from that cookie, while it is neither
revoked, idle for longer than ``SMS_SESSION_IDLE_MINUTES`` (60), older than
``SMS_SESSION_MAX_HOURS`` (12), nor its account disabled. Only SHA-256 digests of the code
and the token are stored, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError
from sms_core.store.db import rowcount
from sms_core.store.models import User, WebSession

COOKIE_NAME = "sms_session"
HANDOFF_SECONDS = 60
# Writing last_seen_at on every rerun would take SQLite's write lock per click.
TOUCH_EVERY = timedelta(seconds=60)


def _minutes(name: str, default: int, low: int = 1) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {text!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, not {value}")
    return value


def idle_limit() -> timedelta:
    """How long a session may go unused (``SMS_SESSION_IDLE_MINUTES``, default 60)."""
    return timedelta(minutes=_minutes("SMS_SESSION_IDLE_MINUTES", 60))


def max_age() -> timedelta:
    """How long a session may last at most (``SMS_SESSION_MAX_HOURS``, default 12)."""
    return timedelta(hours=_minutes("SMS_SESSION_MAX_HOURS", 12))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Resumed:
    """A live session: its id, its user's current name and role."""

    session_id: int
    user_name: str
    role: str


def begin(session: Session, user_name: str) -> tuple[int, str]:
    """Begin a session for ``user_name``; its id and the one-time hand-over code."""
    now = now_utc()
    code = secrets.token_urlsafe(32)
    row = WebSession(
        user_name=user_name,
        handoff_digest=_digest(code),
        handoff_expires_at=now + timedelta(seconds=HANDOFF_SECONDS),
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_age(),
    )
    session.add(row)
    session.flush()
    return row.id, code


def redeem(session: Session, code: str) -> str | None:
    """Trade a fresh, unused hand-over code for the cookie's token (once); None if the code
    is unknown, used, expired or its session ended."""
    if not code or len(code) > 200:
        return None
    now = now_utc()
    row = session.scalar(
        select(WebSession).where(WebSession.handoff_digest == _digest(code)).with_for_update()
    )
    if row is None:
        return None
    # Used once, whatever happens next.
    row.handoff_digest = None
    expires = row.handoff_expires_at
    row.handoff_expires_at = None
    if row.revoked_at is not None or expires is None or expires < now or row.token_digest:
        return None
    token = secrets.token_urlsafe(32)
    row.token_digest = _digest(token)
    row.last_seen_at = now
    return token


def _live(session: Session, *conditions) -> tuple[WebSession, User] | None:
    now = now_utc()
    found = session.execute(
        select(WebSession, User)
        .join(User, User.name == WebSession.user_name)
        .where(*conditions, WebSession.revoked_at.is_(None))
    ).first()
    if found is None:
        return None
    row, account = found
    if row.expires_at <= now or row.last_seen_at + idle_limit() <= now or account.disabled:
        return None
    return row, account


def resume(session: Session, token: str | None) -> Resumed | None:
    """The session behind a cookie's token, if it is still live (its idle time restarts)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    live = _live(session, WebSession.token_digest == _digest(token))
    if live is None:
        return None
    row, account = live
    now = now_utc()
    if now - row.last_seen_at >= TOUCH_EVERY:
        session.execute(update(WebSession).where(WebSession.id == row.id).values(last_seen_at=now))
    return Resumed(row.id, account.name, account.role)


def check(session: Session, session_id: int) -> Resumed | None:
    """Whether the session ``session_id`` is still live, with its user's current role."""
    live = _live(session, WebSession.id == session_id)
    if live is None:
        return None
    row, account = live
    return Resumed(row.id, account.name, account.role)


def end(session: Session, *, session_id: int | None = None, token: str | None = None) -> int:
    """Revoke a session by its id or its cookie's token; how many were ended."""
    if session_id is None and not token:
        return 0
    condition = (
        WebSession.id == session_id
        if session_id is not None
        else WebSession.token_digest == _digest(token or "")
    )
    result = session.execute(
        update(WebSession)
        .where(condition, WebSession.revoked_at.is_(None))
        .values(revoked_at=now_utc(), handoff_digest=None)
    )
    return rowcount(result) or 0


def end_all(session: Session, user_name: str) -> int:
    """Revoke every session of ``user_name`` (disabled account, new password)."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_name == user_name, WebSession.revoked_at.is_(None))
        .values(revoked_at=now_utc(), handoff_digest=None)
    )
    return rowcount(result) or 0


def prune(session: Session, older_than: datetime) -> int:
    """Delete sessions that ended or expired before ``older_than``."""
    result = session.execute(
        WebSession.__table__.delete().where(
            (WebSession.expires_at < older_than) | (WebSession.revoked_at < older_than)
        )
    )
    return rowcount(result) or 0
