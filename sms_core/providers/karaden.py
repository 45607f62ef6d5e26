"""Karaden SMS API (https://prg.karaden.jp): send, status, find by our reference, cancel.

Wire format (API version ``2023-01-01``, as the official SDKs send it):

* ``POST {base}/{tenant_id}/messages``, form-encoded ``service_id``, ``to`` (11 digits),
  ``body`` (≤ 660 characters) and ``tags[]`` — we put our ``client_ref`` there;
* headers ``Authorization: Bearer <token>`` and ``Karaden-Version: 2023-01-01``;
* a message object: ``id``, ``status``, ``result``, ``sent_result``,
  ``charged_count_per_sent``, ``tags`` …; errors ``{object: "error", code, message, errors}``
  on 400/401/403/404/422/429;
* ``GET …/messages/{id}`` (detail), ``GET …/messages?tag=…`` (list:
  ``{object: "list", data, has_more}``, paged by ``page``/``per_page``),
  ``POST …/messages/{id}/cancel``.

The sender number is not a field: it belongs to the service setting (``service_id``). A part
with ``sender`` set goes through ``dedicated_service_id``, the service set up with the
company's dedicated number; without one configured such a part fails (nothing is sent).

State mapping. Karaden's API common spec lists ``result`` (done 完了 / processing 処理中),
``status`` (done 送信済 / waiting 送信待ち / error 送信エラー / canceled 送信キャンセル) and
``sent_result`` (none 送達結果なし / received 着信済 / unconnected 圏外 / error エラー /
unknown 不明). It does not say which combinations are final, so we decided:

* ``status`` canceled or error → ``failed`` (reason: the status, and ``sent_result`` if any);
* ``result`` processing (or missing) → ``accepted``, unless already ``received``;
* ``result`` done → ``delivered`` only for ``sent_result`` received — the carrier confirmed
  it; every other final ``sent_result`` (unconnected, error, unknown, none) → ``failed`` with
  that reason, so success rates count only confirmed deliveries;
* an unknown value → ``accepted`` (not final) and a warning in the log.

Karaden documents no error code as "not processed", so only HTTP 429 is retried.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from sms_core.errors import ProviderPermanent
from sms_core.providers.base import ACCEPTED, DELIVERED, FAILED, Outbound, Provider, Receipt
from sms_core.providers.numbers import check_national, mask
from sms_core.providers.settings import Secret
from sms_core.providers.transport import DEFAULT_TIMEOUT, HttpTransport, Timeout

__all__ = ["API_VERSION", "DEFAULT_BASE_URL", "KaradenProvider", "receipt_from_message"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://prg.karaden.jp/api"
API_VERSION = "2023-01-01"
PER_PAGE = 100

# sent_result values → the reason we show when the message failed.
_SENT_RESULT_REASONS = {
    "none": "no delivery result from the carrier (送達結果なし)",
    "unconnected": "out of service area or switched off (圏外)",
    "error": "the carrier reported an error (エラー)",
    "unknown": "delivery result unknown (不明)",
}
_FINAL_STATUS_REASONS = {
    "canceled": "sending was cancelled (送信キャンセル)",
    "error": "Karaden could not send it (送信エラー)",
}


class KaradenProvider(Provider):
    """The Karaden SMS API over HTTPS."""

    name = "karaden"

    def __init__(
        self,
        *,
        token: str | Secret,
        tenant_id: str,
        service_id: int | str,
        dedicated_service_id: int | str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: Timeout = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        max_pages: int = 20,
        per_page: int = PER_PAGE,
    ) -> None:
        secret = token.reveal() if isinstance(token, Secret) else token
        self._tenant = quote(str(tenant_id), safe="")
        self._service_id = str(service_id)
        self._dedicated_service_id = (
            str(dedicated_service_id) if dedicated_service_id is not None else None
        )
        self._max_pages = max_pages
        self._per_page = per_page
        self._http = HttpTransport(
            label="Karaden",
            base_url=base_url,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {secret}",
                "Karaden-Version": API_VERSION,
                "Accept": "application/json",
            },
            secrets=(secret,),
            session=session,
        )

    def __repr__(self) -> str:
        return f"KaradenProvider(base_url={self._http.base_url!r}, service_id={self._service_id})"

    def send(self, msg: Outbound) -> Receipt:
        """``POST /{tenant}/messages`` with our ``client_ref`` as the one tag."""
        to = check_national(msg.to)
        data = [
            ("service_id", self._service_for(msg)),
            ("to", to),
            ("body", msg.body),
            ("tags[]", msg.client_ref),
        ]
        if msg.valid_until is not None:
            # 送信期限 (issue 12): Karaden does not send it after this instant.
            data.append(("limited_at", limited_at(msg.valid_until)))
        reply = self._http.request("POST", self._path("messages"), data=data, describe=describe)
        receipt = self._receipt(reply.body, idempotent=False)
        log.debug(
            "karaden accepted %s to %s as %s (%s)",
            msg.client_ref,
            mask(to),
            receipt.provider_id,
            receipt.state,
        )
        return receipt

    def status(self, provider_id: str) -> Receipt:
        """``GET /{tenant}/messages/{id}``."""
        path = self._path("messages", quote(provider_id, safe=""))
        reply = self._http.request("GET", path, describe=describe)
        return self._receipt(reply.body, idempotent=True)

    def find(self, msg: Outbound, sent_after: datetime) -> Receipt | None:
        """The message tagged with ``msg.client_ref`` (``GET …/messages?tag=…``), or None.

        The tag is unique per part, so ``sent_after`` is not needed to tell messages apart.
        """
        matches: list[dict[str, Any]] = []
        for page in range(1, self._max_pages + 1):
            params = {"tag": msg.client_ref, "page": str(page), "per_page": str(self._per_page)}
            reply = self._http.request(
                "GET", self._path("messages"), params=params, describe=describe
            )
            body = reply.body
            if not (isinstance(body, dict) and isinstance(body.get("data"), list)):
                raise self._http.unsure(
                    "the message list is not in the documented form", idempotent=True
                )
            # Filter again ourselves: a list that ignored the tag must not settle anything.
            matches += [
                item
                for item in body["data"]
                if isinstance(item, dict) and msg.client_ref in (item.get("tags") or [])
            ]
            if matches or not body.get("has_more"):
                break
        else:
            raise self._http.unsure(
                f"more than {self._max_pages} pages of messages", idempotent=True
            )
        if not matches:
            return None
        if len(matches) > 1:
            log.warning("karaden holds %d messages tagged %s", len(matches), msg.client_ref)
        matches.sort(key=lambda item: str(item.get("created_at") or ""))
        return self._receipt(matches[0], idempotent=True)

    def cancel(self, provider_id: str) -> Receipt:
        """``POST /{tenant}/messages/{id}/cancel``: cancel a message not yet sent."""
        path = self._path("messages", quote(provider_id, safe=""), "cancel")
        reply = self._http.request("POST", path, describe=describe)
        return self._receipt(reply.body, idempotent=False)

    def close(self) -> None:
        """Close the HTTP session."""
        self._http.close()

    # --- helpers -----------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return "/" + "/".join((self._tenant, *parts))

    def _service_for(self, msg: Outbound) -> str:
        if msg.sender is None:
            return self._service_id
        if self._dedicated_service_id is None:
            raise ProviderPermanent(
                "a dedicated sender number was asked for, but no Karaden service for it is "
                "configured (dedicated_service_id); nothing was sent",
                code="config",
            )
        return self._dedicated_service_id

    def _receipt(self, body: Any, *, idempotent: bool) -> Receipt:
        try:
            return receipt_from_message(body)
        except ValueError as e:
            raise self._http.unsure(str(e), idempotent=idempotent, code="malformed") from None


def receipt_from_message(obj: Any) -> Receipt:
    """A :class:`Receipt` from a Karaden message object (see the module's state mapping)."""
    if not isinstance(obj, dict) or obj.get("object", "message") != "message" or not obj.get("id"):
        raise ValueError("the answer is not a Karaden message object")
    status, result, sent = obj.get("status"), obj.get("result"), obj.get("sent_result")
    charged = obj.get("charged_count_per_sent")
    units = charged if isinstance(charged, int) and not isinstance(charged, bool) else None
    provider_id = str(obj["id"])

    if status in _FINAL_STATUS_REASONS:
        reason = _FINAL_STATUS_REASONS[status]
        if sent in _SENT_RESULT_REASONS and sent != "none":
            reason += f"; {_SENT_RESULT_REASONS[sent]}"
        return Receipt(provider_id, FAILED, reason, units)
    if status not in ("done", "waiting", None) or sent not in (
        *_SENT_RESULT_REASONS,
        "received",
        None,
    ):
        log.warning("karaden message %s has an unknown status %r / %r", provider_id, status, sent)
        return Receipt(provider_id, ACCEPTED, None, units)
    if sent == "received":
        return Receipt(provider_id, DELIVERED, None, units)
    if result == "done" and status == "done":
        return Receipt(provider_id, FAILED, _SENT_RESULT_REASONS[sent or "none"], units)
    return Receipt(provider_id, ACCEPTED, None, units)


def describe(body: Any) -> tuple[str | None, str | None]:
    """Code and message of a Karaden error body, with its field errors appended."""
    if not isinstance(body, dict) or body.get("object") != "error":
        return None, None
    code = body.get("code")
    message = str(body.get("message") or "").strip()
    errors = body.get("errors")
    if isinstance(errors, dict):
        fields = []
        for name, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            fields.append(f"{name}: {' '.join(str(p) for p in items)}")
        if fields:
            message = f"{message} ({'; '.join(fields)})" if message else "; ".join(fields)
    return (str(code) if code is not None else None), (message or None)


_JST = ZoneInfo("Asia/Tokyo")


def limited_at(deadline: datetime) -> str:
    """A deadline as Karaden's ``limited_at``: ISO 8601 in Japan time, to the second."""
    return deadline.astimezone(_JST).isoformat(timespec="seconds")
