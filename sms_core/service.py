"""One object the dashboard's pages call: every action and read, each in its own transaction.

Pages hold a :class:`SmsService` (cached once per process, as the Engine it wraps) and
never see a session or SQL. The CLI calls the underlying modules directly; both end in
the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.demo import showcase
from sms_core.errors import AccessError
from sms_core.roles import SYSTEM, Principal
from sms_core.rules.preview import Preview, PreviewCache
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import (
    CampaignInfo,
    cancel_campaign,
    confirm_campaign,
    link_retention_days,
)
from sms_core.sending.contract import contract_end, get_contract, set_contract
from sms_core.sending.retention import Erasure, erase_phone
from sms_core.sending.send_case import (
    NO_QUIET_HOURS,
    SendDraft,
    confirm_send,
    draft_send,
    draft_test_send,
)
from sms_core.store import app_settings, audit_trail, composer_autosave, users, web_sessions
from sms_core.store.audit_trail import AuditView
from sms_core.store.db import make_engine, read_only, transaction, upgrade
from sms_core.store.models import Campaign, Message, audit
from sms_core.store.suppression import add_optout, import_optouts_bytes, list_optouts, remove_optout
from sms_core.store.templates import (
    delete_draft,
    delete_template,
    list_drafts,
    list_templates,
    save_draft,
    save_template,
)


@dataclass(frozen=True, slots=True)
class ContractView:
    """The contract as pages show it."""

    monthly_units: int
    start_month: date
    end_month: date
    months: int
    sender_mode: str
    sender_number: str


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as the Settings page lists them."""

    name: str
    role: str
    disabled: bool
    oidc: bool
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    """A campaign's messages per state, for a progress bar (R15)."""

    campaign_id: int
    state: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        """All messages of the campaign."""
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        """Messages the worker has finished with (any state but queued/sending)."""
        return self.total - self.counts.get("queued", 0) - self.counts.get("sending", 0)


