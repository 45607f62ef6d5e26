"""Following a short link: find its target, record the click (R11, issue 3).

A code is looked up by its primary key; an unknown or expired one is ``None`` (the app
answers 404). Each redirected GET writes exactly one ``click`` row — time, campaign,
recipient row, the user agent truncated — committed before the redirect is answered, so
a click the visitor saw is never lost (a crash cannot lose a click that was redirected);
requests arriving together share one lookup and one commit (see :class:`ClickRecorder`).
The client's IP address is not stored anywhere.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, insert, select
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
_BATCH_LOOKUP = select(ShortLink.code, *_LOOKUP.selected_columns).where(
    ShortLink.code.in_(bindparam("codes", expanding=True))
)


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


class _Entry:
    """One request waiting in a batch: a code to follow (or a ready click row)."""

    __slots__ = ("agent", "code", "done", "error", "human", "link", "now", "row")

    def __init__(
        self,
        code: str | None,
        agent: str | None,
        now: datetime | None,
        row=None,
        human: bool = True,
    ):
        self.code, self.agent, self.now, self.row, self.human = code, agent, now, row, human
        self.link: Link | None = None
        self.done = False
        self.error: BaseException | None = None


# Batches written at once. SQLite has one writer, so one; PostgreSQL overlaps a few, so
# that the requests arriving while a batch waits for the server need not wait for it.
_WRITERS = {"sqlite": 1, "postgresql": 8}


class ClickRecorder:
    """Follows links and writes clicks with group commit: one transaction for the requests
    that arrive together.

    Each request waits until its own click is committed before it is redirected, so a
    click the visitor saw is never lost; but while a batch commits, the requests arriving
    meanwhile gather and go in a next single transaction. A commit costs a disk flush
    (about 5 ms on SQLite here) whatever it holds: one per click would cap a burst at
    ~200 clicks/s and, with SQLite's single writer, leave threads sleeping in its busy
    handler; one per batch serves a burst at the rate of the HTTP server.

    On PostgreSQL the batch also looks its codes up (:meth:`follow`) instead of each
    request taking a pooled connection for its own lookup: measured with
    benchmarks/redirects.py (issue 14), that lookup (a pool checkout, its ping, a
    transaction, a round trip) cost more than the click's insert; and with one batch at
    a time the server process spent a third of its time waiting for the database, so up
    to eight batches overlap there (4 and 8 measured: 0.56–0.98× and 0.75–1.18× the static
    route, so 8). On SQLite a lookup reads beside the writer (WAL) and
    only the insert is batched (:meth:`record`).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._pending: list[_Entry] = []
        self._writing = 0  # batches being written now
        self._writers = _WRITERS.get(engine.dialect.name, 1)
        self._conns: list = []  # PostgreSQL: idle connections batches are written on

    def follow(
        self, code: str, user_agent: str | None, now: datetime, *, human: bool = True
    ) -> Link | None:
        """The live link of ``code`` with its click committed (``human``: whether it counts
        as a person's, issue 12; an opt-out link records none), or None (nothing recorded);
        raises if the batch's transaction failed."""
        entry = _Entry(code, (user_agent or "")[:USER_AGENT_LENGTH] or None, now, human=human)
        self._submit(entry)
        return entry.link

    def record(self, row: dict) -> None:
        """Commit one ready click row (with whichever others arrive together)."""
        self._submit(_Entry(None, None, None, row))

    def _submit(self, entry: _Entry) -> None:
        with self._cond:
            self._pending.append(entry)
            while not entry.done:
                if not (self._pending and self._writing < self._writers):
                    self._cond.wait()
                    continue
                # A writer is free: this thread writes what is pending (its own entry
                # included, unless another writer took it already).
                entries, self._pending = self._pending, []
                self._writing += 1
                self._cond.release()
                error = None
                try:
                    self._write(entries)
                except BaseException as exc:  # every waiter of the batch must hear of it
                    error = exc
                finally:
                    self._cond.acquire()
                for done in entries:
                    done.done, done.error = True, error
                self._writing -= 1
                self._cond.notify_all()
        if entry.error is not None:
            raise entry.error

    def _write(self, entries: list[_Entry]) -> None:
        """Look the batch's codes up and insert its clicks, in one transaction."""
        if self.engine.dialect.name == "postgresql" and all(e.row is None for e in entries):
            self._write_postgresql(entries)
            return
        codes = {e.code for e in entries if e.code is not None}
        with self.engine.begin() as conn:
            found = (
                {row.code: row for row in conn.execute(_BATCH_LOOKUP, {"codes": list(codes)})}
                if codes
                else {}
            )
            rows = []
            for entry in entries:
                if entry.row is not None:
                    rows.append(entry.row)
                    continue
                # An entry without a ready row is a code to follow, stamped when it came.
                assert entry.code is not None and entry.now is not None
                link = _live(found.get(entry.code), entry.code, entry.now)
                if link is None:
                    continue
                entry.link = link
                if link.target == OPTOUT_TARGET:  # its page is shown, not counted
                    continue
                rows.append(
                    {
                        "code": link.code,
                        "campaign_id": link.campaign_id,
                        "recipient_row": link.recipient_row,
                        "at": entry.now,
                        "user_agent": entry.agent,
                        "human": entry.human,
                    }
                )
            if rows:
                conn.execute(insert(_CLICKS), rows)

    def _write_postgresql(self, entries: list[_Entry]) -> None:
        """The batch as ONE statement on a connection kept for it: the lookup, the insert
        and the commit in a single round trip (a statement in autocommit mode is its own
        transaction, atomic). Per batch this saves the pool checkout and its ping, BEGIN
        and COMMIT and a separate lookup: four round trips to a server that shares the
        same two cores (benchmarks/redirects.py, issue 14)."""
        values = ", ".join(["(%s::int, %s, %s::timestamptz, %s, %s::boolean)"] * len(entries))
        params: list = []
        for i, entry in enumerate(entries):
            params += [i, entry.code, entry.now, entry.agent, entry.human]
        # An opt-out link (issue 12) is followed but records no click: its page is shown.
        params.append(OPTOUT_TARGET)
        sql = (
            f"WITH v (i, code, at, agent, human) AS (VALUES {values}), "
            "found AS (SELECT v.i, v.at, v.agent, v.human, s.code, s.target, s.campaign_id, "
            "s.recipient_row FROM v JOIN short_link s ON s.code = v.code "
            "WHERE s.expires_at IS NULL OR s.expires_at > v.at), "
            "written AS (INSERT INTO click (code, campaign_id, recipient_row, at, user_agent, "
            "human) SELECT code, campaign_id, recipient_row, at, agent, human FROM found "
            "WHERE target <> %s) "
            "SELECT i, code, target, campaign_id, recipient_row FROM found"
        )
        conn = self._take_connection()
        try:
            with conn.connection.dbapi_connection.cursor() as cursor:
                cursor.execute(sql, params)
                found = cursor.fetchall()
        except BaseException:
            self._drop(conn)
            raise
        with self._cond:
            self._conns.append(conn)
        for i, code, target, campaign_id, recipient_row in found:
            entries[i].link = Link(code, target, campaign_id, recipient_row)

    def _take_connection(self):
        with self._cond:
            if self._conns:
                return self._conns.pop()
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    @staticmethod
    def _drop(conn) -> None:
        # After an error the connection may be broken: a new one replaces it.
        try:
            conn.invalidate()
            conn.close()
        except Exception:  # it is being thrown away anyway
            pass


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
    if not CODE_RE.match(code):
        return None
    now = now or now_utc()
    if engine.dialect.name == "postgresql":
        return recorder(engine).follow(code, user_agent, now, human=is_human(method, user_agent))
    # SQLite: the lookup reads beside the single writer (WAL) instead of queueing for
    # the write lock inside the batch; measured faster there (benchmarks/redirects.py).
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
