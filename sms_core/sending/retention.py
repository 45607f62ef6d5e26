"""Personal data kept no longer than needed (issue 4, APPI).

- Rosters are not kept: an upload lives in the uploading session's memory while it is
  previewed, and in its user's New send autosave (so a reload finds the work) for at most
  24 hours; the autosave is deleted on confirming or starting a new send, and by an
  erasure. A confirmed send keeps, per message, only what sending and its history need
  (number, name, the rendered text, candidate id).
- Those are masked once a message is older than ``SMS_PHONE_RETENTION_MONTHS`` (default 13
  months): the number keeps its last 4 digits, name, text and candidate id are cleared.
  The dispatch worker does it as part of its housekeeping (:func:`redact_expired`).
- A candidate's data is erased on request (:func:`erase_phone`, ``python -m sms_core erase
  --phone …``), whatever its age.

Masking changes only those columns: states, units, times and campaigns stay, so monthly
counts, quota ledgers and every report are unchanged. An opt-out entry for the number is
kept (it is what honours the candidate's wish not to be contacted) and reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, StateError
from sms_core.rules.schedule import JST
from sms_core.sending.quota import add_months, jst_month
from sms_core.store import composer_autosave
from sms_core.store.models import Message, Suppression, audit
from sms_core.store.suppression import normalise_number

DEFAULT_RETENTION_MONTHS = 13
ENV_RETENTION = "SMS_PHONE_RETENTION_MONTHS"
_MASK = "*" * 16
_OPEN = ("queued", "sending", "unknown")


def retention_months(environ: dict[str, str] | None = None) -> int:
    """Months a message keeps its personal data (``SMS_PHONE_RETENTION_MONTHS``, ≥ 1)."""
    raw = (environ if environ is not None else os.environ).get(ENV_RETENTION, "").strip()
    if not raw:
        return DEFAULT_RETENTION_MONTHS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{ENV_RETENTION} must be a whole number of months ≥ 1, not '{raw}'")
    return int(raw)


def _masked_values(now: datetime) -> dict:
    length = func.length(Message.phone)
    return {
        # Keep the last 4 digits: a person reading the history can still tell two apart.
        "phone": func.substr(literal(_MASK), 1, length - 4).concat(
            func.substr(Message.phone, length - 3)
        ),
        "name": None,
        "candidate_id": None,
        "body": "",
        "redacted_at": now,
    }


def retention_cutoff(now: datetime, months: int) -> datetime:
    """Messages created before this instant are past retention: the start of the Japan-time
    month ``months`` months before the current one (whole months, as people count them)."""
    first = add_months(jst_month(now), -months)
    return datetime(first.year, first.month, 1, tzinfo=JST)


def redact_expired(
    session: Session, *, now: datetime | None = None, months: int | None = None
) -> int:
    """Mask the personal data of messages past retention; returns how many were masked."""
    now = now or now_utc()
    cutoff = retention_cutoff(now, months or retention_months())
    result = session.execute(
        update(Message)
        .where(
            Message.created_at < cutoff,
            Message.redacted_at.is_(None),
            Message.state.not_in(_OPEN),  # never a message still to be sent
        )
        .values(**_masked_values(now))
    )
    count = result.rowcount or 0
    if count:
        audit(session, "system", "retention.redact", messages=count, before=cutoff.isoformat())
    return count


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did: messages masked, and whether the number stays opted out."""

    phone_tail: str
    messages: int
    kept_on_optout_list: bool
    autosaves: int = 0  # New send autosaves deleted: any roster held may hold the number


def erase_phone(session: Session, number: str, *, actor: str) -> Erasure:
    """Erase a candidate's data from the message history by phone number (any format).

    The audit trail records the last 4 digits only, so the erasure does not keep the
    number it erased.
    """
    phone = normalise_number(number)
    now = now_utc()
    waiting = session.scalars(
        select(Message.campaign_id)
        .where(Message.phone == phone, Message.state.in_(_OPEN))
        .distinct()
    ).all()
    if waiting:
        ids = ", ".join(f"#{i}" for i in sorted(waiting))
        raise StateError(
            f"messages to this number are still to be sent (campaign {ids}); cancel the "
            "campaign or wait until it has gone out, then erase"
        )
    result = session.execute(
        update(Message).where(Message.phone == phone).values(**_masked_values(now))
    )
    kept = session.scalar(select(Suppression.phone).where(Suppression.phone == phone)) is not None
    # An autosaved roster is not parsed to look for the number: every one is deleted.
    autosaves = composer_autosave.forget_rosters(session)
    erasure = Erasure(phone[-4:], result.rowcount or 0, kept, autosaves)
    audit(
        session,
        actor,
        "erase",
        phone_tail=erasure.phone_tail,
        messages=erasure.messages,
        kept_on_optout_list=kept,
        autosaves=autosaves,
    )
    return erasure
