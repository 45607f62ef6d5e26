"""One object the dashboard's pages call: every action and read, each in its own transaction.

Pages hold a :class:`SmsService` (cached once per process, as the Engine it wraps) and
never see a session or SQL. The CLI calls the underlying modules directly; both end in
the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Unpack

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.demo import showcase
from sms_core.errors import AccessError, InputError
from sms_core.roles import SYSTEM, Principal
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import (
    CampaignInfo,
    cancel_campaign,
    link_retention_days,
)
from sms_core.sending.contract import (
    active_contract,
    contract_end,
    contract_has_ended,
    get_contract,
    set_contract,
)
from sms_core.sending.retention import Erasure, erase_at_providers, erase_phone
from sms_core.service_ops import MessageFilters, OpsTools
from sms_core.store import app_settings, composer_autosave, users, web_sessions
from sms_core.store.db import make_engine, read_only, transaction, upgrade
from sms_core.store.models import MESSAGE_STATES, Campaign, Message, audit
from sms_core.store.suppression import (
    add_optout,
    import_optouts_bytes,
    list_optouts,
    remove_optout,
    uses_development_key,
)
from sms_core.store.templates import (
    delete_draft,
    delete_template,
    get_draft,
    list_drafts,
    list_templates,
    promote_draft,
    save_draft,
    save_template,
)

if TYPE_CHECKING:
    # Imported where used (pandas, pyarrow): the command line's quick commands build a
    # service too, and must not load them on start.
    from sms_core.rules.preview import PreviewCache
    from sms_core.sending.send_case import SendDraft
    from sms_core.store.audit_trail import AuditView

# What a session whose account was disabled or removed meanwhile is told at its next action.
REFUSED_SESSION = "this account has been disabled; ask an admin"


@dataclass(frozen=True, slots=True)
class ContractView:
    """The contract as pages show it."""

    monthly_units: int
    start_month: date
    end_month: date
    months: int
    sender_mode: str
    sender_number: str
    # R16: a contract whose last month is over counts as no contract.
    ended: bool = False


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


class SmsService(OpsTools):
    """The product's actions and reads over one database (issue 16's tools: OpsTools)."""

    def __init__(self, engine: Engine, principal: Principal = SYSTEM) -> None:
        self._engine = engine
        # Reports and listings read through this one: on SQLite they never wait for
        # the worker's write lock.
        self._reader = read_only(engine)
        # Who acts: every state-changing call checks this role (sms_core.roles) and
        # records this name in the audit trail, whatever ``actor`` a caller passes.
        self._principal = principal

    @property
    def principal(self) -> Principal:
        """Who acts, as the database has them now (re-read at every use).

        A page keeps the principal of its sign-in for the whole browser session; reading
        the account again here means a user disabled or demoted by an admin loses the
        rights at their next action (AccessError once disabled), not at their
        next sign-in. The system principal (CLI, scripts) is not a stored account.
        """
        if self._principal is SYSTEM:
            return SYSTEM
        with transaction(self._reader) as s:
            current = users.current_principal(s, self._principal)
        if current is None:
            raise AccessError(REFUSED_SESSION, key="session.disabled")
        return current

    def for_user(self, principal: Principal) -> SmsService:
        """The same service (same engine and pool) acting as ``principal``."""
        return SmsService(self._engine, principal)

    def _who(self, permission: str, actor: str | None = None) -> str:
        """Check ``permission``; the name to audit (the principal's, unless the system's)."""
        principal = self.principal  # one read of the account per action
        principal.require(permission)
        if principal is SYSTEM and actor:
            return actor
        return principal.name

    def database_engine(self) -> Engine:
        """The Engine behind the service, for tests, benchmarks, the launcher and tools
        that seed or inspect a database. Never for pages: they read and act through the
        methods below, which check the role (tests/app/test_page_imports.py)."""
        return self._engine

    @classmethod
    def from_env(cls) -> SmsService:
        """Connect to ``SMS_DATABASE_URL`` (default: data/sms.db) and migrate it."""
        engine = make_engine()
        upgrade(engine)
        return cls(engine)

    @property
    def provider_name(self) -> str:
        """The provider new sends go through (Settings, else ``SMS_PROVIDER``)."""
        return app_settings.provider_in_use(self._engine)

    # login and users (issue 4)
    def login(self, name: str, password: str) -> tuple[SmsService, bool]:
        """Check a name and password; the service acting as that user, and whether the
        password must be changed first. AccessError when refused (the attempt is recorded
        and audited either way, and repeated failures slow the account down)."""
        # Read, verify, record: the argon2 check (~0.1 s on purpose) runs outside any
        # transaction, so SQLite's write lock is held only for the short record.
        with transaction(self._reader) as s:
            account = users.find_account(s, name)
        matches, rehash = users.check_password(account, password)
        checked = account.password_hash if account else None
        with transaction(self._engine) as s:
            attempt = users.record_attempt(s, account, checked, matches, rehash=rehash)
        return self.for_user(attempt.raise_if_refused()), attempt.must_change_password

    def login_identity(self, email: str | None) -> SmsService:
        """The service acting as someone signed in through OpenID Connect (st.login)."""
        with transaction(self._engine) as s:
            attempt = users.principal_for_identity(s, email)
        return self.for_user(attempt.raise_if_refused())

    # --- demo data (issue 15) ----------------------------------------------------------------

    def demo_present(self) -> bool:
        """Whether the history holds the demo data ``make run`` seeds (pages label it)."""
        with transaction(self._reader) as s:
            return showcase.demo_present(s)

    def optout_key_is_development(self) -> bool:
        """Whether opt-outs are hashed with the published development key
        (``SMS_OPTOUT_KEY`` unset): fine for the demo, never for a team's own data."""
        self._who("settings")
        return uses_development_key()

    def clear_demo(self) -> showcase.DemoCleared:
        """Remove the demo data (an admin's action, audited); a team's own data stays."""
        who = self._who("settings")
        with transaction(self._engine) as s:
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
            raise AccessError("sign in first", key="session.signed_out")
        with transaction(self._engine) as s:
            return web_sessions.begin(s, self.principal.name)

    def redeem_web_session(self, code: str) -> str | None:
        """The cookie's token for a fresh hand-over code (once), or None."""
        with transaction(self._engine) as s:
            return web_sessions.redeem(s, code)

    def resume_web_session(self, token: str | None) -> tuple[int, Principal] | None:
        """The session id and the user (with their current role) behind a cookie's token,
        while the session is live and the account enabled; else None."""
        with transaction(self._engine) as s:
            resumed = web_sessions.resume(s, token)
        if resumed is None:
            return None
        return resumed.session_id, Principal(resumed.user_name, resumed.role)

    def web_session_user(self, session_id: int) -> Principal | None:
        """The user of a live session now (re-read: a disabled account ends it, a changed
        role applies at once); None when it has ended."""
        with transaction(self._reader) as s:
            resumed = web_sessions.check(s, session_id)
        return None if resumed is None else Principal(resumed.user_name, resumed.role)

    def end_web_session(self, *, session_id: int | None = None, token: str | None = None) -> None:
        """Sign a browser out: its session is revoked (by id, or by its cookie's token)."""
        with transaction(self._engine) as s:
            web_sessions.end(s, session_id=session_id, token=token)

    def change_password(self, old: str, new: str) -> None:
        """Change the acting user's own password."""
        name = self.principal.name
        with transaction(self._engine) as s:
            users.change_password(s, name, old, new)

    def users(self) -> list:
        """Every user (names, roles, state; never a hash)."""
        self.principal.require("users")
        with transaction(self._reader) as s:
            return [
                UserView(u.name, u.role, u.disabled, u.password_hash is None, u.last_login_at)
                for u in users.list_users(s)
            ]

    def add_user(self, name: str, role: str, *, oidc: bool = False) -> str | None:
        """Create a user; returns the one-time password to hand over (None for OIDC)."""
        who = self._who("users")
        with transaction(self._engine) as s:
            return users.add_user(s, name, role, actor=who, oidc=oidc)[1]

    def set_user_disabled(self, name: str, disabled: bool) -> None:
        """Disable or enable a user."""
        who = self._who("users")
        with transaction(self._engine) as s:
            users.set_disabled(s, name, disabled, actor=who)
            if disabled:
                web_sessions.end_all(s, name)

    # audit trail, exports, erasure (issue 4)
    def audit_events(
        self, limit: int = 100, offset: int = 0, *, action: str | None = None
    ) -> list[AuditView]:
        """A page of the audit trail, newest first (admins only)."""
        from sms_core.store import audit_trail

        self.principal.require("audit")
        return audit_trail.events(self._reader, limit, offset, action=action)

    def audit_csv(self, *, action: str | None = None, lang: str | None = None) -> bytes:
        """The whole audit trail (or one action's events) as CSV; the export is audited.

        ``lang`` (``ja``/``en``) gives the people's version: headers, event names and
        details in that language, times as ``2026/12/01 10:00`` Japan time; without it
        the stable codes and UTC instants of the record."""
        from sms_core.store import audit_trail

        who = self._who("audit")
        if lang is None:
            data = audit_trail.csv(self._reader, action=action)
        else:
            data = self._audit_csv_people(action, lang)
        with transaction(self._engine) as s:
            audit(s, who, "export.audit", only=action)
        return data

    def _audit_csv_people(self, action: str | None, lang: str) -> bytes:
        import pandas as pd

        from sms_core.i18n import audit_action, audit_detail, display_time, t
        from sms_core.rules.export import frame_csv_bytes
        from sms_core.store import audit_trail

        rows = []
        offset = 0
        while True:  # page through the trail: an export holds every event
            events = audit_trail.events(self._reader, 1000, offset, action=action)
            rows += [
                {
                    t("audit.at", lang): display_time(e.at),
                    t("audit.actor", lang): e.actor,
                    t("audit.what", lang): audit_action(e.action, lang),
                    t("audit.detail", lang): audit_detail(e.detail, lang),
                }
                for e in events
            ]
            if len(events) < 1000:
                break
            offset += 1000
        columns = [t(k, lang) for k in ("audit.at", "audit.actor", "audit.what", "audit.detail")]
        return frame_csv_bytes(pd.DataFrame(rows, columns=columns))

    def export_messages(
        self, campaign_id: int, *, lang: str | None = None, **filters: Unpack[MessageFilters]
    ) -> bytes:
        """A campaign's messages with their clicks as CSV (numbers masked but the last 4
        digits); each export is audited. ``lang`` (``ja``/``en``) gives the people's
        version (headers and values in that language, Japan times as ``2026/12/01
        10:00``, the provider's own reason kept next to the word); without it the
        report's own columns and codes."""
        from sms_core import reports
        from sms_core.rules.export import frame_csv_bytes

        who = self._who("read")
        frame = reports.campaign_messages(
            self._reader, campaign_id, limit=None, clicks=True, **filters
        )
        with transaction(self._engine) as s:
            audit(s, who, "export.messages", campaign=campaign_id, rows=len(frame))
        if lang is not None:
            from sms_core.reports.labels import labelled

            frame = labelled(frame, "messages_export", lang)
        return frame_csv_bytes(frame)

    def erase_phone(self, number: str) -> Erasure:
        """Erase a candidate's data from the message history (admins only)."""
        who = self._who("users")
        with transaction(self._engine) as s:
            done = erase_phone(s, number, actor=who)
        # After the commit: deleting the providers' copies is a network call each.
        erase_at_providers(done)
        return done

    # team-wide settings (issue 6)
    def settings(self) -> dict[str, app_settings.EffectiveSetting]:
        """Provider, quiet hours and short URL base in use, each with where it comes from."""
        self.principal.require("read")
        with transaction(self._reader) as s:
            return app_settings.effective_all(s)

    def set_setting(self, key: str, value: str, *, actor: str) -> app_settings.EffectiveSetting:
        """Store a team-wide setting after checking it (audited)."""
        who = self._who("settings", actor)
        with transaction(self._engine) as s:
            return app_settings.set_setting(s, key, value, actor=who)

    def reset_setting(self, key: str, *, actor: str) -> bool:
        """Return a setting to its environment variable (audited); False if none was stored."""
        who = self._who("settings", actor)
        with transaction(self._engine) as s:
            return app_settings.reset_setting(s, key, actor=who)

    def short_url_base(self) -> str:
        """The short URL base previews count and sends create links under."""
        return app_settings.short_url_base_in_use(self._engine)

    def quiet_hours(self) -> QuietHours:
        """The quiet hours new sends respect."""
        return app_settings.quiet_hours_in_use(self._engine)

    # contract and quota (R16–R20)
    def contract(self) -> ContractView | None:
        """The contract, or None when there was never one (``ended`` tells whether it is
        over; see :meth:`active_contract`)."""
        self.principal.require("read")
        with transaction(self._reader) as s:
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
                contract_has_ended(c),
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
        with transaction(self._engine) as s:
            set_contract(
                s, monthly_units, start_month, months, sender_mode, sender_number, actor=who
            )

    def quota(self, month: date | None = None) -> quota.QuotaStatus:
        """Cap, used, reserved and remaining units of ``month`` (default: this month)."""
        self.principal.require("read")
        with transaction(self._reader) as s:
            return quota.remaining(s, month or quota.current_month())

    # opt-outs, templates, drafts (R3, R12)
    def optouts(self) -> list:
        """Every opt-out entry, newest first (full numbers)."""
        self.principal.require("optouts")
        with transaction(self._reader) as s:
            return list_optouts(s)

    def add_optout(self, number: str, reason: str | None, *, actor: str) -> bool:
        """Add a number; False when it was already there."""
        who = self._who("optouts", actor)
        with transaction(self._engine) as s:
            return add_optout(s, number, reason, actor=who)[1]

    def remove_optout(self, number: str, *, actor: str) -> bool:
        """Remove a number; False when it was not there."""
        who = self._who("optouts", actor)
        with transaction(self._engine) as s:
            return remove_optout(s, number, actor=who)

    def import_optouts(self, data: bytes, name: str, *, actor: str):
        """Add every number of an uploaded text/CSV file, all or nothing."""
        who = self._who("optouts", actor)
        with transaction(self._engine) as s:
            return import_optouts_bytes(s, data, name, actor=who)

    def templates(self) -> list:
        """Saved templates, by name."""
        self.principal.require("read")
        with transaction(self._reader) as s:
            return list_templates(s)

    def save_template(self, name: str, body: str, *, actor: str) -> None:
        """Save ``body`` under ``name`` (replacing a template of that name)."""
        who = self._who("templates", actor)
        with transaction(self._engine) as s:
            save_template(s, name, body, actor=who)

    def delete_template(self, name: str, *, actor: str) -> None:
        """Delete a template."""
        who = self._who("templates", actor)
        with transaction(self._engine) as s:
            delete_template(s, name, actor=who)

    def drafts(self) -> list:
        """Saved drafts, newest first."""
        self.principal.require("templates")
        with transaction(self._reader) as s:
            return list_drafts(s)

    def save_draft(self, title: str, body: str, draft_id: int | None = None) -> int:
        """Save a draft; returns its id. With ``draft_id`` (the draft that was loaded) that
        draft is updated instead of a new one being made (R12)."""
        self.principal.require("templates")
        with transaction(self._engine) as s:
            return save_draft(s, title, body, draft_id).id

    def draft(self, draft_id: int):
        """One draft (title, body), to load it into the composer."""
        self.principal.require("templates")
        with transaction(self._reader) as s:
            draft = get_draft(s, draft_id)
            s.expunge(draft)
            return draft

    def promote_draft(
        self,
        draft_id: int,
        name: str | None = None,
        *,
        body: str | None = None,
        overwrite: bool = False,
        actor: str | None = None,
    ):
        """Turn a draft into a template (and remove the draft), in one transaction. A
        template of the same name is refused (TemplateExistsError) unless ``overwrite``."""
        who = self._who("templates", actor)
        with transaction(self._engine) as s:
            template = promote_draft(s, draft_id, name, body=body, overwrite=overwrite, actor=who)
            s.flush()
            s.expunge(template)
            return template

    def delete_draft(self, draft_id: int) -> None:
        """Delete a draft."""
        self.principal.require("templates")
        with transaction(self._engine) as s:
            delete_draft(s, draft_id)

    # campaigns (R13–R15): created only through the one send use case below
    @staticmethod
    def suggests_optout(body: str) -> bool:
        """Whether New send should suggest the opt-out link tag ``{{optout}}`` (issue 12)."""
        from sms_core.rules.tags import suggests_optout

        return suggests_optout(body or "")

    def progress(self, campaign_id: int) -> Progress:
        """Messages per state of a campaign, read fresh (the dashboard follows it live)."""
        self.principal.require("read")
        with transaction(self._reader) as s:
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
        return cancel_campaign(self._engine, campaign_id, actor=self._who("send", actor))

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
        from sms_core.sending.send_case import draft_send

        self.principal.require("preview")
        return draft_send(self._engine, roster=roster, roster_name=roster_name, **choices)

    def confirm_send(self, draft: SendDraft, *, actor: str) -> CampaignInfo:
        """Confirm ``draft`` as one campaign in one transaction; its key never makes two.

        The user's New send autosave (its roster is personal data) is deleted once the
        campaign exists: the work it kept has become the campaign."""
        from sms_core.sending.send_case import confirm_send

        who = self._who("send", actor)
        info = confirm_send(self._engine, draft, actor=who)
        self.clear_composer_autosave()
        return info

    # ---- New send's autosave (issue 15): the composer survives a reload ---------------
    def composer_autosave(self) -> composer_autosave.Autosave | None:
        """The signed-in user's unfinished New send, unless none or expired (24 hours)."""
        self.principal.require("preview")
        with transaction(self._engine) as s:
            return composer_autosave.load(s, self.principal.name)

    def autosave_composer(self, choices: dict) -> None:
        """Keep the composer's choices (JSON values) for the signed-in user."""
        self.principal.require("preview")
        with transaction(self._engine) as s:
            composer_autosave.save_choices(s, self.principal.name, choices)

    def autosave_roster(self, name: str | None, data: bytes | None) -> None:
        """Keep the roster the signed-in user composes with (None: none), for 24 hours."""
        self.principal.require("preview")
        with transaction(self._engine) as s:
            composer_autosave.save_roster(s, self.principal.name, name, data)

    def clear_composer_autosave(self) -> None:
        """Forget the signed-in user's autosaved New send (a new send is started)."""
        with transaction(self._engine) as s:
            composer_autosave.clear(s, self.principal.name)

    def test_send(self, number: str, body: str, *, key: str, actor: str) -> CampaignInfo:
        """Send ``body`` to one mobile number now, as a campaign of one (no quiet hours)."""
        from sms_core.sending.send_case import NO_QUIET_HOURS, confirm_send, draft_test_send

        who = self._who("test_send", actor)
        draft = draft_test_send(self._engine, number, body, key=key)
        return confirm_send(self._engine, draft, actor=who, quiet=NO_QUIET_HOURS)

    def draft_cache(self) -> PreviewCache:
        """A new cache for one New send form: the roster is read and judged once, and a
        changed body is only re-costed."""
        from sms_core.rules.preview import PreviewCache

        return PreviewCache()

    def roster_columns(self, data: bytes, name: str) -> RosterColumns:
        """The roster's headers and the field each is guessed to hold (the mapping editor)."""
        from sms_core.rules.roster import FIELD_HEADERS, guess_fields, read_headers

        self.principal.require("preview")
        headers = read_headers(data, name)
        return RosterColumns(
            headers, guess_fields(headers), {f: labels for f, labels in FIELD_HEADERS.items()}
        )

    def japan_today(self) -> date:
        """Today's date in Japan time, by the product clock."""
        from sms_core.rules.schedule import JST

        return now_utc().astimezone(JST).date()

    def japan_instant(self, day: date, at: time) -> datetime:
        """The aware instant of ``day`` at ``at`` read as Japan time."""
        from sms_core.rules.schedule import JST

        return datetime.combine(day, at, tzinfo=JST)

    # ---------------------------------------------------------------------------------
    # Reads for the dashboard (issue 11): every table, metric and chart a page shows comes
    # from one of these, each checking the role. They return report DataFrames (masked
    # numbers) or plain values, and figures from sms_core.reports.figures, so pages never
    # see the Engine, a report module or SQL.
    # ---------------------------------------------------------------------------------

    # Message states in the order the reports' columns use (a page's filter choices).
    MESSAGE_STATES = MESSAGE_STATES

    def active_contract(self) -> ContractView | None:
        """The contract in force now (R16): None when there is none or it has ended; the
        SMS pages are then hidden."""
        view = self.contract()
        return None if view is None or view.ended else view

    def has_active_contract(self) -> bool:
        """Whether sending is possible at all now (R16): a contract that has not ended."""
        self.principal.require("read")
        with transaction(self._reader) as s:
            return active_contract(s) is not None

    def this_month(self) -> date:
        """The current Japan-time month (first day), on the product clock (R17)."""
        return quota.current_month()

    def contract_start_choices(self, contract: ContractView | None) -> list[date]:
        """The months Settings offers as a contract start: from last month (or the
        contract's own start, so saving unchanged never moves it) to 12 months ahead."""
        this_month = quota.current_month()
        own = contract.start_month if contract else this_month
        first = min(quota.add_months(this_month, -1), own)
        months: list[date] = []
        while not months or months[-1] < quota.add_months(this_month, 12):
            months.append(quota.add_months(first, len(months)))
        return months

    def sends_today(self) -> int:
        """Messages handed to the provider today, Japan time (本日の送信数)."""
        from sms_core import reports

        self.principal.require("read")
        return reports.sends_today(self._reader)

    def monthly_success(self, months: int = 12):
        """Successful sends per Japan-time month (R20), the one definition of a success."""
        from sms_core import reports

        self.principal.require("read")
        return reports.monthly_success(self._reader, months)

    def daily_sends(self, days: int = 30, campaign_id: int | None = None):
        """Messages handed to the provider per Japan-time day, by state."""
        from sms_core import reports

        self.principal.require("read")
        return reports.daily_sends(self._reader, days=days, campaign_id=campaign_id)

    def recent_failures(self, days: int = 7):
        """Failure reasons of the last ``days`` days (Overview)."""
        from datetime import timedelta

        from sms_core import reports

        self.principal.require("read")
        return reports.failure_reasons(self._reader, since=now_utc() - timedelta(days=days))

    def failure_reasons(self, campaign_id: int | None = None):
        """Failed messages grouped by the provider's reason, most frequent first."""
        from sms_core import reports

        self.principal.require("read")
        return reports.failure_reasons(self._reader, campaign_id=campaign_id)

    @staticmethod
    def failure_reason_keys(reasons) -> list[tuple[str | None, str | None]]:
        """The (code, text) of each row of :meth:`failure_reasons`: message filter values."""
        from sms_core import reports

        return reports.failure_reason_keys(reasons)

    @staticmethod
    def failure_reason_text(key: tuple[str | None, str | None], lang: str = "ja") -> str:
        """One (code, text) of :meth:`failure_reason_keys` as a word in ``lang``
        (宛先不明, 圏外・電源オフ…; the catalogue maps the providers' codes and texts)."""
        from sms_core.i18n import failure_reason, t

        return failure_reason(key[0], key[1], lang) or t("chart.reason.none", lang)

    def funnel(self, campaign_id: int, *, clicks: bool = True):
        """A campaign's delivery funnel, with its click stage when it had short links."""
        from sms_core import reports

        self.principal.require("read")
        return reports.funnel(self._reader, campaign_id=campaign_id, clicks=clicks)

    def campaign_templates(self) -> list[str]:
        """Names of the templates campaigns were made from (History's filter)."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_templates(self._reader)

    def campaign_count(self, *, template: str | None = None) -> int:
        """How many campaigns (of one template); for pagination."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_count(self._reader, template=template)

    def campaign_page(
        self,
        limit: int = 20,
        offset: int = 0,
        *,
        state: str | None = None,
        template: str | None = None,
    ):
        """A page of campaigns, newest first, with counts per state."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_summary(
            self._reader, limit=limit, offset=offset, state=state, template=template
        )

    def campaign_click_summary(self, campaign_id: int):
        """A campaign's short-link clicks: recipients, who clicked, rate, first click
        (empty when it had no short links)."""
        from sms_core import reports

        self.principal.require("read")
        return reports.clicks_per_campaign(self._reader, campaign_id=campaign_id)

    def campaign_clicks(self, campaign_id: int, limit: int = 100):
        """A campaign's clicks per recipient."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_clicks(self._reader, campaign_id, limit=limit)

    def campaign_message_count(self, campaign_id: int, **filters: str | None) -> int:
        """How many of a campaign's messages match ``state``/``error_code``/``error_message``."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_message_count(self._reader, campaign_id, **filters)

    def campaign_messages(
        self,
        campaign_id: int,
        *,
        limit: int = 100,
        offset: int = 0,
        **filters: Unpack[MessageFilters],
    ):
        """A page of a campaign's messages, numbers always masked but the last 4 digits."""
        from sms_core import reports

        self.principal.require("read")
        return reports.campaign_messages(
            self._reader, campaign_id, limit=limit, offset=offset, mask=True, **filters
        )

    @staticmethod
    def figure(report: str, data, lang: str = "ja"):
        """The dashboard's chart of a report's DataFrame (or of a QuotaStatus for
        ``quota_gauge``): ``reports.figure_<report>``."""
        from sms_core import reports

        name = f"figure_{report}"
        if name not in reports.__all__:
            raise InputError(f"no chart called {report!r}")
        return getattr(reports, name)(data, lang)

    @staticmethod
    def is_missing(value: object) -> bool:
        """Whether a report cell holds no value (None, NaN or NaT)."""
        from sms_core import reports

        return reports.is_missing(value)

    # Formatting and choices pages show, so pages import no rules module.
    @staticmethod
    def format_month(month: date) -> str:
        """A month as people read it: ``2026-12``."""
        return quota.format_month(month)

    @staticmethod
    def japan_time(instant: datetime | None) -> str:
        """An instant in Japan time: ``2026/12/01 10:00`` (empty when there is none)."""
        from sms_core.i18n import display_time

        return display_time(instant)

    @staticmethod
    def labelled(frame, table: str, lang: str = "ja"):
        """A report's frame as the ``table`` people see (``campaigns``, ``upcoming``,
        ``messages``, ``clicks``): catalogue headers, words for codes, Japan times."""
        from sms_core.reports.labels import labelled

        return labelled(frame, table, lang)

    @staticmethod
    def body_cost(body: str):
        """Characters, units and carrier segments of a body's bare text (tags left out)."""
        from sms_core.rules.text import cost_of_body

        return cost_of_body(body)

    @staticmethod
    def provider_names() -> list[str]:
        """The providers an admin may choose."""
        from sms_core.providers.factory import PROVIDERS

        return list(PROVIDERS)

    @staticmethod
    def parse_quiet_hours(text: str) -> QuietHours:
        """Quiet hours from their stored text (``21:00-08:00``): ``start`` and ``end``."""
        return QuietHours.parse(text)


@dataclass(frozen=True, slots=True)
class RosterColumns:
    """A roster's headers, the fields guessed from them, and every field's labels."""

    headers: list[str]
    guessed: dict[str, str]
    fields: dict[str, tuple[str, str]]  # field → (Japanese header, English id)
