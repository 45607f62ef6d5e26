"""The records of the product, as SQLAlchemy 2.x typed models.

Every timestamp is stored in UTC and read back timezone-aware (:class:`UTCDateTime`);
months (contract start, quota ledger, campaign month) are the ``date`` of the first day
of a calendar month in Japan time (R17). The schema itself is created by the Alembic
migrations in ``migrations/``; a test checks that they agree with these models.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sms_core.clock import now_utc
from sms_core.rules.state_table import CAMPAIGN_STATES, MESSAGE_STATES, CampaignState

# CAMPAIGN_STATES and MESSAGE_STATES come from the state table (sms_core.rules.state_table),
# which owns the state names and their moves; the CHECK constraints below are derived from
# them. They stay importable from here: reports and tests use them.

__all__ = [
    "CAMPAIGN_STATES",
    "CONTRACT_ID",
    "MESSAGE_STATES",
    "NOTIFICATION_STATES",
    "SENDER_MODES",
    "AppSetting",
    "AuditEvent",
    "Base",
    "Campaign",
    "Click",
    "Contract",
    "Draft",
    "Message",
    "MessageCount",
    "Notification",
    "QuotaMonth",
    "RateLimit",
    "ReceiptSeen",
    "ShortLink",
    "Suppression",
    "Template",
    "UTCDateTime",
    "User",
    "WebSession",
    "audit",
]

CONTRACT_ID = 1
SENDER_MODES: tuple[str, ...] = ("shared", "dedicated")
NOTIFICATION_STATES: tuple[str, ...] = ("sending", "sent", "failed")

# Named constraints make migrations reproducible and let later migrations drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Clicks keep this much of a user agent: enough to tell a browser from a link previewer.
USER_AGENT_LENGTH = 256

# Integer on SQLite, where only INTEGER PRIMARY KEY is the auto-incrementing rowid.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (tzinfo=UTC).

    Naive datetimes are refused: their zone is a guess, and a wrong guess moves a
    scheduled send by nine hours. SQLite has no zone-aware type, so there the UTC wall
    time is stored as text, which also keeps it sortable for the worker's queries.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        """Convert an aware datetime to UTC for storage."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        """Return the stored instant as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every model; its metadata is what migrations target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Typed FromClause by SQLAlchemy; every model here is mapped to a Table, which Core
        # code (update(Model.__table__), .insert()) needs.
        __table__: ClassVar[Table]


