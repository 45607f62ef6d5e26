"""Pushed delivery receipts: verify, parse, and apply them to messages (R15, issue 3).

``POST /receipts/{provider}`` for ``twilio``, ``karaden`` and ``sandbox``. Each request
goes through four steps, and any failing step answers without writing anything:

1. **Signature** (:mod:`sms_core.linkserver.signatures`). Twilio: ``X-Twilio-Signature``
   with the account's auth token (``SMS_TWILIO_AUTH_TOKEN``) over the public URL
   (``SMS_PUBLIC_BASE_URL`` + path + query: behind a proxy the URL we see is not the one
   Twilio signed). Karaden and sandbox: ``X-SMS-Timestamp`` + ``X-SMS-Signature``,
   HMAC-SHA256 with ``SMS_KARADEN_WEBHOOK_SECRET`` / ``SMS_SANDBOX_WEBHOOK_SECRET`` (or
   ``webhook_secret`` under ``[providers.karaden]`` / ``[providers.sandbox]`` of
   ``.streamlit/secrets.toml``), at most ``SMS_WEBHOOK_MAX_AGE_SECONDS`` (300) old.
   Unsigned, badly signed, stale, or for a provider without a configured secret → 403.
2. **Parsing** → 400 if the body is not the provider's receipt.

   * Twilio: the status callback's form (``MessageSid``, ``MessageStatus``,
     ``ErrorCode``); our ``client_ref`` is in the callback URL's query, which the
     adapter adds (:class:`~sms_core.providers.twilio.TwilioProvider`).
   * Karaden: the documented "SMS送達結果通知" callback — a JSON message object, as the
     message API returns it (``id``, ``status``, ``result``, ``sent_result``, ``tags`` with
     our ``client_ref``). Karaden documents only a ``Karaden-Version`` header and no
     signature of its own, so **we assume** its callbacks reach us through a relay (an
     API gateway or a small function at the callback URL) that adds the shared-secret
     headers above; a Karaden callback without them is refused like any unsigned request.
   * Sandbox: JSON ``{"provider_id", "client_ref", "state", "reason"}`` (for tests and
     local tools; the sandbox itself pushes nothing).
3. **Replay**: the SHA-256 of the verified signature goes into ``receipt_seen`` in the
   same transaction as the change; the same signature again → 409. Rows are pruned after
   the replay window (Twilio's after ``TWILIO_SEEN_DAYS``: its signature has no time).
4. **Application**, by the worker's rules (:mod:`sms_core.sending.dispatch`), each a conditional
   UPDATE on the state read, so it never overwrites a change made meanwhile:

   ==============  ==========================================================================
   message state   what a receipt does
   ==============  ==========================================================================
   ``accepted``    delivered → ``delivered``; failed → ``failed`` with the carrier's reason
                   (units stay used: the provider took it, as when the worker polls)
   ``unknown``     settled as the worker settles it through a lookup: accepted, delivered
                   or failed as the receipt says, and its units move reserved → used
   ``delivered``   nothing: final, never moved back by a late or out-of-order receipt
   ``failed``      nothing: final
   ``sending``     refused (409, retry later): a worker holds it and is recording the
                   provider's answer with its quota move; the next receipt or the worker's
                   status poll brings the state
   ``queued``,     refused (409): never handed over as far as we know (units reserved or
   ``cancelled``   released); a receipt for it needs a person, not a silent quota change
   ==============  ==========================================================================

   A message is found by the provider's id, else by our ``client_ref`` (a message whose
   answer was lost has no provider id yet); none of this provider → 404.
   The same receipt twice (signed again, so not a replay) finds the state it set and
   changes nothing. Secrets never reach a log line, an answer or the database.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import ConfigError
from sms_core.linkserver.signatures import (
    SHARED_SIGNATURE_HEADER,
    SHARED_TIMESTAMP_HEADER,
    TWILIO_SIGNATURE_HEADER,
    normalise_shared_signature,
    signature_digest,
    verify_shared,
    verify_twilio,
)
from sms_core.providers import karaden, twilio
from sms_core.providers.base import ACCEPTED, FAILED, STATES, Receipt
from sms_core.providers.settings import Secret, Setting, load_settings
from sms_core.sending.dispatch import DispatchConfig, record_receipt
from sms_core.sending.states import FINAL_MESSAGE_STATES, MessageState, settle_accepted
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message, ReceiptSeen

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "PROVIDERS",
    "ReceiptConfig",
    "ReceiptOutcome",
    "ReceiptRefused",
    "ReceiptRequest",
    "handle_receipt",
]

log = logging.getLogger(__name__)

PROVIDERS = ("twilio", "karaden", "sandbox")
DEFAULT_MAX_AGE_SECONDS = 300
# Twilio signs no timestamp: a captured request stays valid, so its digest is kept longer.
TWILIO_SEEN_DAYS = 30
# The secret (or token) of each provider's receipts: environment, else secrets.toml.
_SECRETS = {
    "twilio": Setting("auth_token", "SMS_TWILIO_AUTH_TOKEN", secret=True),
    "karaden": Setting("webhook_secret", "SMS_KARADEN_WEBHOOK_SECRET", secret=True),
    "sandbox": Setting("webhook_secret", "SMS_SANDBOX_WEBHOOK_SECRET", secret=True),
}
_PRUNE_EVERY_SECONDS = 600.0


class ReceiptRefused(Exception):
    """A receipt answered with ``status`` and ``reason``; nothing was written.

    ``reason`` is public (it goes into the answer): it never holds a secret or the body.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class ReceiptRequest:
    """What the WSGI app hands over: the request as the provider made it."""

    provider: str
    url: str  # the public URL the provider requested (see ReceiptConfig.public_base_url)
    query: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class ReceiptOutcome:
    """What a receipt did: ``applied`` (state changed) or ``unchanged``; the state now."""

    result: str
    state: str
    message_id: int


