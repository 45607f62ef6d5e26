"""Twilio Programmable Messaging (``/2010-04-01/Accounts/{AccountSid}/Messages``).

* send: ``POST …/Messages.json``, form ``To`` (E.164, ``+81…``), ``From`` or
  ``MessagingServiceSid``, ``Body``, optional ``StatusCallback``; HTTP basic auth with the
  account SID and auth token;
* status: ``GET …/Messages/{Sid}.json``;
* erase: ``DELETE …/Messages/{Sid}.json`` once the message is final (issue 13);
* find: Twilio has no idempotency key or tag, so an ``unknown`` part is settled by listing the
  messages to that number around the time it was sent and matching the body.

States: queued / accepted / scheduled / sending / sent → ``accepted``; delivered / read →
``delivered``; failed / undelivered / canceled / partially_delivered → ``failed`` with the
error code and its meaning as the reason.

Error codes, decided one by one against the rule "retry only if certainly not processed":

* 20429 (too many requests, HTTP 429) and 21611 (the sender's queue is full: the create is
  refused) → ProviderTransient: no message was created;
* 30001 (queue overflow) comes on a message that *was* created and then failed inside Twilio
  before reaching a carrier. At send it is ProviderTransient (Twilio never sent it); from
  ``status()`` it is a ``failed`` receipt whose reason says it is safe to send again;
* 30003 (unreachable handset) is not "not processed": Twilio handed the message to the carrier
  (and bills it), so it is a ``failed`` delivery, never retried automatically;
* 21211, 21408, 21606, 21610, 21612, 21614, 30004-30008 and other 4xx → ProviderPermanent
  (or a ``failed`` receipt when they come with a status), with Twilio's message.
"""

from __future__ import annotations

import base64
import email.utils
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import requests

from sms_core.clock import now_utc
from sms_core.errors import ConfigError, ProviderPermanent, ProviderTransient
from sms_core.providers.base import ACCEPTED, DELIVERED, FAILED, Outbound, Provider, Receipt
from sms_core.providers.numbers import mask, to_e164
from sms_core.providers.settings import Secret
from sms_core.providers.transport import DEFAULT_TIMEOUT, HttpTransport, Timeout

