"""Candidate lookup (issue 16): every message sent to one candidate, across campaigns.

Found by 応募者ID (``message.candidate_id``, as the roster gave it) or by phone number
(any written form: normalised as a roster's numbers are). Each row is one message (one
part, R8) with its campaign, state, failure reason, Japan times and the recipient's
short-link clicks in that campaign. Numbers are masked by the database but their last 4
digits unless the caller may see them. Messages whose personal data was masked by
retention or erasure are no longer found: that is what masking is for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from sms_core.errors import InputError
from sms_core.reports._base import Bind, fetch, masked_phone
from sms_core.rules.phone_verdict import classify
from sms_core.rules.schedule import JST
from sms_core.store.models import Campaign, Click, Message

# A lookup shows at most this many messages (newest first): one candidate rarely has more.
LOOKUP_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CandidateMessage:
    """One message sent to the candidate, as the lookup shows it (times in Japan time)."""

    campaign_id: int
    campaign: str
    candidate_id: str
    name: str
    phone: str
    part: str  # "1/2"
    state: str
    reason: str
    created_at: str
    accepted_at: str
    delivered_at: str
    failed_at: str
    clicks: int
    first_click_at: str

    def as_dict(self) -> dict[str, object]:
        """The row as plain values (JSON, a table)."""
        return asdict(self)


def _jst(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # SQLite returns an aggregate's timestamp as text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(JST).strftime("%Y/%m/%d %H:%M")


def lookup_phone(raw: str) -> str:
    """The national form of a number typed in any form (hyphens, full width, +81…)."""
    national = classify(raw or "").national
    if not national:
        raise InputError(
            f"'{(raw or '').strip()}' is not a phone number that can be looked up",
            key="lookup.not_a_phone",
            number=(raw or "").strip(),
        )
    return national


def candidate_messages(
    bind: Bind,
    *,
    candidate_id: str | None = None,
    phone: str | None = None,
    mask: bool = True,
    limit: int = LOOKUP_LIMIT,
) -> list[CandidateMessage]:
    """Every message to the candidate with ``candidate_id`` or ``phone``, newest first.

    Exactly one of the two is given. InputError for neither/both, or a number that is not
    one. ``mask`` keeps only the last 4 digits of each number (analysts).
    """
    if (candidate_id is None or not candidate_id.strip()) == (phone is None or not phone.strip()):
        raise InputError(
            "look a candidate up by 応募者ID (candidate id) or by phone number", key="lookup.one_of"
        )
    if phone is not None and phone.strip():
        where = Message.phone == lookup_phone(phone)
    else:
        assert candidate_id is not None  # the check above: exactly one of the two is given
        where = Message.candidate_id == candidate_id.strip()
    clicks = (
        select(
            Click.campaign_id,
            Click.recipient_row,
            func.count().label("clicks"),
            func.min(Click.at).label("first_click_at"),
        )
        .group_by(Click.campaign_id, Click.recipient_row)
        .subquery()
    )
    number = masked_phone() if mask else Message.phone
    stmt = (
        select(
            Message.campaign_id,
            Campaign.name,
            Message.candidate_id,
            Message.name,
            number,
            Message.part_index,
            Message.part_count,
            Message.state,
            Message.error_code,
            Message.error_message,
            Message.created_at,
            Message.accepted_at,
            Message.delivered_at,
            Message.failed_at,
            func.coalesce(clicks.c.clicks, 0),
            clicks.c.first_click_at,
        )
        .join(Campaign, Campaign.id == Message.campaign_id)
        .outerjoin(
            clicks,
            and_(
                clicks.c.campaign_id == Message.campaign_id,
                clicks.c.recipient_row == Message.recipient_row,
            ),
        )
        .where(where, Message.redacted_at.is_(None))
        .order_by(Message.created_at.desc(), Message.campaign_id.desc(), Message.part_index)
        .limit(limit)
    )
    _, rows = fetch(bind, stmt)
    return [
        CandidateMessage(
            campaign_id=int(r[0]),
            campaign=r[1],
            candidate_id=r[2] or "",
            name=r[3] or "",
            phone=r[4],
            part=f"{r[5]}/{r[6]}",
            state=r[7],
            reason=" ".join(x for x in (r[8], r[9]) if x),
            created_at=_jst(r[10]),
            accepted_at=_jst(r[11]),
            delivered_at=_jst(r[12]),
            failed_at=_jst(r[13]),
            clicks=int(r[14] or 0),
            first_click_at=_jst(r[15]),
        )
        for r in rows
    ]
