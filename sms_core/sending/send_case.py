"""The one send use case: draft a send, then confirm it (issue 11).

Every way of sending goes through here: the New send page, the CLI ``send`` (and its
``--dry-run``) and the test send. The draft step gathers everything a person needs to
decide into one frozen :class:`SendDraft`; the confirm step turns that draft into a
campaign in one transaction (:func:`sms_core.sending.campaigns.confirm_campaign`).

**Every campaign a person creates is created by one transaction function.**
:func:`sms_core.sending.campaigns.create_once` runs it: the idempotency key is checked
(and a racing confirmation that won is returned), then
:func:`~sms_core.sending.campaigns.open_campaign` checks the contract (none, or ended:
R16), reserves the units of the Japan-time month the send goes out in with the one
conditional statement or refuses with the shortfall (R18, R19), and adds the campaign row;
:func:`~sms_core.sending.campaigns.insert_parts` queues its message parts. Nothing is
written unless all of it is. The paths that reach it, and why there are two:

- :func:`confirm_send` (this module): ``SmsService.confirm_send`` (New send, CLI
  ``send``), ``SmsService.test_send`` and ``test_send_own`` (a draft of one row, without
  quiet hours). It is the only caller of ``confirm_campaign``.
- :func:`sms_core.sending.resend.resend_campaign` (``SmsService.resend``, CLI
  ``resend``, issue 16): it sends each unreached recipient's stored text part for part
  (R8, R9); rosters are never stored, so there is no roster to draft from. It selects its
  recipients and calls the same ``create_once`` / ``open_campaign`` / ``insert_parts``.

Editing a scheduled send (:mod:`sms_core.sending.reschedule`) creates no campaign; it
re-reserves its units through the same ``reserve_units``. Demo data
(:mod:`sms_core.demo`) writes finished history, never confirmed by a person.
``tests/unit/test_one_send_path.py`` fails when another way of creating a campaign
appears.

The use case loads the opt-outs, the short-URL base, the quiet hours, the provider and the
contract itself; a caller passes only what a person chose. The quota figures are those of
the Japan-time month the send will go out in, after any quiet-hours deferral (R17, R18).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.errors import InputError
from sms_core.rules.export import csv_bytes
from sms_core.rules.preview import DUPLICATE, REASONS, Preview, PreviewCache
from sms_core.rules.schedule import QuietHours
from sms_core.rules.tags import short_url_base
from sms_core.sending import quota
from sms_core.sending.campaigns import (
    CampaignInfo,
    check_deadline,
    confirm_campaign,
    contract_ended_error,
    links_expire_on,
    plan_send_time,
)
from sms_core.sending.contract import SHARED_SENDER_NUMBER, contract_end, get_contract
from sms_core.sending.handover import numbers_at_cap
from sms_core.store.app_settings import effective_all, frequency_cap_of
from sms_core.store.db import read_only, transaction
from sms_core.store.suppression import suppressed_numbers
from sms_core.store.templates import get_template

# Why a draft cannot be confirmed; the page shows each as words (i18n ``send.blocked.*``).
BLOCKS = (
    "sample",
    "no_contract",
    "contract_ended",
    "outside_contract",
    "time",
    "quiet_refused",
    "nobody",
    "none_left",
    "short",
)
TEST_SEND_NAME = "テスト送信"
# The one-row roster's candidate: merge tags of templates ({{氏名}}) render with it.
TEST_NAME = "テスト"
# A test send goes to the team's own phone, not to a candidate: quiet hours do not apply.
NO_QUIET_HOURS = QuietHours.parse("00:00-00:00")

Roster = bytes | str | Path | Callable[[], bytes]


@dataclass(frozen=True, slots=True)
class MessageSample:
    """One recipient's message as they receive it: its roster row (the header is row 1),
    text, characters, contract units and carrier segments."""

    row: int
    text: str
    chars: int
    units: int
    segments: int


def format_number(number: str) -> str:
    """A Japanese number grouped as people write it: ``05055271265`` → ``050-5527-1265``,
    ``09098765432`` → ``090-9876-5432``; anything else (``+1…``, a name) as it is."""
    digits = number.replace("-", "").strip()
    if len(digits) == 11 and digits.isdigit() and digits[0] == "0":
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    return number


@dataclass(frozen=True, eq=False)
class SendDraft:
    """Everything a person needs to decide on a send, and what confirming it needs.

    Figures count the recipients still chosen after narrowing. ``month`` is the Japan-time
    month the units are reserved in (the month the send goes out in); ``remaining_after``
    is that month's remaining units after this send (negative: see ``shortfall``).
    """

    name: str
    body: str
    template_name: str | None
    roster_name: str
    mapping: tuple[tuple[str, str], ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    send_at: datetime | None  # as asked: None is "now"
    quiet_policy: str
    urgent_reason: str | None
    preview: Preview = field(repr=False)
    rows: np.ndarray = field(repr=False)  # 0-based roster rows of the recipients
    repeats: np.ndarray = field(repr=False)  # rows left out as repeats of a chosen row (R3)
    recipients: int
    units: int
    segments: int
    messages: int
    reasons: dict[str, int]  # rows per reason code; duplicates judged after narrowing (R3)
    narrowed_out: int  # receivable rows left out by the narrowing filters
    quiet_outcome: str  # clear / deferred / urgent / refused (see campaigns.SendTime)
    quiet_window: str
    starts_at: datetime | None  # when it goes out (UTC), after a deferral; None if unknown
    month: date
    cap: int
    remaining_before: int
    remaining_after: int
    shortfall: int
    links_expire_on: date | None
    provider: str
    sender: str | None  # the number recipients will see; None without a contract
    contract_end: date | None
    key: str
    blocked: str | None  # one of BLOCKS, None when it can be confirmed
    # The error behind a ``time`` block: pages show it in the user's language (error_text).
    problem_error: InputError | None = field(default=None, repr=False)
    deadline: datetime | None = None  # 送信期限: not handed over by then, it expires
    sample: bool = False  # drafted from the bundled sample roster: never sendable
    unit_price_yen: float = 0.0  # the team's unit price per contract unit (通数)

    @property
    def problem(self) -> str | None:
        """The English message of a ``time`` block (the CLI's)."""
        return str(self.problem_error) if self.problem_error is not None else None

    @property
    def cost_yen(self) -> int:
        """The estimated cost in yen: the contract units (通数, what is billed) times the
        unit price; carrier segments are not what the contract bills."""
        return round(self.units * self.unit_price_yen)

    @property
    def sender_display(self) -> str | None:
        """The sender number as people write it (``050-5527-1265``)."""
        return format_number(self.sender) if self.sender else None

    def units_per_recipient(self) -> tuple[int, int]:
        """The fewest and the most contract units one recipient's message costs."""
        if not len(self.rows):
            return (0, 0)
        costs = self.preview.receivable_costs
        units = (costs[0] if costs is not None else self.preview.units)[self.rows]
        return int(units.min()), int(units.max())

    def sample_message(self) -> MessageSample | None:
        """The message the first recipient gets, as rendered (None without recipients)."""
        return self._message_at(0)

    def longest_message(self) -> MessageSample | None:
        """The longest message any recipient gets (the one that costs the most units)."""
        if not len(self.rows):
            return None
        chars = np.asarray(self.preview.chars)[self.rows]
        return self._message_at(int(np.argmax(chars)))

    def _message_at(self, position: int) -> MessageSample | None:
        if position >= len(self.rows):
            return None
        row = int(self.rows[position])
        preview = self.preview
        costs = preview.receivable_costs
        units, segments = (
            (int(costs[0][row]), int(costs[1][row]))
            if costs is not None
            else (int(preview.units[row]), int(preview.segments[row]))
        )
        return MessageSample(
            row=row + 2,
            text=str(preview.message[row].as_py() or ""),
            chars=int(preview.chars[row]),
            units=units,
            segments=segments,
        )

    @property
    def can_confirm(self) -> bool:
        """Whether confirming it would be accepted now (the service checks again)."""
        return self.blocked is None

    @property
    def month_label(self) -> str:
        """``2026-12``: the month the units are reserved in."""
        return quota.format_month(self.month)

    @property
    def roster_rows(self) -> int:
        """Rows of the roster (every candidate, whatever their reason)."""
        return self.preview.summary.rows

    @property
    def empty_tag_rows(self) -> int:
        """Eligible recipients with an empty merge-tag value (R10)."""
        return self.preview.summary.empty_tag_rows

    def tag_names(self) -> list[str]:
        """The merge tags this roster offers (R10)."""
        return self.preview.assessment.roster.tag_names()

    def narrowable(self) -> dict[str, list[str]]:
        """Columns recipients can be narrowed by, with their values (phone columns left out)."""
        roster = self.preview.assessment.roster
        phones = set(roster.fields.values()) - {roster.fields.get("kind")}
        out = {}
        for header in roster.column_names:
            values = None if header in phones else roster.distinct_values(header)
            if values is not None:
                out[header] = values
        return out

    def frame(self) -> pd.DataFrame:
        """Every roster row: rendered text, units, segments, reason, and whether chosen."""
        frame = self.preview.frame()
        chosen = np.zeros(len(frame), dtype=bool)
        chosen[self.rows] = True
        # The column names are unique, so get_loc gives a position, never a slice or mask.
        frame.insert(cast(int, frame.columns.get_loc("eligible")), "chosen", chosen)
        reason = np.array(frame["reason"].astype(object).to_numpy(), dtype=object)
        if self.preview.receivable_costs is not None:
            # A chosen repeat (R3) costs what it will be sent as, not 0.
            for column, costs in zip(
                ("units", "parts", "segments"),
                (
                    self.preview.receivable_costs[0],
                    self.preview.receivable_costs[2],
                    self.preview.receivable_costs[1],
                ),
                strict=True,
            ):
                frame[column] = np.where(chosen, costs, frame[column].to_numpy())
        # R3: a repeat whose earlier row was narrowed away is sent; one of a chosen row is not.
        receivable = self.preview.assessment.receivable
        reason[receivable & chosen] = "ok"
        repeats = np.zeros(len(frame), dtype=bool)
        repeats[self.repeats] = True
        reason[receivable & ~chosen & ~repeats] = "ok"  # narrowed away, not excluded
        reason[receivable & ~chosen & repeats] = "duplicate"
        frame["reason"] = reason
        return frame

    def csv_bytes(self) -> bytes:
        """The per-recipient preview as CSV, safe to open in Excel (the download)."""
        return csv_bytes(self.preview.export_table())


def _read_roster(roster: Roster) -> bytes:
    if callable(roster):
        return roster()
    if isinstance(roster, bytes):
        return roster
    return Path(roster).read_bytes()


def idempotency_key(
    *,
    nonce: str,
    roster_digest: str,
    body: str,
    mapping: Sequence[tuple[str, str]],
    filters: Sequence[tuple[str, Sequence[str]]],
    send_at: datetime | None,
    quiet_policy: str,
    urgent_reason: str | None,
    deadline: datetime | None = None,
) -> str:
    """The key one confirmation is known by: the same inputs from the same form (``nonce``)
    give the same key, so a rerun, a double click or a refresh confirms one campaign."""
    digest = hashlib.sha256()
    parts = (
        nonce,
        roster_digest,
        body,
        repr(tuple(mapping)),
        repr(tuple((h, tuple(v)) for h, v in filters)),
        send_at.isoformat() if send_at else "now",
        quiet_policy,
        urgent_reason or "",
        deadline.isoformat() if deadline else "",
    )
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def sender_in_use(provider: str, sender_mode: str, sender_number: str) -> str:
    """R14: the sender number recipients will see, as the provider will really send it.

    A dedicated number is handed to the provider with each message (Karaden through its
    dedicated service, Twilio as ``From``). With the shared plan Karaden and the sandbox
    send from the common number, and Twilio from ``SMS_TWILIO_FROM`` (or the number its
    Messaging Service picks, which only Twilio knows).
    """
    if sender_mode == "dedicated":
        return sender_number
    if provider == "twilio":
        from sms_core.errors import ConfigError
        from sms_core.providers.factory import PROVIDERS
        from sms_core.providers.settings import load_settings

        wanted = tuple(
            s for s in PROVIDERS["twilio"] if s.key in ("from_number", "messaging_service_sid")
        )
        try:
            values = load_settings("twilio", wanted, {})
        except ConfigError:
            values = {}
        if values.get("from_number"):
            return str(values["from_number"])
        if values.get("messaging_service_sid"):
            return f"Messaging Service {values['messaging_service_sid']}"
    return SHARED_SENDER_NUMBER


def draft_send(
    engine: Engine,
    *,
    roster: Roster,
    roster_name: str | None = None,
    body: str | None = None,
    template_name: str | None = None,
    mapping: Mapping[str, str] | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
    send_at: datetime | None = None,
    quiet_policy: str = "refuse",
    urgent_reason: str | None = None,
    name: str | None = None,
    nonce: str = "",
    key: str | None = None,
    cache: PreviewCache | None = None,
    source_id: str | None = None,
    quiet: QuietHours | None = None,
    deadline: datetime | None = None,
    sample: bool = False,
) -> SendDraft:
    """Draft a send: preview, narrowing, cost, quiet hours, quota month, sender and key.

    ``body`` is the text; without it, the body of the template ``template_name`` (with
    it, ``template_name`` only records where the body came from). ``filters`` maps a roster
    column to the values to keep. ``cache`` (one per form) keeps the roster's assessment so
    a changed body is only re-costed; ``source_id`` names an upload so it is read once.
    ``key`` replaces the derived idempotency key (the CLI's ``--key``). ``deadline``
    (送信期限, issue 12): messages not handed over by then expire. ``sample`` marks
    a draft of the bundled sample roster (the page's "try the sample"): it is shown but
    blocked (``sample``), and confirming it is refused. Raises for bad
    input (roster, body, mapping, a past or naive time); every reason not to send is in
    ``blocked`` instead, so the draft can still be shown.
    """
    # Everything the use case loads itself, read in one transaction (this runs on every
    # keystroke of the New send page).
    with transaction(read_only(engine)) as session:
        if body is None:
            if not template_name:
                raise InputError(
                    "give the message text or the name of a template", key="send.no_body"
                )
            template = get_template(session, template_name)
            body, template_name = template.body, template.name
        blocked_numbers = suppressed_numbers(session)
        settings = effective_all(session)
        # Issue 12: numbers already at today's frequency cap show as frequency_cap.
        capped = numbers_at_cap(session, frequency_cap_of(session), now_utc())
        contract = get_contract(session)
        now = now_utc()
        terms = (
            (contract.sender_mode, contract.sender_number, contract_end(contract))
            if contract is not None
            else None
        )
        ended = contract is not None and contract_ended_error(contract, now) is not None
        quiet = quiet or QuietHours.parse(settings["quiet_hours"].value)
        blocked: str | None = None
        problem: InputError | None = None
        try:
            planned = plan_send_time(
                send_at, now=now, quiet=quiet, policy=quiet_policy, urgent_reason=urgent_reason
            )
        except InputError as exc:
            # Without its traceback: the draft outlives this frame (and its session).
            planned, blocked, problem = None, "time", exc.with_traceback(None)
        starts = planned.when if planned else None
        if blocked is None and deadline is not None:
            try:
                check_deadline(deadline, starts or now)
            except InputError as exc:
                blocked, problem = "time", exc.with_traceback(None)
        month = quota.jst_month(starts or send_at or now)
        status = quota.remaining(session, month)
    provider = settings["provider"].value
    if isinstance(roster, (str, Path)):
        roster_name = roster_name or Path(roster).name
    if not roster_name:
        raise InputError(
            "give the roster file's name (its extension says how to read it)",
            key="send.no_roster_name",
        )
    cache = cache or PreviewCache()
    mapping_items = tuple(sorted((mapping or {}).items()))
    filter_items = tuple((h, tuple(v)) for h, v in (filters or {}).items())
    result = cache.preview(
        lambda: _read_roster(roster),
        roster_name,
        body,
        source_id=source_id,
        mapping=dict(mapping_items) or None,
        suppressed=blocked_numbers,
        capped=capped,
        short_url_base=short_url_base(settings["short_url_base"].value),
    )
    selection = result.select(dict(filter_items))
    after = status.remaining - selection.units
    if sample:
        blocked = "sample"
    elif terms is None:
        blocked = "no_contract"
    elif ended:
        blocked = "contract_ended"
    elif blocked is None and planned is not None and planned.outcome == "refused":
        blocked = "quiet_refused"
    elif blocked is None and status.cap == 0:
        blocked = "outside_contract"
    elif blocked is None and not selection.recipients:
        blocked = "nobody"
    elif blocked is None and status.remaining <= 0:
        blocked = "none_left"
    elif blocked is None and after < 0:
        blocked = "short"
    reasons = result.assessment.reason_counts()
    # R3: repeats are counted among the chosen rows (narrowing changes who repeats whom).
    whole_duplicates = int((result.assessment.reason == DUPLICATE).sum())
    reasons["ok"] += whole_duplicates - selection.duplicates
    reasons["duplicate"] = selection.duplicates
    receivable = int(result.assessment.receivable.sum())
    return SendDraft(
        name=(name or "").strip() or Path(roster_name).stem,
        body=result.body,
        template_name=(template_name or "").strip() or None,
        roster_name=roster_name,
        mapping=mapping_items,
        filters=filter_items,
        send_at=send_at,
        quiet_policy=quiet_policy,
        urgent_reason=urgent_reason,
        preview=result,
        rows=selection.rows,
        repeats=selection.repeats,
        recipients=selection.recipients,
        units=selection.units,
        segments=selection.segments,
        messages=selection.messages,
        reasons={code: reasons[code] for code in REASONS},
        narrowed_out=receivable - selection.recipients - selection.duplicates,
        quiet_outcome=planned.outcome if planned else "clear",
        quiet_window=quiet.label(),
        starts_at=starts,
        month=month,
        cap=status.cap,
        remaining_before=status.remaining,
        remaining_after=after,
        shortfall=max(0, -after),
        links_expire_on=links_expire_on(result, starts or send_at),
        provider=provider,
        sender=sender_in_use(provider, terms[0], terms[1]) if terms else None,
        contract_end=terms[2] if terms else None,
        key=key
        or idempotency_key(
            nonce=nonce,
            roster_digest=cache.digest or "",
            body=result.body,
            mapping=mapping_items,
            filters=filter_items,
            send_at=send_at,
            quiet_policy=quiet_policy,
            urgent_reason=urgent_reason,
            deadline=deadline,
        ),
        blocked=blocked,
        problem_error=problem,
        deadline=deadline,
        sample=sample,
        unit_price_yen=_unit_price(settings),
    )


def _unit_price(settings) -> float:
    # From the environment the value is not checked when set: an unusable one costs 0,
    # so no estimate is shown rather than a wrong one.
    try:
        price = float(settings["unit_price_yen"].value)
    except (KeyError, ValueError):
        return 0.0
    return price if price >= 0 else 0.0


def confirm_send(
    engine: Engine, draft: SendDraft, *, actor: str, quiet: QuietHours | None = None
) -> CampaignInfo:
    """Turn ``draft`` into a campaign in one transaction, idempotent on its key.

    Everything is checked again at this moment (the contract, quiet hours, the month's
    quota with one conditional reservation): QuotaError with the shortfall, StateError
    without a contract or after it ended, InputError for a bad time or no recipient, or
    for a draft of the sample roster (never sent, whatever the caller).
    """
    if draft.sample:
        raise InputError(
            "the sample roster is for trying the preview only: upload your own roster to send",
            key="send.sample",
        )
    return confirm_campaign(
        engine,
        draft.preview,
        name=draft.name,
        idempotency_key=draft.key,
        actor=actor,
        provider=draft.provider,
        send_at=draft.send_at,
        rows=draft.rows,
        quiet=quiet,
        quiet_policy=draft.quiet_policy,
        urgent_reason=draft.urgent_reason,
        template_name=draft.template_name,
        deadline=draft.deadline,
    )


def one_number_roster(number: str) -> bytes:
    """The one-row roster of a test send to the mobile ``number``."""
    if not number or not number.strip():
        raise InputError(
            "give the mobile number to send the test message to", key="test_send.no_number"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["応募者ID", "氏名", "区分", "携帯電話番号"])
    writer.writerow(["TEST", TEST_NAME, "新卒", number.strip()])
    return buffer.getvalue().encode("utf-8")


def draft_test_send(engine: Engine, number: str, body: str, *, key: str) -> SendDraft:
    """A test send: one message to one number now, as a campaign of one.

    Everything a send guarantees holds for it (the number is judged by the same rules, its
    units come out of the month's quota, the same key confirms once) except quiet hours:
    it goes to the team's own phone. Raises InputError naming the reason when the number
    cannot receive it.
    """
    digits = "".join(c for c in unicodedata.normalize("NFKC", number or "") if c.isdigit())
    draft = draft_send(
        engine,
        roster=one_number_roster(number),
        roster_name="test_send.csv",
        body=body,
        name=f"{TEST_SEND_NAME} ****{digits[-4:]}",
        key=key,
        quiet=NO_QUIET_HOURS,
    )
    if not draft.recipients:
        reason = next(code for code, n in draft.reasons.items() if n and code != "ok")
        raise InputError(
            f"{number.strip()} cannot receive a test send (reason: {reason})",
            key="test_send.not_mobile",
        )
    return draft