class Contract(Base):
    """The SMS contract (R16): one row, id 1. No row means no contract."""

    __tablename__ = "contract"
    __table_args__ = (
        CheckConstraint(f"id = {CONTRACT_ID}", name="singleton"),
        CheckConstraint("monthly_units > 0", name="monthly_units_positive"),
        CheckConstraint("months >= 3", name="at_least_3_months"),
        CheckConstraint(_in("sender_mode", SENDER_MODES), name="sender_mode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    monthly_units: Mapped[int] = mapped_column(Integer)
    start_month: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    sender_mode: Mapped[str] = mapped_column(String(16))
    # The effective sender: the common number in shared mode, the company's own otherwise.
    sender_number: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class QuotaMonth(Base):
    """The ledger of one Japan-time calendar month (R17-R19).

    ``reserved`` holds units of confirmed sends not yet accepted by the provider;
    ``used`` units the provider accepted. Remaining = cap - used - reserved, and the CHECK
    makes overshooting the cap impossible whatever the code above it does.
    """

    __tablename__ = "quota_month"
    __table_args__ = (
        CheckConstraint(
            "used >= 0 AND reserved >= 0 AND used + reserved <= cap", name="within_cap"
        ),
    )

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    cap: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class Template(Base):
    """A named, reusable message body (R12)."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class Draft(Base):
    """A message being written, saved to be edited again later (R12)."""

    __tablename__ = "draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


class Campaign(Base):
    """One confirmed send to a roster: its body, schedule, state and reserved units."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(_in("state", CAMPAIGN_STATES), name="state"),
        CheckConstraint(_in("sender_mode", SENDER_MODES), name="sender_mode"),
        CheckConstraint("units_reserved >= 0 AND recipients >= 0", name="counts"),
        # The scheduler's query: scheduled campaigns whose time has come.
        Index(None, "state", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=CampaignState.DRAFT.value)
    # None means "send now".
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    quota_month: Mapped[date] = mapped_column(Date)
    units_reserved: Mapped[int] = mapped_column(Integer, default=0)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    sender_mode: Mapped[str] = mapped_column(String(16))
    sender_number: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    # The template the body was loaded from, if any: analysts slice history by it.
    template_name: Mapped[str | None] = mapped_column(String(200), index=True)
    # Confirming the same form twice (a rerun, a double click) returns the same campaign.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    quiet_hours_override_reason: Mapped[str | None] = mapped_column(Text)
    # 送信期限 (issue 12): messages not handed over by then expire. None: no deadline.
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a campaign is ``held`` (e.g. ``no_contract``, ``quota``), shown in History.
    hold_reason: Mapped[str | None] = mapped_column(String(32))
    # A resend (issue 16) points at the campaign whose unreached recipients it sends to.
    resend_of: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """One SMS: one part (R8) of the text for one recipient, as it is sent.

    ``part_index`` counts from 1 to ``part_count``. ``client_ref`` is our stable reference
    given to the provider, so that a message whose outcome is unknown can be found there
    instead of being sent again.
    """

    __tablename__ = "message"
    __table_args__ = (
        CheckConstraint(_in("state", MESSAGE_STATES), name="state"),
        CheckConstraint("part_index >= 1 AND part_index <= part_count", name="part_index"),
        CheckConstraint("units >= 1 AND attempts >= 0", name="counts"),
        # One row per part per recipient; also the index of "messages of a campaign".
        UniqueConstraint("campaign_id", "recipient_row", "part_index"),
        # Progress counts of a campaign by state.
        Index(None, "campaign_id", "state"),
        # The worker's claim query: due messages in a state.
        Index(None, "state", "next_attempt_at"),
        # The reports (issue 5): successful sends per month (R20) and the funnel are
        # counted from this index alone, without reading message rows.
        Index(None, "state", "accepted_at"),
        # R20's successful sends (reports.successful_recipient): the last part of each
        # recipient's message, accepted, counted per month from the index alone.
        Index(None, "state", "accepted_at", "part_index", "part_count"),
        # Recent failures (Overview; failure_reasons with since/until) by time of failure.
        Index(None, "state", "failed_at"),
        # The frequency cap at hand-over (issue 12): a number's messages handed over today.
        Index(None, "phone", "accepted_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    recipient_row: Mapped[int] = mapped_column(Integer)
    part_index: Mapped[int] = mapped_column(Integer, default=1)
    part_count: Mapped[int] = mapped_column(Integer, default=1)
    # Indexed for the candidate lookup (issue 16) and erasure by number.
    candidate_id: Mapped[str | None] = mapped_column(String(100), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(16), index=True)
    body: Mapped[str] = mapped_column(Text)
    units: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    client_ref: Mapped[str] = mapped_column(String(64), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_id: Mapped[str | None] = mapped_column(String(128), index=True)
    # Set when the personal data of the row (phone, name, body) was masked: by retention
    # after SMS_PHONE_RETENTION_MONTHS, or by an erasure request (sms_core.sending.retention).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)


# Messages per day (reports.daily_sends; "sends today" on Overview) count each message on
# the time it was sent: accepted, else failed, else queued. Indexed as that very
# expression (with the state the report groups by), a window of days is a range of this
# index instead of a scan of every message ever sent.
Index(
    "ix_message_sent_at",
    func.coalesce(Message.accepted_at, Message.failed_at, Message.created_at),
    Message.state,
)


class MessageCount(Base):
    """How many messages (SMS parts) share a campaign, Japan-time day, state, kind, part and
    acceptance, and their units: what the reports count instead of scanning ``message``.

    Never written by Python: database triggers on ``message`` (migration 0010) keep it in
    the same transaction as every insert, update and delete of a message. ``day`` is the
    Japan-time day of ``coalesce(accepted_at, failed_at, created_at)`` (the day a message
    was sent, as reports.daily_sends counts it); ``kind`` is '' when the message has none;
    ``accepted`` is whether ``accepted_at`` is set. A recipient's text is counted once by
    its last part (``part_index = part_count``).
    """

    __tablename__ = "message_count"
    __table_args__ = (Index(None, "day", "state"),)

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    part_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    part_count: Mapped[int] = mapped_column(Integer, primary_key=True)
    accepted: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)


class Suppression(Base):
    """An opted-out number, never sent to (R3), kept as a keyed hash (issue 13).

    ``phone_hash`` is the hex HMAC-SHA-256 of the national form under ``SMS_OPTOUT_KEY``
    (:mod:`sms_core.rules.optout_hash`); ``phone_tail`` its last 4 digits, what the list
    shows. The number itself is never stored, so an erased number leaves nothing here
    and is still honoured.
    """

    __tablename__ = "suppression"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_tail: Mapped[str] = mapped_column(String(4))

    @property
    def phone(self) -> str:
        """The entry as lists show it: the last 4 digits only (``*******5678``)."""
        return "*" * 7 + self.phone_tail

    reason: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Where the entry came from (issue 12): ``link`` (the candidate's own opt-out link),
    # ``operator`` (typed in by staff) or ``import`` (a file).
    source: Mapped[str] = mapped_column(String(16), default="operator", server_default="operator")


class AuditEvent(Base):
    """Who did what, when. Append-only: the migration adds triggers refusing changes."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    # JSON text, so both backends store it the same way.
    detail: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def details(self) -> dict[str, Any]:
        """``detail`` decoded."""
        return json.loads(self.detail)


def audit(session: Session, actor: str, action: str, **detail: Any) -> AuditEvent:
    """Append an audit event in the caller's transaction (it commits with the change)."""
    event = AuditEvent(
        at=now_utc(),
        actor=actor,
        action=action,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event


class ShortLink(Base):
    """A short URL behind a URL tag, one per recipient and tag (R11).

    Created with its campaign, in the same transaction; the link service (issue 3)
    redirects ``/s/{code}`` to ``target``. The code is random and holds no personal data.
    """

    __tablename__ = "short_link"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(Text)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    recipient_row: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppSetting(Base):
    """A team-wide setting chosen in the dashboard (provider, quiet hours, short URL base).

    Kept in the database so that every process (dashboards, workers, the CLI) sees the
    same choice; the environment variable of the same setting is the default until an
    admin stores one here. Secrets never live here: they come from the environment or
    ``secrets.toml`` only.
    """

    __tablename__ = "app_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class User(Base):
    """Someone who may log in to the dashboard, with one role (admin, operator, analyst).

    ``password_hash`` is an argon2 hash; None for accounts that log in through OpenID
    Connect (``name`` is then their e-mail address). ``failed_logins`` and
    ``locked_until`` slow down password guessing (sms_core.store.users).
    """

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ("admin", "operator", "analyst")), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The user's own mobile (national form): the only number an operator may test-send to.
    phone: Mapped[str | None] = mapped_column(String(16))


class Click(Base):
    """One request for a short link that was redirected (R11, issue 3).

    One row per request: a campaign counts who clicked (``recipient_row``) and when. The
    user agent is kept, truncated, to tell link previewers from people; the client's IP
    address is never stored.
    """

    __tablename__ = "click"
    __table_args__ = (
        # Per campaign and per recipient, first click and count, from this index alone.
        Index(None, "campaign_id", "recipient_row", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), ForeignKey("short_link.code"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    recipient_row: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    # False for HEAD requests and link previewers/scanners (issue 12): recorded, but not
    # counted as a person clicking (click rate, first click).
    human: Mapped[bool] = mapped_column(default=True, server_default=true())


class ReceiptSeen(Base):
    """A delivery receipt the link service accepted, remembered to refuse its replay.

    ``digest`` is the SHA-256 of the receipt's verified signature: a signature covers the
    whole request (and, for shared-secret providers, its signed timestamp), so the same
    signature twice is the same request twice. Only the digest is kept, never the secret
    or the request. Rows older than the replay window are pruned: a request that old is
    refused by its timestamp anyway (Twilio, whose signature has no timestamp, keeps them
    longer; see :mod:`sms_core.linkserver.receipts`).
    """

    __tablename__ = "receipt_seen"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)


class WebSession(Base):
    """A signed-in browser, so a reload keeps its user (issue 15).

    The browser holds a random token in an HttpOnly, SameSite cookie; only its SHA-256 is
    stored. A session begins with a one-time hand-over code (also stored as a digest) that
    the browser exchanges for the cookie within a minute. Sign-out, an idle or absolute
    expiry, and disabling the account end it.
    """

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(200), index=True)
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RateLimit(Base):
    """A provider's send-rate limit, shared by every worker (issue 12).

    ``next_slot`` is the first instant (epoch seconds) not yet given to a send; a worker
    takes ``n`` slots with one conditional UPDATE (see :mod:`sms_core.sending.ratelimit`),
    so all workers together stay within ``rate_per_second``. None: no limit.
    """

    __tablename__ = "rate_limit"

    provider: Mapped[str] = mapped_column(String(32), primary_key=True)
    rate_per_second: Mapped[float | None] = mapped_column(Float)
    next_slot: Mapped[float] = mapped_column(Float, default=0.0)


class Notification(Base):
    """One team chat notification (issue 16): an event, notified once.

    ``(event, subject)`` is unique — e.g. ``("campaign_finished", "42")`` or
    ``("quota_low", "2026-12")`` — so however many workers see the event, one row claims
    it. ``text`` is what was posted: counts and campaign names, never a phone number.
    """

    __tablename__ = "notification"
    __table_args__ = (
        CheckConstraint(_in("state", NOTIFICATION_STATES), name="state"),
        UniqueConstraint("event", "subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ComposerAutosave(Base):
    """A user's unfinished New send, so a reload or a new browser session finds it (issue 15).

    One row per user. ``roster`` holds the uploaded file's bytes (personal data): the row
    lives at most 24 hours from its roster's upload (``expires_at``, enforced on read,
    expired rows deleted on every write), is deleted when its send is confirmed or a new
    send is started, and an erasure deletes every autosave that holds a roster.
    ``choices`` is JSON text: body, column mapping, narrowing, schedule, send name.
    """

    __tablename__ = "composer_autosave"

    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    choices: Mapped[str] = mapped_column(Text, default="{}")
    roster_name: Mapped[str | None] = mapped_column(String(255))
    roster: Mapped[bytes | None] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
