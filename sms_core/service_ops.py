"""Issue 16's everyday tools on the service: lookup, resend, edit, pause, yen, test sends,
Excel downloads, notification status. Mixed into :class:`sms_core.service.SmsService`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, Unpack

from sqlalchemy.engine import Engine

from sms_core.roles import Principal
from sms_core.sending import quota
from sms_core.sending.campaigns import CampaignInfo
from sms_core.store import app_settings, users
from sms_core.store.db import transaction
from sms_core.store.models import audit

if TYPE_CHECKING:
    from sms_core.rules.preview import Preview
    from sms_core.sending.quota import QuotaStatus


class MessageFilters(TypedDict, total=False):
    """The filters a campaign's message list and exports take (see
    :func:`sms_core.reports.campaigns.campaign_messages`)."""

    state: str | None
    kind: str | None
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class SpendView:
    """A month's cost in yen (issue 16): units used and reserved times the unit price."""

    month: date
    unit_price_yen: Decimal
    used_units: int
    reserved_units: int
    used_yen: Decimal
    reserved_yen: Decimal


@dataclass(frozen=True, slots=True)
class NotifyStatus:
    """Team notifications as Settings shows them: never the whole webhook URL."""

    configured: bool
    webhook_hint: str | None
    format: str
    failure_ratio: str
    quota_ratio: str


@dataclass(frozen=True, slots=True)
class EditableSend:
    """A scheduled send as the edit form starts from (``send_at`` in Japan time)."""

    campaign_id: int
    name: str
    body: str
    state: str
    send_at: datetime | None


def yen(units: int, price: Decimal) -> Decimal:
    """The cost of ``units`` at ``price`` yen per unit, to the sen (1/100 yen)."""
    return (Decimal(units) * price).quantize(Decimal("0.01"))


