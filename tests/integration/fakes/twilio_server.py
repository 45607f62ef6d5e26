"""An imitation of Twilio's Messages resource (API 2010-04-01) on 127.0.0.1.

Routes: ``POST /2010-04-01/Accounts/{Sid}/Messages.json`` (form ``To``, ``From`` or
``MessagingServiceSid``, ``Body``, ``StatusCallback``; answers 201), ``GET …/Messages/{Sid}.json``
and ``GET …/Messages.json`` (filters ``To``, ``From``, ``DateSent``, ``DateSent<``,
``DateSent>`` — messages not sent yet have no ``date_sent`` and never match a date filter —
``PageSize``, ``Page``; newest first, ``next_page_uri`` until the last page).

HTTP basic auth with the account SID and auth token (else 401, code 20003); errors are
``{code, message, more_info, status}``. Create validates as Twilio does: 21604 (no To), 21211
(not E.164), 21408 (not Japan), 21614 (not a mobile), 21610 (``unsubscribed``), 21603 (no
sender), 21606 (unknown From), 21602 (no body), 21617 (body over 1600).

A message is ``queued`` (``accepted`` through a Messaging Service) when created, ``sent``
after half the delivery delay and final after it: ``delivered``, or what ``outcomes`` says for
its number (by default +818099990002 → undelivered 30003, +818099990006 → failed 30006,
+818099990001 → failed 30001, never sent).

Run alone: ``python -m tests.integration.fakes.twilio_server --port N [--auth-token T]``.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from tests.integration.fakes.server import FakeHandler, FakeServer, Request, Response, run_cli

__all__ = ["TwilioServer"]

DEFAULT_OUTCOMES = {
    "+818099990002": ("undelivered", 30003),
    "+818099990006": ("failed", 30006),
    "+818099990001": ("failed", 30001),
}
_MESSAGES = {
    400: (21000, "Bad Request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_JP_MOBILE = re.compile(r"\+81[6789]0[1-9][0-9]{7}")
_GSM = re.compile(r"[A-Za-z0-9 \n\r@£$¥!\"#%&'()*+,\-./:;<=>?¡¿_]*")


class TwilioServer(FakeServer):
    """The Twilio imitation; see the module docstring."""

    name = "twilio"
    handler_class = FakeHandler
    routes: ClassVar[list[tuple[str, str, str, str]]] = [
        ("POST", r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json", "send", "create"),
        ("GET", r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json", "lookup", "list_messages"),
        (
            "GET",
            r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<id>[^/]+)\.json",
            "lookup",
            "detail",
        ),
        (
            "DELETE",
            r"/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages/(?P<id>[^/]+)\.json",
            "delete",
            "delete_message",
        ),
    ]

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0" * 31 + "1",
        auth_token: str = "twilio-test-auth-token",
        from_numbers: tuple[str, ...] = ("+815012345678",),
        messaging_service_sid: str = "MG" + "0" * 31 + "1",
        unsubscribed: tuple[str, ...] = (),
        outcomes: dict[str, tuple[str, int]] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_numbers = set(from_numbers)
        self.messaging_service_sid = messaging_service_sid
        self.unsubscribed = set(unsubscribed)
        self.outcomes = {**DEFAULT_OUTCOMES, **(outcomes or {})}

    @property
    def base_url(self) -> str:
        """The adapter's base URL."""
        return self.url

    # --- protocol ----------------------------------------------------------------------

    def error(
        self, status: int, message: str | None = None, code: Any = None, **extra: Any
    ) -> Response:
        """``{code, message, more_info, status}``."""
        default_code, default_message = _MESSAGES.get(status, (20500, "Error"))
        code = code or default_code
        body = {
            "code": code,
            "message": message or default_message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return Response(status, body)

    def authenticate(self, req: Request, match: re.Match[str]) -> Response | None:
        """HTTP basic auth with the account SID, which must also be the one in the path."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if (
            req.headers.get("Authorization") != f"Basic {expected}"
            or match["sid"] != self.account_sid
        ):
            return self.error(401)
        return None

    def create(self, req: Request, match: re.Match[str]) -> Response:
        """Create a message: validate like Twilio, store, answer 201."""
        form = {k: v[0] for k, v in req.form.items()}
        to = form.get("To", "")
        sender = form.get("From")
        service = form.get("MessagingServiceSid")
        body = form.get("Body", "")
        if not to:
            return self.error(400, "A 'To' phone number is required.", 21604)
        if not _E164.fullmatch(to):
            return self.error(400, f"The 'To' number {to} is not a valid phone number.", 21211)
        if not to.startswith("+81"):
            return self.error(
                400,
                "Permission to send an SMS has not been enabled for the region indicated by "
                f"the 'To' number: {to}.",
                21408,
            )
        if not _JP_MOBILE.fullmatch(to):
            return self.error(400, f"'To' number {to} is not a valid mobile number", 21614)
        if to in self.unsubscribed:
            return self.error(400, "Attempt to send to unsubscribed recipient", 21610)
        if not (sender or service):
            return self.error(400, "A 'From' phone number is required.", 21603)
        if sender and sender not in self.from_numbers:
            return self.error(
                400,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone "
                "number or short code for your account.",
                21606,
            )
        if service and service != self.messaging_service_sid:
            return self.error(400, f"The Messaging Service Sid {service} is invalid.", 21701)
        if not body:
            return self.error(400, "Message body is required.", 21602)
        validity = form.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and 1 <= int(validity) <= 36000):
            return self.error(
                400,
                "Validity period can only be set to integers between 1 and 36,000 seconds.",
                21624,
            )
        if len(body) > 1600:
            return self.error(
                400, "The concatenated message body exceeds the 1600 character limit.", 21617
            )
        now = self.now()
        sid = "SM" + uuid.uuid4().hex
        record = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "direction": "outbound-api",
            "from": sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "to": to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "_created": now,
            "_initial": "accepted" if service else "queued",
            "_outcome": self.outcomes.get(to, ("delivered", None)),
            "_callback": form.get("StatusCallback"),
            # Not in Twilio's answer; kept so tests can see what was asked (issue 12).
            "_validity_period": form.get("ValidityPeriod"),
        }
        with self.lock:
            self.messages[sid] = record
            self.send_counts[(to, body)] += 1
            return Response(201, self.render(record))

    def detail(self, req: Request, match: re.Match[str]) -> Response:
        """Fetch one message."""
        with self.lock:
            record = self.messages.get(match["id"])
            if record is None:
                return self.error(404, f"The requested resource {req.path} was not found", 20404)
            return Response(200, self.render(record))

    def delete_message(self, req: Request, match: re.Match[str]) -> Response:
        """Delete one message: only once it is final (Twilio's 20009 otherwise); 204."""
        with self.lock:
            record = self.messages.get(match["id"])
            if record is None:
                return self.error(404, f"The requested resource {req.path} was not found", 20404)
            if self.render(record)["status"] not in ("delivered", "undelivered", "failed"):
                return self.error(
                    409, "Cannot delete message because it has not yet completed", 20009
                )
            del self.messages[match["id"]]
            return Response(204, None)

    def list_messages(self, req: Request, match: re.Match[str]) -> Response:
        """Read multiple messages: filtered, newest first, paged."""
        q = {k: v[0] for k, v in req.query.items()}
        try:
            page = int(q.get("Page", "0"))
            size = min(int(q.get("PageSize", "50")), 1000)
        except ValueError:
            return self.error(400, "Invalid paging parameters", 20001)
        with self.lock:
            items = [self.render(r) for r in reversed(self.messages.values())]
        if "To" in q:
            items = [m for m in items if m["to"] == q["To"]]
        if "From" in q:
            items = [m for m in items if m["from"] == q["From"]]
        for key, keep in (
            ("DateSent", lambda d, v: d == v),
            ("DateSent<", lambda d, v: d <= v),
            ("DateSent>", lambda d, v: d >= v),
        ):
            if key in q:
                items = [m for m in items if m["_sent_day"] and keep(m["_sent_day"], q[key])]
        start = page * size
        chunk = items[start : start + size]
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        filters = {k: v for k, v in q.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(n: int) -> str:
            token = {"PageToken": f"PA{n}"} if n else {}
            return base + "?" + urlencode({**filters, "PageSize": size, "Page": n, **token})

        more = len(items) > start + size
        return Response(
            200,
            {
                "messages": [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk],
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "previous_page_uri": page_uri(page - 1) if page else None,
                "page": page,
                "page_size": size,
                "start": start,
                "end": start + len(chunk) - 1 if chunk else start,
                "uri": page_uri(page),
            },
        )

    def render(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the API shows it now; ``_sent_day`` serves the DateSent filters."""
        created = record["_created"]
        age = self.now() - created
        out = {k: v for k, v in record.items() if not k.startswith("_")}
        status, code = record["_initial"], None
        sent_at = None
        if age >= self.delivery_delay:
            status, code = record["_outcome"]
            if code != 30001:  # a queue overflow fails before any carrier saw it
                sent_at = created + self.delivery_delay / 2
        elif age >= self.delivery_delay / 2:
            status, sent_at = "sent", created + self.delivery_delay / 2
        updated = created if status == record["_initial"] else self.now()
        out.update(
            status=status,
            error_code=code,
            error_message=None,
            date_created=_rfc2822(created),
            date_updated=_rfc2822(min(updated, created + self.delivery_delay)),
            date_sent=_rfc2822(sent_at) if sent_at else None,
            _sent_day=datetime.fromtimestamp(sent_at, UTC).date().isoformat() if sent_at else None,
        )
        if out["from"] is None and status != record["_initial"]:
            out["from"] = sorted(self.from_numbers)[0]  # the service picked a number
        return out

    def stored(self) -> list[dict[str, Any]]:
        """Every message accepted so far, as the API shows it now (and the ValidityPeriod
        it was sent with, which the API does not show)."""
        return [
            {k: v for k, v in m.items() if not k.startswith("_") or k == "_validity_period"}
            for m in super().stored()
        ]


def _segments(body: str) -> int:
    if _GSM.fullmatch(body):
        return 1 if len(body) <= 160 else -(-len(body) // 153)
    units = len(body.encode("utf-16-le", "surrogatepass")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _rfc2822(ts: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(ts), UTC), usegmt=False)


def _add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account-sid", default="AC" + "0" * 31 + "1")
    parser.add_argument("--auth-token", default="twilio-test-auth-token")
    parser.add_argument("--from-number", action="append", default=None)


def _make(args: argparse.Namespace, **kw: Any) -> TwilioServer:
    return TwilioServer(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        from_numbers=tuple(args.from_number or ("+815012345678",)),
        **kw,
    )


if __name__ == "__main__":
    sys.exit(run_cli(TwilioServer, None, _add_args, _make))