@dataclass
class ReceiptConfig:
    """Secrets and limits of the receipt endpoint, read once when the app is built."""

    secrets: dict[str, Secret | None]
    public_base_url: str | None = None
    max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS
    poll_after: float = DispatchConfig.status_poll_after

    def __repr__(self) -> str:  # never print the secrets' values, even masked ones' count
        configured = sorted(k for k, v in self.secrets.items() if v is not None)
        return f"ReceiptConfig(configured={configured}, public_base_url={self.public_base_url!r})"

    @classmethod
    def from_env(cls, *, secrets_path: str | None = None) -> ReceiptConfig:
        """Secrets from the environment or secrets.toml; limits from the environment."""
        secrets: dict[str, Secret | None] = {}
        for provider, setting in _SECRETS.items():
            value = load_settings(provider, (setting,), {}, secrets_path=secrets_path)
            secrets[provider] = value[setting.key]  # type: ignore[assignment]
        raw_age = os.environ.get("SMS_WEBHOOK_MAX_AGE_SECONDS", "").strip()
        try:
            max_age = float(raw_age) if raw_age else DEFAULT_MAX_AGE_SECONDS
        except ValueError:
            raise ConfigError("SMS_WEBHOOK_MAX_AGE_SECONDS must be a number of seconds") from None
        if not 1 <= max_age <= 3600:
            raise ConfigError("SMS_WEBHOOK_MAX_AGE_SECONDS must be from 1 to 3600 seconds")
        base = os.environ.get("SMS_PUBLIC_BASE_URL", "").strip() or None
        if base is not None and not base.startswith(("http://", "https://")):
            raise ConfigError("SMS_PUBLIC_BASE_URL must start with http:// or https://")
        return cls(secrets, base.rstrip("/") if base else None, max_age)


@dataclass(frozen=True)
class _Parsed:
    receipt: Receipt
    client_ref: str | None
    error_code: str | None


# --- 1. signature --------------------------------------------------------------------