class OpsTools:
    """Issue 16's everyday tools, mixed into :class:`sms_core.service.SmsService`.

    Every method checks the acting principal's role and audits through the service's
    own helpers (``self._who``, ``self.principal``, ``self._engine``, ``self._reader``),
    exactly as the service's other methods do; kept in this module so the tools read
    as one piece.
    """

    _engine: Engine
    _reader: Engine

    if TYPE_CHECKING:  # the service's own members these tools use (SmsService has them)

        @property
        def principal(self) -> Principal: ...

        def _who(self, permission: str, actor: str | None = None) -> str: ...

        def quota(self, month: date | None = None) -> QuotaStatus: ...

        def settings(self) -> dict[str, app_settings.EffectiveSetting]: ...

        def set_setting(
            self, key: str, value: str, *, actor: str
        ) -> app_settings.EffectiveSetting: ...

    # candidate lookup
    def lookup_candidate(self, *, candidate_id: str | None = None, phone: str | None = None):
        """Every message sent to one candidate (by 応募者ID or phone), newest first.

        Everyone may read; numbers are masked but the last 4 digits for roles that may
        not see personal data in full (analysts)."""
        from sms_core.reports.lookup import candidate_messages

        self.principal.require("read")
        return candidate_messages(
            self._reader,
            candidate_id=candidate_id,
            phone=phone,
            mask=not self.principal.can("preview"),
        )

    # resend, edit, pause
    def resend_plan(self, campaign_id: int):
        """Who a resend of ``campaign_id`` would reach and its units (a read)."""
        from sms_core.sending.resend import plan_resend

        self.principal.require("read")
        return plan_resend(self._engine, campaign_id)

    def resend(
        self,
        campaign_id: int,
        *,
        key: str,
        send_at: datetime | None = None,
        quiet_policy: str = "refuse",
        actor: str | None = None,
    ) -> CampaignInfo:
        """Resend to the unreached recipients as a new campaign (idempotent on ``key``)."""
        from sms_core.sending.resend import resend_campaign

        who = self._who("send", actor)
        return resend_campaign(
            self._engine,
            campaign_id,
            key=key,
            actor=who,
            send_at=send_at,
            quiet_policy=quiet_policy,
        )

    def reschedule(
        self,
        campaign_id: int,
        *,
        send_at: datetime | None = None,
        name: str | None = None,
        body: str | None = None,
        actor: str | None = None,
    ) -> CampaignInfo:
        """Edit a scheduled send before it starts: time, name, body (re-costed, re-reserved)."""
        from sms_core.sending.reschedule import reschedule_campaign

        who = self._who("send", actor)
        return reschedule_campaign(
            self._engine, campaign_id, actor=who, send_at=send_at, name=name, body=body
        )

    def editable_send(self, campaign_id: int) -> EditableSend:
        """A campaign's name, body, state and send time (Japan time), for the edit form."""
        from sms_core.errors import InputError
        from sms_core.rules.schedule import JST
        from sms_core.store.models import Campaign

        self.principal.require("read")
        with transaction(self._reader) as s:
            c = s.get(Campaign, campaign_id)
            if c is None:
                raise InputError(
                    f"there is no campaign {campaign_id}", key="campaign.missing", id=campaign_id
                )
            when = c.scheduled_at.astimezone(JST) if c.scheduled_at else None
            return EditableSend(c.id, c.name, c.body, c.state, when)

    def hold_reason(self, campaign_id: int) -> str | None:
        """Why a held campaign waits (``no_contract``, ``quota`` or ``new_month``); None
        when it is not held. History explains it in words."""
        from sqlalchemy import select

        from sms_core.rules.state_table import CampaignState
        from sms_core.store.models import Campaign

        self.principal.require("read")
        with transaction(self._reader) as s:
            return s.scalar(
                select(Campaign.hold_reason).where(
                    Campaign.id == campaign_id, Campaign.state == CampaignState.HELD
                )
            )

    @staticmethod
    def japan_datetime(day: date, at) -> datetime:
        """A date and a wall-clock time read as Japan time (R13), as an aware datetime."""
        from sms_core.rules.schedule import JST

        return datetime.combine(day, at, tzinfo=JST)

    def pause(self, campaign_id: int, *, actor: str | None = None) -> CampaignInfo:
        """Pause a scheduled or sending campaign (operators and admins)."""
        from sms_core.sending.campaigns import set_paused

        return set_paused(self._engine, campaign_id, True, actor=self._who("send", actor))

    def resume(self, campaign_id: int, *, actor: str | None = None) -> CampaignInfo:
        """Resume a paused campaign; the worker starts it again when it is due."""
        from sms_core.sending.campaigns import set_paused

        return set_paused(self._engine, campaign_id, False, actor=self._who("send", actor))

    # yen
    def unit_price_yen(self) -> Decimal:
        """Yen per unit (円/通), the team setting ``unit_price_yen`` (0 until set)."""
        return app_settings.unit_price_yen_in_use(self._engine)

    def cost_yen(self, units: int) -> Decimal:
        """What ``units`` cost in yen at the unit price (preview, confirm dialog)."""
        return yen(units, self.unit_price_yen())

    def month_spend(self, month: date | None = None) -> SpendView:
        """This month's (or ``month``'s) spend in yen: units used and reserved × price."""
        month = month or quota.current_month()
        status = self.quota(month)
        price = self.unit_price_yen()
        return SpendView(
            month,
            price,
            status.used,
            status.reserved,
            yen(status.used, price),
            yen(status.reserved, price),
        )

    def set_unit_price_yen(self, value: str, *, actor: str | None = None):
        """Store the unit price in yen (admins; audited)."""
        return self.set_setting("unit_price_yen", str(value), actor=actor or "")

    # test sends to one's own number
    def my_phone(self) -> str | None:
        """The signed-in user's own mobile number, or None."""
        with transaction(self._reader) as s:
            return users.get_phone(s, self.principal.name)

    def set_my_phone(self, number: str | None) -> str | None:
        """Set the signed-in user's own mobile number (where their test sends go)."""
        self.principal.require("test_send_own")
        with transaction(self._engine) as s:
            return users.set_phone(s, self.principal.name, number, actor=self.principal.name)

    def user_phone(self, name: str) -> str | None:
        """Any user's own mobile number, or None (admins)."""
        self.principal.require("users")
        with transaction(self._reader) as s:
            return users.get_phone(s, name)

    def set_user_phone(self, name: str, number: str | None) -> str | None:
        """Set any user's own mobile number (admins)."""
        who = self._who("users")
        with transaction(self._engine) as s:
            return users.set_phone(s, name, number, actor=who)

    def test_send_own(self, body: str, *, key: str) -> CampaignInfo:
        """A test send to the signed-in user's own number (operators and admins).

        Operators may test-send only there; admins also to any number (:meth:`test_send`).
        """
        from sms_core.errors import InputError
        from sms_core.sending.send_case import NO_QUIET_HOURS, confirm_send, draft_test_send

        self.principal.require("test_send_own")
        number = self.my_phone()
        if not number:
            raise InputError(
                "set your own mobile number first: test sends go only there",
                key="test_send.no_phone",
            )
        # The same one send use case as every other send (issue 11).
        draft = draft_test_send(self._engine, number, body, key=key)
        return confirm_send(self._engine, draft, actor=self.principal.name, quiet=NO_QUIET_HOURS)

    # Excel downloads
    def export_messages_xlsx(self, campaign_id: int, **filters: Unpack[MessageFilters]) -> bytes:
        """A campaign's messages with clicks as .xlsx, Japanese headers (audited)."""
        from sms_core import reports
        from sms_core.i18n import column_headers
        from sms_core.rules.export_xlsx import frame_xlsx_bytes

        who = self._who("read")
        frame = reports.campaign_messages(
            self._reader, campaign_id, limit=None, clicks=True, **filters
        )
        with transaction(self._engine) as s:
            audit(s, who, "export.messages", campaign=campaign_id, rows=len(frame), format="xlsx")
        return frame_xlsx_bytes(frame, column_headers(), sheet=f"campaign_{campaign_id}")

    def preview_xlsx(self, preview: Preview) -> bytes:
        """A preview, one row per roster row, as .xlsx with Japanese headers."""
        from sms_core.i18n import column_headers
        from sms_core.rules.export_xlsx import frame_xlsx_bytes

        self.principal.require("preview")
        return frame_xlsx_bytes(preview.frame(), column_headers(), sheet="preview")

    # team notifications
    def notify_status(self) -> NotifyStatus:
        """Whether team notifications are configured, and their format and thresholds."""
        from sms_core.sending.notify import webhook_hint, webhook_url

        try:
            url = webhook_url()
        except Exception:  # a broken secrets file shows as "not configured"
            url = None
        current = self.settings()
        return NotifyStatus(
            url is not None,
            webhook_hint(url),
            current["notify_format"].value,
            current["notify_failure_ratio"].value,
            current["notify_quota_ratio"].value,
        )