class SmsService:
    """The product's actions and reads over one database."""

    def __init__(self, engine: Engine, principal: Principal = SYSTEM) -> None:
        self.engine = engine
        # Reports and listings read through this one: on SQLite they never wait for
        # the worker's write lock.
        self.reader = read_only(engine)
        # Who acts: every state-changing call checks this role (sms_core.roles) and
        # records this name in the audit trail, whatever ``actor`` a caller passes.
        self.principal = principal

    def for_user(self, principal: Principal) -> SmsService:
        """The same service (same engine and pool) acting as ``principal``."""
        return SmsService(self.engine, principal)

    def _who(self, permission: str, actor: str | None = None) -> str:
        """Check ``permission``; the name to audit (the principal's, unless the system's)."""
        self.principal.require(permission)
        if self.principal is SYSTEM and actor:
            return actor
        return self.principal.name

    @classmethod
    def from_env(cls) -> SmsService:
        """Connect to ``SMS_DATABASE_URL`` (default: data/sms.db) and migrate it."""
        engine = make_engine()
        upgrade(engine)
        return cls(engine)

    @property
    def provider_name(self) -> str:
        """The provider new sends go through (Settings, else ``SMS_PROVIDER``)."""
        return app_settings.provider_in_use(self.engine)

    # login and users (issue 4)
    def login(self, name: str, password: str) -> tuple[SmsService, bool]:
        """Check a name and password; the service acting as that user, and whether the
        password must be changed first. AccessError when refused (the attempt is recorded
        and audited either way, and repeated failures slow the account down)."""
        with transaction(self.engine) as s:
            attempt = users.authenticate(s, name, password)
        return self.for_user(attempt.raise_if_refused()), attempt.must_change_password

    def login_identity(self, email: str | None) -> SmsService:
        """The service acting as someone signed in through OpenID Connect (st.login)."""
        with transaction(self.engine) as s:
            attempt = users.principal_for_identity(s, email)
        return self.for_user(attempt.raise_if_refused())

    # --- demo data (issue 15) ----------------------------------------------------------------

    def demo_present(self) -> bool:
        """Whether the history holds the demo data ``make run`` seeds (pages label it)."""
        with transaction(self.reader) as s:
            return showcase.demo_present(s)

    def clear_demo(self) -> showcase.DemoCleared:
        """Remove the demo data (an admin's action, audited); a team's own data stays."""
        who = self._who("settings")
        with transaction(self.engine) as s:
            return showcase.clear_demo(s, actor=who)

    # --- browser sessions that survive a reload (issue 15) ---------------------------------

    #: The cookie that carries a browser session's token (set only by app.py's routes).
    SESSION_COOKIE = web_sessions.COOKIE_NAME

    @staticmethod
    def web_session_max_age() -> int:
        """Seconds a session cookie may live at most (the session's absolute expiry)."""
        return int(web_sessions.max_age().total_seconds())

    def begin_web_session(self) -> tuple[int, str]:
        """Begin a browser session for the signed-in user: its id and the one-time code the
        browser trades for its cookie at ``/session/start``."""
        if self.principal is SYSTEM:
            raise AccessError("sign in first")
        with transaction(self.engine) as s:
            return web_sessions.begin(s, self.principal.name)

    def redeem_web_session(self, code: str) -> str | None:
        """The cookie's token for a fresh hand-over code (once), or None."""
        with transaction(self.engine) as s:
            return web_sessions.redeem(s, code)

    def resume_web_session(self, token: str | None) -> tuple[int, Principal] | None:
        """The session id and the user (with their current role) behind a cookie's token,
        while the session is live and the account enabled; else None."""
        with transaction(self.engine) as s:
            resumed = web_sessions.resume(s, token)
        if resumed is None:
            return None
        return resumed.session_id, Principal(resumed.user_name, resumed.role)

    def web_session_user(self, session_id: int) -> Principal | None:
        """The user of a live session now (re-read: a disabled account ends it, a changed
        role applies at once); None when it has ended."""
        with transaction(self.reader) as s:
            resumed = web_sessions.check(s, session_id)
        return None if resumed is None else Principal(resumed.user_name, resumed.role)

    def end_web_session(self, *, session_id: int | None = None, token: str | None = None) -> None:
        """Sign a browser out: its session is revoked (by id, or by its cookie's token)."""
        with transaction(self.engine) as s:
            web_sessions.end(s, session_id=session_id, token=token)

    def change_password(self, old: str, new: str) -> None:
        """Change the acting user's own password."""
        with transaction(self.engine) as s:
            users.change_password(s, self.principal.name, old, new)

    def users(self) -> list:
        """Every user (names, roles, state; never a hash)."""
        self.principal.require("users")
        with transaction(self.reader) as s:
            return [
                UserView(u.name, u.role, u.disabled, u.password_hash is None, u.last_login_at)
                for u in users.list_users(s)
            ]

    def add_user(self, name: str, role: str, *, oidc: bool = False) -> str | None:
        """Create a user; returns the one-time password to hand over (None for OIDC)."""
        who = self._who("users")
        with transaction(self.engine) as s:
            return users.add_user(s, name, role, actor=who, oidc=oidc)[1]

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable a user."""
        who = self._who("users")
        with transaction(self.engine) as s:
            users.set_disabled(s, name, disabled, actor=who)
            if disabled:
                web_sessions.end_all(s, name)

    # audit trail, exports, erasure (issue 4)
    def audit_events(
        self, limit: int = 100, offset: int = 0, *, action: str | None = None
    ) -> list[AuditView]:
        """A page of the audit trail, newest first (admins only)."""
        self.principal.require("audit")
        return audit_trail.events(self.reader, limit, offset, action=action)

    def audit_csv(self, *, action: str | None = None) -> bytes:
        """The whole audit trail (or one action's events) as CSV; the export is audited."""
        who = self._who("audit")
        data = audit_trail.csv(self.reader, action=action)
        with transaction(self.engine) as s:
            audit(s, who, "export.audit", only=action)
        return data

    def export_messages(self, campaign_id: int, **filters: str | None) -> bytes:
        """A campaign's messages with their clicks as CSV (numbers masked but the last 4
        digits); each export is audited."""
        from sms_core import reports
        from sms_core.rules.export import frame_csv_bytes

        who = self._who("read")
        frame = reports.campaign_messages(
            self.reader, campaign_id, limit=None, clicks=True, **filters
        )
        with transaction(self.engine) as s:
            audit(s, who, "export.messages", campaign=campaign_id, rows=len(frame))
        return frame_csv_bytes(frame)

    def erase_phone(self, number: str) -> Erasure:
        """Erase a candidate's data from the message history (admins only)."""
        who = self._who("users")
        with transaction(self.engine) as s:
            return erase_phone(s, number, actor=who)

    def preview(self, cache: PreviewCache, data, name: str, body: str, **options) -> Preview:
        """Preview an uploaded roster (operators and admins: it holds personal data)."""
        self.principal.require("preview")
        return cache.preview(data, name, body, **options)

    # team-wide settings (issue 6)
    def settings(self) -> dict[str, app_settings.EffectiveSetting]:
        """Provider, quiet hours and short URL base in use, each with where it comes from."""
        with transaction(self.reader) as s:
            return app_settings.effective_all(s)

    def set_setting(self, key: str, value: str, *, actor: str) -> app_settings.EffectiveSetting:
        """Store a team-wide setting after checking it (audited)."""
        who = self._who("settings", actor)
        with transaction(self.engine) as s:
            return app_settings.set_setting(s, key, value, actor=who)

    def reset_setting(self, key: str, *, actor: str) -> bool:
        """Return a setting to its environment variable (audited); False if none was stored."""
        who = self._who("settings", actor)
        with transaction(self.engine) as s:
            return app_settings.reset_setting(s, key, actor=who)

    def short_url_base(self) -> str:
        """The short URL base previews count and sends create links under."""
        return app_settings.short_url_base_in_use(self.engine)

    def quiet_hours(self) -> QuietHours:
        """The quiet hours new sends respect."""
        return app_settings.quiet_hours_in_use(self.engine)

    # contract and quota (R16–R20)
    def contract(self) -> ContractView | None:
        """The contract, or None when there is none (the SMS pages are then hidden)."""
        with transaction(self.reader) as s:
            c = get_contract(s)
            if c is None:
                return None
            return ContractView(
                c.monthly_units,
                c.start_month,
                contract_end(c),
                c.months,
                c.sender_mode,
                c.sender_number,
            )

    def set_contract(
        self,
        monthly_units: int,
        start_month: date,
        months: int,
        sender_mode: str,
        sender_number: str | None,
        *,
        actor: str,
    ) -> None:
        """Create or change the contract (≥ 3 months)."""
        who = self._who("contract", actor)
        with transaction(self.engine) as s:
            set_contract(
                s, monthly_units, start_month, months, sender_mode, sender_number, actor=who
            )

    def quota(self, month: date | None = None) -> quota.QuotaStatus:
        """Cap, used, reserved and remaining units of ``month`` (default: this month)."""
        with transaction(self.reader) as s:
            return quota.remaining(s, month or quota.current_month())

    # opt-outs, templates, drafts (R3, R12)
    def optouts(self) -> list:
        """Every opt-out entry, newest first (full numbers)."""
        self.principal.require("optouts")
        with transaction(self.reader) as s:
            return list_optouts(s)

    def add_optout(self, number: str, reason: str | None, *, actor: str) -> bool:
        """Add a number; False when it was already there."""
        who = self._who("optouts", actor)
        with transaction(self.engine) as s:
            return add_optout(s, number, reason, actor=who)[1]

    def remove_optout(self, number: str, *, actor: str) -> bool:
        """Remove a number; False when it was not there."""
        who = self._who("optouts", actor)
        with transaction(self.engine) as s:
            return remove_optout(s, number, actor=who)

    def import_optouts(self, data: bytes, name: str, *, actor: str):
        """Add every number of an uploaded text/CSV file, all or nothing."""
        who = self._who("optouts", actor)
        with transaction(self.engine) as s:
            return import_optouts_bytes(s, data, name, actor=who)

    def templates(self) -> list:
        """Saved templates, by name."""
        with transaction(self.reader) as s:
            return list_templates(s)

    def save_template(self, name: str, body: str, *, actor: str) -> None:
        """Save ``body`` under ``name`` (replacing a template of that name)."""
        who = self._who("templates", actor)
        with transaction(self.engine) as s:
            save_template(s, name, body, actor=who)

    def delete_template(self, name: str, *, actor: str) -> None:
        """Delete a template."""
        who = self._who("templates", actor)
        with transaction(self.engine) as s:
            delete_template(s, name, actor=who)

    def drafts(self) -> list:
        """Saved drafts, newest first."""
        with transaction(self.reader) as s:
            return list_drafts(s)

    def save_draft(self, title: str, body: str, draft_id: int | None = None) -> int:
        """Save a draft (a new one, or ``draft_id`` again); returns its id."""
        self.principal.require("templates")
        with transaction(self.engine) as s:
            return save_draft(s, title, body, draft_id).id

    def delete_draft(self, draft_id: int) -> None:
        """Delete a draft."""
        self.principal.require("templates")
        with transaction(self.engine) as s:
            delete_draft(s, draft_id)

    # campaigns (R13–R15)
    def confirm(
        self,
        preview: Preview,
        *,
        name: str,
        key: str,
        actor: str,
        send_at: datetime | None = None,
        rows: Sequence[int] | None = None,
        quiet_policy: str = "refuse",
        urgent_reason: str | None = None,
        template_name: str | None = None,
    ) -> CampaignInfo:
        """Confirm a send; the same ``key`` (one confirm dialog) never creates two."""
        who = self._who("send", actor)
        return confirm_campaign(
            self.engine,
            preview,
            name=name,
            idempotency_key=key,
            actor=who,
            provider=self.provider_name,
            send_at=send_at,
            rows=rows,
            quiet_policy=quiet_policy,
            urgent_reason=urgent_reason,
            template_name=template_name,
        )

    def progress(self, campaign_id: int) -> Progress:
        """Messages per state of a campaign, read fresh (the dashboard follows it live)."""
        with transaction(self.reader) as s:
            campaign = s.get(Campaign, campaign_id)
            counts = dict(
                s.execute(
                    select(Message.state, func.count())
                    .where(Message.campaign_id == campaign_id)
                    .group_by(Message.state)
                ).all()
            )
            return Progress(campaign_id, campaign.state if campaign else "missing", counts)

    def cancel(self, campaign_id: int, *, actor: str) -> CampaignInfo:
        """Cancel a scheduled or sending campaign, releasing its unsent units."""
        return cancel_campaign(self.engine, campaign_id, actor=self._who("send", actor))

    def link_retention_days(self) -> int:
        """How many days short links keep redirecting after a send (SMS_LINK_RETENTION_DAYS)."""
        return link_retention_days()

    def now(self) -> datetime:
        """The current time (UTC), one clock for every page."""
        return now_utc()

    # ---- the one send use case (issue 11): draft, then confirm ------------------------
    # New send, the CLI ``send`` and the test send call these and nothing else; the
    # use case itself lives in sms_core.sending.send_case.
    def draft_send(self, roster, roster_name: str | None = None, **choices) -> SendDraft:
        """Draft a send of ``roster`` (bytes, a path, or a function returning the bytes):
        per-recipient rows, counts, cost, the quota of the month it goes out in, quiet
        hours, link expiry, the sender number and the idempotency key. See
        :func:`sms_core.sending.send_case.draft_send` for ``choices``. Operators and
        admins only: a roster holds personal data."""
        self.principal.require("preview")
        return draft_send(self.engine, roster=roster, roster_name=roster_name, **choices)

    def confirm_send(self, draft: SendDraft, *, actor: str) -> CampaignInfo:
        """Confirm ``draft`` as one campaign in one transaction; its key never makes two.

        The user's New send autosave (its roster is personal data) is deleted once the
        campaign exists: the work it kept has become the campaign."""
        who = self._who("send", actor)
        info = confirm_send(self.engine, draft, actor=who)
        self.clear_composer_autosave()
        return info

    # ---- New send's autosave (issue 15): the composer survives a reload ---------------
    def composer_autosave(self) -> composer_autosave.Autosave | None:
        """The signed-in user's unfinished New send, unless none or expired (24 hours)."""
        self.principal.require("preview")
        with transaction(self.engine) as s:
            return composer_autosave.load(s, self.principal.name)

    def autosave_composer(self, choices: dict) -> None:
        """Keep the composer's choices (JSON values) for the signed-in user."""
        self.principal.require("preview")
        with transaction(self.engine) as s:
            composer_autosave.save_choices(s, self.principal.name, choices)

    def autosave_roster(self, name: str | None, data: bytes | None) -> None:
        """Keep the roster the signed-in user composes with (None: none), for 24 hours."""
        self.principal.require("preview")
        with transaction(self.engine) as s:
            composer_autosave.save_roster(s, self.principal.name, name, data)

    def clear_composer_autosave(self) -> None:
        """Forget the signed-in user's autosaved New send (a new send is started)."""
        with transaction(self.engine) as s:
            composer_autosave.clear(s, self.principal.name)

    def test_send(self, number: str, body: str, *, key: str, actor: str) -> CampaignInfo:
        """Send ``body`` to one mobile number now, as a campaign of one (no quiet hours)."""
        who = self._who("test_send", actor)
        draft = draft_test_send(self.engine, number, body, key=key)
        return confirm_send(self.engine, draft, actor=who, quiet=NO_QUIET_HOURS)

    def draft_cache(self) -> PreviewCache:
        """A new cache for one New send form: the roster is read and judged once, and a
        changed body is only re-costed."""
        return PreviewCache()

    def roster_columns(self, data: bytes, name: str) -> RosterColumns:
        """The roster's headers and the field each is guessed to hold (the mapping editor)."""
        from sms_core.rules.roster import FIELD_HEADERS, guess_fields, read_headers

        self.principal.require("preview")
        headers = read_headers(data, name)
        return RosterColumns(
            headers, guess_fields(headers), {f: labels for f, labels in FIELD_HEADERS.items()}
        )

    def body_counter(self, body: str) -> BodyCount:
        """Characters, units and carrier segments of a body's own text, tags left out."""
        from sms_core.rules.text import cost_of_body

        cost = cost_of_body(body)
        return BodyCount(cost.chars, cost.units, cost.segments)

    def japan_time(self, instant: datetime) -> str:
        """An instant as Japan time, ``2026/12/01 10:00``."""
        from sms_core.rules.schedule import JST

        return instant.astimezone(JST).strftime("%Y/%m/%d %H:%M")

    def japan_today(self) -> date:
        """Today's date in Japan time, by the product clock."""
        from sms_core.rules.schedule import JST

        return now_utc().astimezone(JST).date()

    def japan_instant(self, day: date, at: time) -> datetime:
        """The aware instant of ``day`` at ``at`` read as Japan time."""
        from sms_core.rules.schedule import JST

        return datetime.combine(day, at, tzinfo=JST)


@dataclass(frozen=True, slots=True)
class RosterColumns:
    """A roster's headers, the fields guessed from them, and every field's labels."""

    headers: list[str]
    guessed: dict[str, str]
    fields: dict[str, tuple[str, str]]  # field → (Japanese header, English id)


@dataclass(frozen=True, slots=True)
class BodyCount:
    """The composer's live counter (R6, R7, R9)."""

    chars: int
    units: int
    segments: int