def _verify(request: ReceiptRequest, config: ReceiptConfig, now: float) -> str:
    """Check the signature; returns the digest to remember, or raises 403."""
    secret = config.secrets.get(request.provider)
    if secret is None:
        # Named by its variable, never shown: without it nothing can be verified.
        raise ReceiptRefused(403, f"receipts from {request.provider} are not configured")
    if request.provider == "twilio":
        signature = request.headers.get(TWILIO_SIGNATURE_HEADER.lower())
        params = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        if not signature:
            raise ReceiptRefused(403, "the request is not signed")
        if not verify_twilio(secret.reveal(), request.url, params, signature):
            raise ReceiptRefused(403, "the signature does not match")
        return signature_digest(signature)
    signature = request.headers.get(SHARED_SIGNATURE_HEADER.lower())
    problem = verify_shared(
        secret.reveal(),
        request.headers.get(SHARED_TIMESTAMP_HEADER.lower()),
        request.body,
        signature,
        now=now,
        max_age=config.max_age_seconds,
    )
    if problem == "missing":
        raise ReceiptRefused(403, "the request is not signed")
    if problem == "stale":
        raise ReceiptRefused(403, "the signed timestamp is outside the allowed window")
    if problem is not None:
        raise ReceiptRefused(403, "the signature does not match")
    return signature_digest(normalise_shared_signature(signature or ""))


# --- 2. parsing ----------------------------------------------------------------------


def _parse(request: ReceiptRequest) -> _Parsed:
    try:
        if request.provider == "twilio":
            return _parse_twilio(request)
        document = json.loads(request.body.decode("utf-8"))
        if request.provider == "karaden":
            return _parse_karaden(document)
        return _parse_sandbox(document)
    except (ValueError, UnicodeDecodeError, TypeError, KeyError, RecursionError):
        # RecursionError: deeply nested JSON ([[[[…]]]]) exhausts the parser's stack.
        raise ReceiptRefused(400, f"the body is not a {request.provider} receipt") from None


def _parse_twilio(request: ReceiptRequest) -> _Parsed:
    form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    status = form.get("MessageStatus") or form.get("SmsStatus")
    message = {"sid": form.get("MessageSid") or form.get("SmsSid"), "status": status}
    code = (form.get("ErrorCode") or "").strip() or None
    if code:
        message["error_code"] = code
    receipt = twilio.receipt_from_message(message)
    ref = dict(parse_qsl(request.query)).get("client_ref")
    return _Parsed(receipt, ref or None, code if receipt.state == FAILED else None)


def _parse_karaden(document: object) -> _Parsed:
    receipt = karaden.receipt_from_message(document)
    tags = document.get("tags") if isinstance(document, dict) else None
    ref = next((t for t in tags or [] if isinstance(t, str) and t), None)
    return _Parsed(receipt, ref, None)


def _parse_sandbox(document: object) -> _Parsed:
    if not isinstance(document, dict) or document.get("state") not in STATES:
        raise ValueError("not a sandbox receipt")
    provider_id = str(document.get("provider_id") or "")
    if not provider_id:
        raise ValueError("no provider_id")
    reason = document.get("reason")
    receipt = Receipt(provider_id, document["state"], str(reason) if reason else None)
    ref = document.get("client_ref")
    return _Parsed(receipt, str(ref) if ref else None, None)


# --- 3 and 4. replay and application -------------------------------------------------


def _find(s: Session, provider: str, parsed: _Parsed):
    columns = (
        Message.id,
        Message.state,
        Message.provider_id,
        Message.units,
        Campaign.quota_month,
    )
    base = select(*columns).join(Campaign, Campaign.id == Message.campaign_id)
    row = s.execute(
        base.where(
            Message.provider == provider, Message.provider_id == parsed.receipt.provider_id
        ).limit(1)
    ).first()
    if row is None and parsed.client_ref:
        row = s.execute(
            base.where(Message.provider == provider, Message.client_ref == parsed.client_ref)
        ).first()
        if row is not None and row.provider_id not in (None, parsed.receipt.provider_id):
            # Our reference, but another provider message: never let one overwrite the other.
            raise ReceiptRefused(409, "the reference belongs to another provider message")
    if row is None:
        raise ReceiptRefused(404, "no message of this provider has that id")
    return row


