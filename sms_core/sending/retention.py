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
kept (it is what honours the candidate's wish not to be contacted) and reported; it holds
a keyed hash, not the number (sms_core.store.suppression).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, ProviderError, StateError
from sms_core.rules.schedule import JST
from sms_core.sending.quota import add_months, jst_month
from sms_core.store import composer_autosave
from sms_core.store.db import rowcount
from sms_core.store.models import Click, Message, ShortLink, User, audit
from sms_core.store.suppression import is_optout, normalise_number

log = logging.getLogger(__name__)

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
    count = rowcount(result)
    if count:
        audit(session, "system", "retention.redact", messages=count, before=cutoff.isoformat())
    return count


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did: messages masked, whether the number stays opted out, and the
    copies providers keep that :func:`erase_at_providers` deletes once this is committed.
    """

    phone_tail: str
    messages: int
    kept_on_optout_list: bool
    links: int = 0
    clicks: int = 0
    outbox_parts: int = 0
    # (provider, provider_id) of final messages whose provider keeps a deletable copy.
    provider_copies: tuple[tuple[str, str], ...] = ()
    autosaves: int = 0  # New send autosaves deleted: any roster held may hold the number


def number_forms(national: str) -> tuple[str, ...]:
    """The ways a national-form mobile number is written in texts and URLs: national,
    E.164 (also URL-encoded and without '+'), hyphenated, and without its leading 0."""
    e164 = "+81" + national[1:]
    hyphenated = f"{national[:3]}-{national[3:7]}-{national[7:]}"
    return (national, e164, "%2B81" + national[1:], e164[1:], hyphenated, national[1:])


def erase_phone(session: Session, number: str, *, actor: str) -> Erasure:
    """Erase a candidate's data by phone number (any format), whatever its age (issue 13).

    In this transaction: the messages are masked (number to its last 4 digits; name, text,
    candidate id and the provider's error text cleared); short links whose target holds
    the number stop working and lose it; the recipient's links and clicks lose their
    link to the recipient row; the sandbox outbox forgets its copies. The opt-out list
    holds only a keyed hash, so an opted-out number stays honoured. The audit trail
    records the last 4 digits only. Copies at Twilio are deleted by
    :func:`erase_at_providers` after the commit (no network call holds this transaction).
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
            "campaign or wait until it has gone out, then erase",
            key="erase.waiting",
            ids=ids,
        )
    sent = session.execute(
        select(
            Message.campaign_id, Message.recipient_row, Message.provider, Message.provider_id
        ).where(Message.phone == phone)
    ).all()
    result = session.execute(
        update(Message)
        .where(Message.phone == phone)
        .values(**_masked_values(now), error_message=None)
    )
    # A user's own test-send number (issue 16) is a person's number too.
    session.execute(update(User).where(User.phone == phone).values(phone=None))
    forms = number_forms(phone)
    links = clicks = 0
    for campaign_id, row in sorted({(c, r) for c, r, _, _ in sent}):
        links += _erase_links(session, campaign_id, row, forms, now)
        clicks += (
            rowcount(
                session.execute(
                    update(Click)
                    .where(Click.campaign_id == campaign_id, Click.recipient_row == row)
                    .values(recipient_row=_UNLINKED)
                )
            )
            or 0
        )
    outbox = _erase_sandbox_outbox(forms, [p for _, _, name, p in sent if name == "sandbox" and p])
    kept = is_optout(session, phone)
    copies = tuple(sorted({(name, pid) for _, _, name, pid in sent if name in _DELETABLE and pid}))
    # An autosaved roster is not parsed to look for the number: every one is deleted.
    autosaves = composer_autosave.forget_rosters(session)
    erasure = Erasure(
        phone[-4:], rowcount(result) or 0, kept, links, clicks, outbox, copies, autosaves
    )
    audit(
        session,
        actor,
        "erase",
        phone_tail=erasure.phone_tail,
        messages=erasure.messages,
        kept_on_optout_list=kept,
        links=links,
        clicks=clicks,
        autosaves=autosaves,
    )
    return erasure


# A recipient row no message has: a click or link kept for the counts, linked to no one.
_UNLINKED = -1
# Providers whose stored copy of a message can be deleted through their API.
_DELETABLE = ("twilio",)


def _erase_links(session: Session, campaign_id: int, row: int, forms, now: datetime) -> int:
    """Unlink the recipient's short links; those whose target holds the number also stop
    working and lose their target. Returns how many targets were erased."""
    erased = 0
    for code, target in session.execute(
        select(ShortLink.code, ShortLink.target).where(
            ShortLink.campaign_id == campaign_id, ShortLink.recipient_row == row
        )
    ).all():
        values: dict = {"recipient_row": _UNLINKED}
        if any(form in target for form in forms):
            values.update(target="", expires_at=now)
            erased += 1
        session.execute(update(ShortLink).where(ShortLink.code == code).values(**values))
    return erased


def _erase_sandbox_outbox(forms: tuple[str, ...], provider_ids: list[str]) -> int:
    """Erase the sandbox's copies (its outbox is a file of its own, not this database)."""
    from sms_core.providers.factory import get_provider

    try:
        sandbox = get_provider("sandbox")
    except ConfigError:
        return 0
    if not sandbox.path.exists():  # type: ignore[attr-defined]
        return 0  # never sent through the sandbox here: nothing to erase, nothing to create
    try:
        return sandbox.erase(forms, provider_ids)  # type: ignore[attr-defined]
    finally:
        sandbox.close()


def erase_at_providers(erasure: Erasure) -> list[str]:
    """Delete the providers' stored copies of erased messages (after the commit).

    Twilio keeps every message (with the number) until it is deleted: ``DELETE`` on the
    Message. Karaden offers no way to delete a sent message (see README). Returns the
    provider ids that could not be deleted (each logged, the erasure itself stands).
    """
    from sms_core.providers.factory import get_provider

    left: list[str] = []
    by_provider: dict[str, list[str]] = {}
    for name, provider_id in erasure.provider_copies:
        by_provider.setdefault(name, []).append(provider_id)
    for name, ids in by_provider.items():
        try:
            provider = get_provider(name)
        except ConfigError:
            left.extend(ids)
            continue
        try:
            for provider_id in ids:
                try:
                    provider.delete_message(provider_id)  # type: ignore[attr-defined]
                except ProviderError as exc:
                    log.warning("could not delete %s message %s: %s", name, provider_id, exc)
                    left.append(provider_id)
        finally:
            provider.close()
    return left
