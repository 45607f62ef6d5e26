"""Following a short link: find its target, record the click (R11, issue 3).

A code is looked up by its primary key; an unknown or expired one is ``None`` (the app
answers 404). Each redirected GET writes exactly one ``click`` row — time, campaign,
recipient row, the user agent truncated — in its own short transaction, before the
redirect is answered, so a click the visitor saw is never lost. The client's IP address
is not stored anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from ..db import now_utc
from ..models import USER_AGENT_LENGTH, Click, ShortLink

__all__ = ["CODE_RE", "Link", "follow", "lookup"]

# Codes are base62 (sms_core.plan); anything else is unknown without asking the database.
CODE_RE = re.compile(r"^[A-Za-z0-9]{7,16}$")

_LOOKUP = select(
    ShortLink.target, ShortLink.campaign_id, ShortLink.recipient_row, ShortLink.expires_at
)
_CLICKS = Click.__table__


@dataclass(frozen=True, slots=True)
class Link:
    """A live short link."""

    code: str
    target: str
    campaign_id: int
    recipient_row: int


def _live(row, code: str, now: datetime) -> Link | None:
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return Link(code, row.target, row.campaign_id, row.recipient_row)


def lookup(engine: Engine, code: str, *, now: datetime | None = None) -> Link | None:
    """The live link of ``code`` (no click recorded), or None if unknown or expired."""
    if not CODE_RE.match(code):
        return None
    with engine.connect() as conn:
        row = conn.execute(_LOOKUP.where(ShortLink.code == code)).first()
    return _live(row, code, now or now_utc())


def follow(
    engine: Engine, code: str, user_agent: str | None, *, now: datetime | None = None
) -> Link | None:
    """The live link of ``code`` with one click recorded, or None (nothing recorded)."""
    if not CODE_RE.match(code):
        return None
    now = now or now_utc()
    agent = (user_agent or "")[:USER_AGENT_LENGTH] or None
    with engine.begin() as conn:
        link = _live(conn.execute(_LOOKUP.where(ShortLink.code == code)).first(), code, now)
        if link is not None:
            conn.execute(
                insert(_CLICKS).values(
                    code=code,
                    campaign_id=link.campaign_id,
                    recipient_row=link.recipient_row,
                    at=now,
                    user_agent=agent,
                )
            )
    return link