def _apply(s: Session, row, parsed: _Parsed, now: datetime, poll_after: float) -> ReceiptOutcome:
    receipt = parsed.receipt
    if row.state in FINAL_MESSAGE_STATES and row.state != MessageState.CANCELLED:
        return ReceiptOutcome("unchanged", row.state, row.id)
    if row.state == MessageState.ACCEPTED:
        if receipt.state == ACCEPTED:
            return ReceiptOutcome("unchanged", row.state, row.id)
        # Used units stay used: the provider took the message, as the poller records it.
        changed = settle_accepted(
            s, row.id, receipt.state, now, reason=receipt.reason, error_code=parsed.error_code
        )
        return _outcome(s, row.id, changed)
    if row.state == MessageState.UNKNOWN:
        # As the worker settles an unknown message: the provider has it, so its units are
        # used, whatever the carrier did with it.
        changed = record_receipt(
            s,
            row.id,
            MessageState.UNKNOWN,
            receipt,
            row.quota_month,
            row.units,
            now=now,
            poll_after=poll_after,
            error_code=parsed.error_code if receipt.state == FAILED else None,
        )
        return _outcome(s, row.id, changed)
    if row.state == MessageState.SENDING:
        raise ReceiptRefused(409, "the message is being recorded by a worker; retry later")
    raise ReceiptRefused(409, f"a {row.state} message cannot take a receipt")


def _outcome(s: Session, message_id: int, changed: int | None) -> ReceiptOutcome:
    state = s.scalar(select(Message.state).where(Message.id == message_id))
    return ReceiptOutcome("applied" if changed else "unchanged", str(state), message_id)


class ReceiptHandler:
    """Verifies, parses and applies receipts over one database; prunes seen digests."""

    def __init__(self, engine: Engine, config: ReceiptConfig) -> None:
        self.engine = engine
        self.config = config
        self._next_prune = 0.0
        self._prune_lock = threading.Lock()

    def handle(self, request: ReceiptRequest) -> ReceiptOutcome:
        """Apply one request; raises :class:`ReceiptRefused` having written nothing."""
        if request.provider not in PROVIDERS:
            raise ReceiptRefused(404, "unknown provider")
        now = now_utc()
        digest = _verify(request, self.config, now.timestamp())
        parsed = _parse(request)
        self._maybe_prune(now)
        try:
            with transaction(self.engine) as s:
                # First: a concurrent copy of this request waits here on the key, then
                # fails, instead of both applying.
                s.execute(
                    insert(ReceiptSeen).values(
                        provider=request.provider, digest=digest, received_at=now
                    )
                )
                row = _find(s, request.provider, parsed)
                outcome = _apply(s, row, parsed, now, self.config.poll_after)
                s.execute(
                    update(ReceiptSeen)
                    .where(ReceiptSeen.provider == request.provider, ReceiptSeen.digest == digest)
                    .values(message_id=row.id)
                )
        except IntegrityError:
            raise ReceiptRefused(409, "this request was already received") from None
        log.info(
            "receipt from %s for message %s: %s (%s)",
            request.provider,
            outcome.message_id,
            parsed.receipt.state,
            outcome.result,
        )
        return outcome

    def _maybe_prune(self, now: datetime) -> None:
        """Forget digests no request can reuse any more, at most every few minutes."""
        with self._prune_lock:
            if time.monotonic() < self._next_prune:
                return
            self._next_prune = time.monotonic() + _PRUNE_EVERY_SECONDS
        # Twice the window: a request signed at the window's future edge stays refusable.
        shared_before = now - timedelta(seconds=2 * self.config.max_age_seconds)
        twilio_before = now - timedelta(days=TWILIO_SEEN_DAYS)
        with transaction(self.engine) as s:
            s.execute(
                delete(ReceiptSeen).where(
                    ReceiptSeen.provider != "twilio", ReceiptSeen.received_at < shared_before
                )
            )
            s.execute(
                delete(ReceiptSeen).where(
                    ReceiptSeen.provider == "twilio", ReceiptSeen.received_at < twilio_before
                )
            )


def handle_receipt(
    engine: Engine, config: ReceiptConfig, request: ReceiptRequest
) -> ReceiptOutcome:
    """One receipt request, without keeping a handler (see :class:`ReceiptHandler`)."""
    return ReceiptHandler(engine, config).handle(request)
