"""Following a short link: find its target, record the click (R11, issue 3).

A code is looked up by its primary key; an unknown or expired one is ``None`` (the app
answers 404). Each redirected GET writes exactly one ``click`` row — time, campaign,
recipient row, the user agent truncated — committed before the redirect is answered, so
a click the visitor saw is never lost; clicks arriving together share one commit (see
:class:`ClickRecorder`). The client's IP address is not stored anywhere.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.rules.tags import OPTOUT_TARGET
from sms_core.store.db import read_only
from sms_core.store.models import USER_AGENT_LENGTH, Click, ShortLink

__all__ = ["CODE_RE", "ClickRecorder", "Link", "follow", "is_human", "lookup", "recorder"]

# User agents of link-preview fetchers, security scanners and generic HTTP clients (issue
# 12): their requests are recorded, but they are not a person clicking. Matched as
# case-insensitive substrings of the User-Agent header.
NOT_HUMAN_AGENTS: tuple[str, ...] = (
    # Chat and social previews
    "slackbot",  # Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)
    "slack-imgproxy",
    "line-poker",  # LINE's link preview (facebookexternalhit/1.1;line-poker/1.0)
    "linespider",
    "facebookexternalhit",  # Meta: Facebook, Messenger, Instagram
    "facebookcatalog",
    "meta-externalagent",
    "whatsapp",
    "twitterbot",  # X
    "discordbot",
    "telegrambot",
    "skypeuripreview",  # Microsoft Teams and Skype
    "microsoftpreview",
    # Search engines and Apple/Google fetchers
    "googlebot",
    "google-pagerenderer",
    "googleother",
    "google-inspectiontool",
    "apis-google",
    "feedfetcher-google",
    "applebot",
    "bingbot",
    "bingpreview",
    # Mail security scanners (Outlook Safe Links and others)
    "safelinks",
    "microsoft office",
    "ms-office",
    "office365",
    "barracuda",
    "proofpoint",
    "mimecast",
    # Generic HTTP clients
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "apache-httpclient",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "httpclient",
    "headlesschrome",
    # Anything that calls itself a bot, crawler, spider or preview
    "bot/",
    "bot;",
    "crawler",
    "spider",
    "preview",
)

# Codes are base62 (sms_core.rules.plan); anything else is unknown without asking the database.
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
    # A read: on SQLite it must not queue for the write lock (see db.read_only).
    with read_only(engine).connect() as conn:
        row = conn.execute(_LOOKUP.where(ShortLink.code == code)).first()
    return _live(row, code, now or now_utc())


class ClickRecorder:
    """Writes clicks with group commit: one transaction for the clicks that arrive together.

    Each request waits until its own click is committed before it is redirected, so a
    click the visitor saw is never lost; but while one batch commits, the clicks arriving
    meanwhile gather and go in the next single commit. A commit costs a disk flush
    (about 5 ms on SQLite here) whatever it holds: one per click would cap a burst at
    ~200 clicks/s and, with SQLite's single writer, leave threads sleeping in its busy
    handler; one per batch serves a burst at the rate of the HTTP server.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        self._open = 1  # the batch the next click joins
        self._done = 0  # the last batch committed (or failed)
        self._flushing = False
        self._failed: dict[int, BaseException] = {}

    def record(self, row: dict) -> None:
        """Commit one click row (with whichever others arrive together); raises on failure."""
        with self._cond:
            self._pending.append(row)
            mine = self._open
            while self._done < mine and self._flushing:
                self._cond.wait()
            if self._done >= mine:
                error = self._failed.get(mine)
                if error is not None:
                    raise error
                return
            # No batch is being written: this thread writes the open one, its own included.
            self._flushing = True
            rows, self._pending = self._pending, []
            batch, self._open = self._open, self._open + 1
        error = None
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(_CLICKS), rows)
        except BaseException as exc:  # every waiter of the batch must hear of it
            error = exc
        with self._cond:
            self._done = batch
            if error is not None:
                self._failed[batch] = error
            for old in [b for b in self._failed if b < batch - 64]:
                del self._failed[old]
            self._flushing = False
            self._cond.notify_all()
        if error is not None:
            raise error


_RECORDERS: WeakKeyDictionary[Engine, ClickRecorder] = WeakKeyDictionary()
_GUARD = threading.Lock()


def recorder(engine: Engine) -> ClickRecorder:
    """The click recorder of ``engine`` (one per engine, shared by its threads)."""
    with _GUARD:
        found = _RECORDERS.get(engine)
        if found is None:
            found = _RECORDERS[engine] = ClickRecorder(engine)
        return found


def is_human(method: str, user_agent: str | None) -> bool:
    """Whether a request for a short link counts as a person clicking (issue 12).

    Not a person: a HEAD request, no User-Agent at all, or one of
    :data:`NOT_HUMAN_AGENTS` (link previewers of Slack, LINE, Meta, X, Google, Apple,
    Microsoft Teams, Outlook Safe Links scanners, generic HTTP clients).
    """
    if method.upper() != "GET":
        return False
    agent = (user_agent or "").strip().lower()
    if not agent:
        return False
    return not any(marker in agent for marker in NOT_HUMAN_AGENTS)


def follow(
    engine: Engine,
    code: str,
    user_agent: str | None,
    *,
    now: datetime | None = None,
    method: str = "GET",
) -> Link | None:
    """The live link of ``code`` with one click recorded, or None (nothing recorded).

    Every request is recorded; ``human`` says whether it counts as a person clicking
    (:func:`is_human`): click rate and first click count only those.
    """
    now = now or now_utc()
    link = lookup(engine, code, now=now)
    # An opt-out link (issue 12) is not click-through: its page is shown, not counted.
    if link is not None and link.target != OPTOUT_TARGET:
        agent = (user_agent or "")[:USER_AGENT_LENGTH] or None
        recorder(engine).record(
            {
                "code": code,
                "campaign_id": link.campaign_id,
                "recipient_row": link.recipient_row,
                "at": now,
                "user_agent": agent,
                "human": is_human(method, user_agent),
            }
        )
    return link