__all__ = ["DEFAULT_BASE_URL", "TwilioProvider", "receipt_from_message"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twilio.com"
PAGE_SIZE = 100

_STATES = {
    "queued": ACCEPTED,
    "accepted": ACCEPTED,
    "scheduled": ACCEPTED,
    "sending": ACCEPTED,
    "sent": ACCEPTED,
    "delivered": DELIVERED,
    "read": DELIVERED,
    "failed": FAILED,
    "undelivered": FAILED,
    "canceled": FAILED,
    "partially_delivered": FAILED,
}
# Refused at create: no message exists, sending again is safe.
NOT_PROCESSED_CODES = frozenset({"20429", "21611"})
# Failed inside Twilio before any carrier saw it: the message was never sent.
NEVER_SENT_CODES = frozenset({"30001"})
REASONS = {
    "20429": "too many requests",
    "21211": "invalid 'To' phone number",
    "21408": "sending to this region is not enabled on the account",
    "21602": "the message body is required",
    "21606": "the 'From' number is not an SMS-capable number of this account",
    "21610": "the recipient has unsubscribed (replied STOP)",
    "21611": "the sender's queue is full",
    "21612": "the 'To' number cannot be reached from this sender",
    "21614": "the 'To' number is not a mobile number",
    "21617": "the message body is too long",
    "30001": "queue overflow: Twilio never sent it, it is safe to send again",
    "30002": "the account is suspended",
    "30003": "unreachable handset (switched off or out of coverage)",
    "30004": "message blocked by the recipient or the carrier",
    "30005": "unknown handset: the number does not exist",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error from the carrier",
}


class TwilioProvider(Provider):
    """Twilio's Messages resource over HTTPS."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str | Secret,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
        clock_skew: timedelta = timedelta(minutes=2),
        session: requests.Session | None = None,
        max_pages: int = 20,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if not (from_number or messaging_service_sid):
            raise ConfigError(
                "Twilio needs a sender: set 'from_number' (SMS_TWILIO_FROM) or "
                "'messaging_service_sid' (SMS_TWILIO_MESSAGING_SERVICE_SID)",
                key="provider.no_sender",
            )
        secret = auth_token.reveal() if isinstance(auth_token, Secret) else auth_token
        self._account = quote(account_sid, safe="")
        self._from = from_number
        self._service = messaging_service_sid
        self._callback = status_callback
        self._skew = clock_skew
        self._max_pages = max_pages
        self._page_size = page_size
        basic = base64.b64encode(f"{account_sid}:{secret}".encode()).decode()
        self._http = HttpTransport(
            label="Twilio",
            base_url=base_url,
            timeout=timeout,
            headers={"Accept": "application/json"},
            auth=(account_sid, secret),
            secrets=(secret, basic),
            session=session,
        )

    def __repr__(self) -> str:
        return f"TwilioProvider(base_url={self._http.base_url!r})"

    def send(self, msg: Outbound) -> Receipt:
        """``POST …/Messages.json``; a part failed by Twilio at once raises, see the module."""
        to = to_e164(msg.to)
        data = [("To", to), ("Body", msg.body)]
        if msg.sender:
            data.append(("From", to_e164(msg.sender) if msg.sender[:1].isdigit() else msg.sender))
        elif self._from:
            data.append(("From", self._from))
        else:
            data.append(("MessagingServiceSid", self._service or ""))
        # Twilio may otherwise swap Unicode characters for look-alikes, and find() matches
        # the body exactly.
        data.append(("SmartEncoded", "false"))
        if self._callback:
            data.append(("StatusCallback", _with_query(self._callback, client_ref=msg.client_ref)))
        validity = validity_period(msg.valid_until)
        if validity is not None:
            data.append(("ValidityPeriod", str(validity)))
        reply = self._http.request(
            "POST",
            self._messages(".json"),
            data=data,
            describe=describe,
            not_processed=NOT_PROCESSED_CODES,
        )
        receipt = self._receipt(reply.body, idempotent=False)
        code = _code(reply.body)
        if reply.body.get("status") == "failed":
            if code in NEVER_SENT_CODES:
                raise ProviderTransient(f"Twilio: {receipt.reason}", code=code)
            raise ProviderPermanent(f"Twilio failed the message: {receipt.reason}", code=code)
        log.debug(
            "twilio accepted %s to %s as %s (%s)",
            msg.client_ref,
            mask(to),
            receipt.provider_id,
            receipt.state,
        )
        return receipt

    def status(self, provider_id: str) -> Receipt:
        """``GET …/Messages/{Sid}.json``."""
        reply = self._http.request(
            "GET", self._messages("/" + quote(provider_id, safe="") + ".json"), describe=describe
        )
        return self._receipt(reply.body, idempotent=True)

    def delete_message(self, provider_id: str) -> None:
        """``DELETE …/Messages/{Sid}.json``: Twilio's stored copy (number and text) goes.

        Twilio deletes only a message that is final (delivered, undelivered, failed…);
        earlier it answers 409 (code 20009), raised as ProviderPermanent. A message
        already deleted answers 404, which counts as done.
        """
        try:
            self._http.request(
                "DELETE",
                self._messages("/" + quote(provider_id, safe="") + ".json"),
                describe=describe,
            )
        except ProviderPermanent as exc:
            if exc.code not in ("20404", "404"):
                raise

    def find(self, msg: Outbound, sent_after: datetime) -> Receipt | None:
        """The message with ``msg``'s body to ``msg.to`` created after ``sent_after``, or None.

        Two listings, merged: the documented ``DateSent>=`` filter, and the newest messages to
        the number without a date filter back to ``sent_after`` — a message still queued has
        no ``date_sent`` yet, so a date filter alone could miss it and lead to a second send.
        ``sent_after`` (naive means UTC) is widened by the allowed clock skew. Several matches
        that Twilio may have sent raise ProviderAmbiguous: which one is this part cannot be told.
        """
        if sent_after.tzinfo is None:  # SQLite hands back naive UTC timestamps
            sent_after = sent_after.replace(tzinfo=UTC)
        since = sent_after - self._skew
        to = to_e164(msg.to)
        body = _lf(msg.body)
        found: dict[str, dict[str, Any]] = {}
        dated = {"To": to, "DateSent>": since.astimezone(UTC).date().isoformat()}
        for item in self._list(dated, since=None):
            found[str(item.get("sid"))] = item
        for item in self._list({"To": to}, since=since):
            found[str(item.get("sid"))] = item
        matches = [
            item
            for item in found.values()
            if _lf(str(item.get("body") or "")) == body
            and str(item.get("direction") or "outbound").startswith("outbound")
            and _created(item, default=since) >= since
        ]
        if not matches:
            return None
        live = [
            m for m in matches if not (m.get("status") == "failed" and _code(m) in NEVER_SENT_CODES)
        ]
        if len(live) > 1:
            raise self._http.unsure(
                f"{len(live)} messages to this number with the same text since "
                f"{since:%Y-%m-%d %H:%M} UTC; which one is this part cannot be told",
                idempotent=False,
                code="several_matches",
            )
        chosen = live[0] if live else max(matches, key=lambda m: _created(m, default=since))
        return self._receipt(chosen, idempotent=True)

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    # --- helpers -----------------------------------------------------------------------

    def _messages(self, suffix: str) -> str:
        return f"/2010-04-01/Accounts/{self._account}/Messages{suffix}"

    def _list(self, params: dict[str, str], *, since: datetime | None) -> Iterator[dict[str, Any]]:
        """Messages of a listing, newest first, following ``next_page_uri``.

        With ``since``, stop after the first page that reaches messages created before it.
        """
        path: str = self._messages(".json")
        query: dict[str, str] | None = {**params, "PageSize": str(self._page_size)}
        for _ in range(self._max_pages):
            reply = self._http.request("GET", path, params=query, describe=describe)
            page = reply.body
            if not (isinstance(page, dict) and isinstance(page.get("messages"), list)):
                raise self._http.unsure(
                    "the message list is not in the documented form", idempotent=True
                )
            items = [m for m in page["messages"] if isinstance(m, dict)]
            yield from items
            next_uri = page.get("next_page_uri")
            if not next_uri:
                return
            if since is not None and any(_created(m, default=since) < since for m in items):
                return
            path = self._http.base_url + str(next_uri)
            query = None  # next_page_uri carries the whole query
        raise self._http.unsure(f"more than {self._max_pages} pages of messages", idempotent=True)

    def _receipt(self, body: Any, *, idempotent: bool) -> Receipt:
        try:
            return receipt_from_message(body)
        except ValueError as e:
            raise self._http.unsure(str(e), idempotent=idempotent, code="malformed") from None


def receipt_from_message(obj: Any) -> Receipt:
    """A :class:`Receipt` from a Twilio Message resource (see the module's state mapping)."""
    if not isinstance(obj, dict) or not obj.get("sid") or not isinstance(obj.get("status"), str):
        raise ValueError("the answer is not a Twilio message")
    status = obj["status"]
    state = _STATES.get(status)
    if state is None:
        log.warning("twilio message %s has an unknown status %r", obj["sid"], status)
        state = ACCEPTED
    reason = None
    if state == FAILED:
        code = _code(obj)
        meaning = REASONS.get(code or "") or str(obj.get("error_message") or "").strip()
        reason = f"{status}" + (f" ({code})" if code else "") + (f": {meaning}" if meaning else "")
    try:
        units = int(obj["num_segments"]) if obj.get("num_segments") is not None else None
    except (TypeError, ValueError):
        units = None
    return Receipt(str(obj["sid"]), state, reason, units)


def describe(body: Any) -> tuple[str | None, str | None]:
    """Code and message of a Twilio error body (``{code, message, more_info, status}``)."""
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = str(body.get("message") or "").strip()
    code_s = str(code) if code is not None else None
    return code_s, message or REASONS.get(code_s or "")


def _code(obj: Any) -> str | None:
    code = obj.get("error_code") if isinstance(obj, dict) else None
    return str(code) if code not in (None, "", 0) else None


def _created(obj: dict[str, Any], *, default: datetime) -> datetime:
    # A date we cannot read counts as inside the window: a wrong "certainly none" costs a
    # double send, a wrong match only a question to a person.
    try:
        when = email.utils.parsedate_to_datetime(str(obj.get("date_created")))
    except (TypeError, ValueError):
        return default
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _lf(text: str) -> str:
    # CRLF is sent as LF (R6); compare bodies the same way whatever a listing returns.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _with_query(url: str, **extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


# Twilio keeps a message queued at most this long (its default too): ValidityPeriod 1–36000 s.
MAX_VALIDITY_SECONDS = 36_000


def validity_period(deadline: datetime | None, now: datetime | None = None) -> int | None:
    """Seconds from now to ``deadline`` as Twilio's ``ValidityPeriod`` (issue 12).

    None without a deadline or when it is further off than Twilio's maximum (its default
    then applies, the same); at least 1 (the worker never hands over after a deadline).
    """
    if deadline is None:
        return None
    seconds = -(-(deadline - (now or now_utc())).total_seconds() // 1)
    if seconds > MAX_VALIDITY_SECONDS:
        return None
    return max(int(seconds), 1)
