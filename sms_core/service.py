"""One object the dashboard's pages call: every action and read, each in its own transaction.

Pages hold a :class:`SmsService` (cached once per process, as the Engine it wraps) and
never see a session or SQL. The CLI calls the underlying modules directly; both end in
the same functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from . import quota
from .campaigns import (
    CampaignInfo,
    cancel_campaign,
    confirm_campaign,
    link_retention_days,
    links_expire_on,
)
from .contract import contract_end, get_contract, set_contract
from .db import make_engine, now_utc, read_only, transaction, upgrade
from .models import Campaign, Message
from .preview import Preview
from .schedule import QuietHours
from .suppression import add_optout, import_optouts_bytes, list_optouts, remove_optout
from .suppression import suppressed_numbers as _suppressed
from .templates import (
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

    def __init__(self, engine: Engine, *, provider_name: str = "sandbox") -> None:
        self.engine = engine
        # Reports and listings read through this one: on SQLite they never wait for
        # the worker's write lock.
        self.reader = read_only(engine)
        self.provider_name = provider_name

    @classmethod
    def from_env(cls) -> SmsService:
        """Connect to ``SMS_DATABASE_URL`` (default: data/sms.db) and migrate it."""
        from .providers.factory import provider_name

        engine = make_engine()
        upgrade(engine)
        return cls(engine, provider_name=provider_name())

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
        with transaction(self.engine) as s:
            set_contract(
                s, monthly_units, start_month, months, sender_mode, sender_number, actor=actor
            )

    def quota(self, month: date | None = None) -> quota.QuotaStatus:
        """Cap, used, reserved and remaining units of ``month`` (default: this month)."""
        with transaction(self.reader) as s:
            return quota.remaining(s, month or quota.current_month())

    # opt-outs, templates, drafts (R3, R12)
    def suppressed_numbers(self) -> set[str]:
        """Numbers that never receive an SMS."""
        with transaction(self.reader) as s:
            return _suppressed(s)

    def optouts(self) -> list:
        """Every opt-out entry, newest first."""
        with transaction(self.reader) as s:
            return list_optouts(s)

    def add_optout(self, number: str, reason: str | None, *, actor: str) -> bool:
        """Add a number; False when it was already there."""
        with transaction(self.engine) as s:
            return add_optout(s, number, reason, actor=actor)[1]

    def remove_optout(self, number: str, *, actor: str) -> bool:
        """Remove a number; False when it was not there."""
        with transaction(self.engine) as s:
            return remove_optout(s, number, actor=actor)

    def import_optouts(self, data: bytes, name: str, *, actor: str):
        """Add every number of an uploaded text/CSV file, all or nothing."""
        with transaction(self.engine) as s:
            return import_optouts_bytes(s, data, name, actor=actor)

    def templates(self) -> list:
        """Saved templates, by name."""
        with transaction(self.reader) as s:
            return list_templates(s)

    def save_template(self, name: str, body: str, *, actor: str) -> None:
        """Save ``body`` under ``name`` (replacing a template of that name)."""
        with transaction(self.engine) as s:
            save_template(s, name, body, actor=actor)

    def delete_template(self, name: str, *, actor: str) -> None:
        """Delete a template."""
        with transaction(self.engine) as s:
            delete_template(s, name, actor=actor)

    def drafts(self) -> list:
        """Saved drafts, newest first."""
        with transaction(self.reader) as s:
            return list_drafts(s)

    def save_draft(self, title: str, body: str, draft_id: int | None = None) -> int:
        """Save a draft (a new one, or ``draft_id`` again); returns its id."""
        with transaction(self.engine) as s:
            return save_draft(s, title, body, draft_id).id

    def delete_draft(self, draft_id: int) -> None:
        """Delete a draft."""
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
    ) -> CampaignInfo:
        """Confirm a send; the same ``key`` (one confirm dialog) never creates two."""
        return confirm_campaign(
            self.engine,
            preview,
            name=name,
            idempotency_key=key,
            actor=actor,
            provider=self.provider_name,
            send_at=send_at,
            rows=rows,
            quiet=QuietHours.configured(),
            quiet_policy=quiet_policy,
            urgent_reason=urgent_reason,
        )

    def links_expire_on(self, preview: Preview, send_at: datetime | None = None) -> date | None:
        """The Japan-time day the body's short links stop working; None without URL tags."""
        return links_expire_on(preview, send_at)

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
        return cancel_campaign(self.engine, campaign_id, actor=actor)

    def link_retention_days(self) -> int:
        """How many days short links keep redirecting after a send (SMS_LINK_RETENTION_DAYS)."""
        return link_retention_days()

    def now(self) -> datetime:
        """The current time (UTC), one clock for every page."""
        return now_utc()
