"""Edit a scheduled send before it starts: its time, name and body (issue 16).

One transaction: the campaign is locked, checked to be still ``scheduled`` with every
message queued (a worker that already started it wins: the edit is refused), the old
units are released from their month and the new ones reserved with the conditional
UPDATE (R18, R19) — a refusal names the shortfall and leaves everything as it was.

**Body edits re-render only what is stored.** Rosters are never stored (issue 4), so a
campaign keeps per recipient only its number, 応募者ID and name. A new body may therefore
use the merge tags ``{{氏名}}`` / ``{{name}}`` and ``{{応募者ID}}`` / ``{{candidate_id}}``;
any other column tag (e.g. a 面接日時 column) is refused with that list, as are URL tags
and edits of a campaign that already has short links (its codes are tied to the old text).
To send a text that needs other roster columns, cancel and send again from the roster.
Storing every recipient's merge values would have made a second copy of roster data to
retain and erase; this keeps the personal data to what sending needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import InputError, StateError, TemplateError
from sms_core.rules.plan import new_reference
from sms_core.rules.schedule import japan_time
from sms_core.rules.tags import TAG_RE
from sms_core.rules.units import normalize_newlines
from sms_core.sending import quota
from sms_core.sending.campaigns import CampaignInfo, reserve_units, resolve_send_time
from sms_core.store.app_settings import quiet_hours_in_use
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message, ShortLink, audit

# The merge tags a body edit can fill from what a campaign stores per recipient.
STORED_TAGS: dict[str, str] = {
    "氏名": "name",
    "name": "name",
    "応募者id": "candidate_id",
    "candidate_id": "candidate_id",
}


@dataclass(frozen=True, slots=True)
class _Recipient:
    row: int
    candidate_id: str | None
    name: str | None
    kind: str | None
    phone: str
    provider: str


def render_stored(body: str, values: dict[str, str | None]) -> str:
    """``body`` with its stored-value tags filled in; TemplateError for any other tag."""
    allowed = "{{氏名}}, {{name}}, {{応募者ID}}, {{candidate_id}}"

    def fill(match) -> str:
        tag = match.group(1).strip()
        if tag.lower().startswith("url:"):
            raise TemplateError(
                "a scheduled send's body cannot gain a URL tag when edited; cancel it and "
                "send again from the roster",
                key="reschedule.no_new_url",
            )
        field = STORED_TAGS.get(tag.lower())
        if field is None:
            raise TemplateError(
                f"'{{{{{tag}}}}}' cannot be filled when editing a scheduled send (rosters "
                f"are not stored); available: {allowed}",
                key="reschedule.unknown_tag",
                tag=tag,
                available=allowed,
            )
        return values.get(field) or ""

    rendered = TAG_RE.sub(fill, body)
    if "{{" in rendered:
        raise TemplateError(
            "a merge tag is opened with '{{' but never closed with '}}'", key="template.unclosed"
        )
    return normalize_newlines(rendered)


def reschedule_campaign(
    engine: Engine,
    campaign_id: int,
    *,
    actor: str,
    send_at: datetime | None = None,
    name: str | None = None,
    body: str | None = None,
    quiet_policy: str = "refuse",
) -> CampaignInfo:
    """Change a scheduled campaign's time, name and/or body before it starts.

    Raises StateError once it has started (or is not scheduled), InputError /
    TemplateError for a bad time, name or body, QuotaError with the shortfall when the
    re-costed units do not fit the month it now goes out in. All or nothing.
    """
    if send_at is None and name is None and body is None:
        raise InputError("give a new time, name or body to change", key="reschedule.nothing")
    if name is not None and not name.strip():
        raise InputError("a send needs a name, so it can be found in the history", key="send.name")
    if body is not None and not body.strip():
        raise InputError("an empty message cannot be sent", key="body.empty")
    when = None
    if send_at is not None:
        when = resolve_send_time(
            send_at, now=now_utc(), quiet=quiet_hours_in_use(engine), policy=quiet_policy
        )
    with transaction(engine) as session:
        campaign = session.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None:
            raise InputError(
                f"there is no campaign {campaign_id}", key="campaign.missing", id=campaign_id
            )
        _check_not_started(session, campaign)
        old = {
            "name": campaign.name,
            "send_at": japan_time(campaign.scheduled_at) if campaign.scheduled_at else None,
            "units": campaign.units_reserved,
            "month": quota.format_month(campaign.quota_month),
        }
        new_when = when or campaign.scheduled_at or now_utc()
        new_month = quota.jst_month(new_when)
        body_changed = body is not None and body != campaign.body
        rows = _rerender(session, campaign, body) if body is not None and body_changed else None
        units = sum(r["units"] for r in rows) if rows is not None else campaign.units_reserved
        quota.release(session, campaign.quota_month, campaign.units_reserved)
        reserve_units(
            session,
            new_month,
            units,
            what="the edited send",
            nothing="changed",
            key="quota.short_edit",
        )
        if rows is not None:
            session.execute(delete(Message).where(Message.campaign_id == campaign.id))
            for row in rows:
                row["next_attempt_at"] = new_when
            session.execute(insert(Message), rows)
            assert body is not None  # rows are re-rendered only for a new body
            campaign.body = body
        else:
            session.execute(
                update(Message)
                .where(Message.campaign_id == campaign.id)
                .values(next_attempt_at=new_when, updated_at=now_utc())
            )
        campaign.scheduled_at = new_when
        campaign.quota_month = new_month
        campaign.units_reserved = units
        if name is not None:
            campaign.name = name.strip()
        audit(
            session,
            actor,
            "campaign.edit",
            campaign=campaign.id,
            old=old,
            new={
                "name": campaign.name,
                "send_at": japan_time(new_when),
                "units": units,
                "month": quota.format_month(new_month),
            },
            body_changed=body_changed,
        )
        count = session.scalar(select(func.count()).where(Message.campaign_id == campaign.id))
        return CampaignInfo.of(campaign, count or 0, created=False)


def _check_not_started(session: Session, campaign: Campaign) -> None:
    if campaign.state != "scheduled" or campaign.started_at is not None:
        raise StateError(
            f"campaign {campaign.id} is {campaign.state}: only a scheduled send that has not "
            "started can be edited",
            key="reschedule.not_scheduled",
            id=campaign.id,
            state=campaign.state,
        )
    handed = session.scalar(
        select(func.count()).where(Message.campaign_id == campaign.id, Message.state != "queued")
    )
    if handed:
        raise StateError(
            f"campaign {campaign.id} has already started sending: it cannot be edited",
            key="reschedule.started",
            id=campaign.id,
        )


def _rerender(session: Session, campaign: Campaign, body: str) -> list[dict]:
    """The campaign's messages with ``body`` rendered for each recipient, split and costed."""
    # The splitter (numpy) only when a body is edited: moving a send's time needs none.
    from sms_core.rules import text

    if session.scalar(select(func.count()).where(ShortLink.campaign_id == campaign.id)):
        raise TemplateError(
            "this send has short links: its body cannot be edited (its time and name can); "
            "cancel it and send again from the roster",
            key="reschedule.has_links",
        )
    recipients = [
        _Recipient(*r)
        for r in session.execute(
            select(
                Message.recipient_row,
                Message.candidate_id,
                Message.name,
                Message.kind,
                Message.phone,
                Message.provider,
            )
            .where(Message.campaign_id == campaign.id, Message.part_index == 1)
            .order_by(Message.recipient_row)
        )
    ]
    reference = new_reference()
    created = now_utc()
    rows: list[dict] = []
    for r in recipients:
        rendered = render_stored(body, {"name": r.name, "candidate_id": r.candidate_id})
        if not rendered.strip():
            raise InputError(
                f"the message to row {r.row + 2} would be empty",
                key="reschedule.row_empty",
                row=r.row + 2,
            )
        pieces = text.split_message(rendered)
        for index, piece in enumerate(pieces, start=1):
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "recipient_row": r.row,
                    "part_index": index,
                    "part_count": len(pieces),
                    "candidate_id": r.candidate_id,
                    "name": r.name,
                    "kind": r.kind,
                    "phone": r.phone,
                    "body": piece,
                    "units": text.units_for_chars(text.utf16_len(piece)),
                    "state": "queued",
                    "client_ref": f"{reference}-{r.row}-{index}",
                    "provider": r.provider,
                    "attempts": 0,
                    "created_at": created,
                    "updated_at": created,
                }
            )
    return rows
