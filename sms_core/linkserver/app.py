"""The link and receipt service as a plain WSGI application (issue 3).

=========================  ================================================================
``GET /s/{code}``          302 to the link's target, one click recorded; unknown or
                           expired → 404 page (Japanese and English). ``HEAD`` answers
                           the same; it and link previewers are recorded as not human
                           (issue 12: click rate counts people only). An opt-out link
                           (``{{optout}}``) shows its confirmation page instead
``POST /s/{code}``         an opt-out link's form: the number goes on the opt-out list
                           (only with the link's own token; see linkserver.optout)
``POST /receipts/{name}``  a delivery receipt of provider ``name``; see
                           :mod:`sms_core.linkserver.receipts` for signatures and rules
``GET /healthz``           200 ``ok`` when the database answers, else 503
=========================  ================================================================

No framework: three routes do not need one, and every request costs only what it does.
Answers never carry a secret, a stack trace or a database error; unexpected errors are
logged (without request headers or bodies) and answered with a bare 500.
"""

from __future__ import annotations

import html
import json
import logging
import unicodedata
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, quote

from sqlalchemy import text
from sqlalchemy.engine import Engine

from sms_core.i18n import t
from sms_core.linkserver.clicks import follow, lookup
from sms_core.linkserver.optout import OptOutPages
from sms_core.linkserver.receipts import (
    ReceiptConfig,
    ReceiptHandler,
    ReceiptRefused,
    ReceiptRequest,
)
from sms_core.rules.tags import OPTOUT_TARGET

__all__ = ["MAX_BODY_BYTES", "LinkApp"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a receipt is a few hundred bytes
# Characters a Location header may keep as they are; everything else is percent-encoded
# (a target with a Japanese path must become ASCII to be a valid header).
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"

StartResponse = Callable[..., object]


def _not_found_page() -> bytes:
    title = f"{t('link.not_found.title', 'ja')} / {t('link.not_found.title', 'en')}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1 lang='ja'>{html.escape(t('link.not_found.title', 'ja'))}</h1>"
        f"<p lang='ja'>{html.escape(t('link.not_found.body', 'ja'))}</p>"
        f"<h1 lang='en'>{html.escape(t('link.not_found.title', 'en'))}</h1>"
        f"<p lang='en'>{html.escape(t('link.not_found.body', 'en'))}</p>"
        "</body></html>"
    ).encode()


class LinkApp:
    """The WSGI callable: ``LinkApp(engine, ReceiptConfig.from_env())``."""

    def __init__(self, engine: Engine, config: ReceiptConfig | None = None) -> None:
        self.engine = engine
        self.config = config or ReceiptConfig.from_env()
        self.receipts = ReceiptHandler(engine, self.config)
        self._not_found = _not_found_page()
        self.optout = OptOutPages(engine)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path.startswith("/s/"):
                if method == "POST":
                    return self._opt_out(environ, start_response, path[3:])
                if method not in ("GET", "HEAD"):
                    return self._plain(
                        start_response, 405, "method not allowed", allow="GET, HEAD, POST"
                    )
                return self._redirect(environ, start_response, path[3:], method)
            if path.startswith("/receipts/"):
                if method != "POST":
                    return self._plain(start_response, 405, "method not allowed", allow="POST")
                return self._receipt(environ, start_response, path[len("/receipts/") :])
            if path == "/healthz":
                return self._health(start_response)
            return self._page(start_response, 404, self._not_found, method)
        except Exception:
            # The traceback goes to the log; the answer says nothing about the inside.
            log.exception(
                "error serving %s %s", _printable(method, 20), _printable(path.split("?")[0], 100)
            )
            return self._plain(start_response, 500, "internal error")

    # --- routes --------------------------------------------------------------------------

    def _redirect(
        self, environ: dict, start_response: StartResponse, code: str, method: str
    ) -> Iterable[bytes]:
        link = follow(self.engine, code, environ.get("HTTP_USER_AGENT"), method=method)
        if link is None:
            return self._page(start_response, 404, self._not_found, method)
        if link.target == OPTOUT_TARGET:
            # A page, never an opt-out: previewers and scanners fetch links too.
            return self._page(start_response, 200, self.optout.confirm_page(link), method)
        start_response(
            "302 Found",
            [
                ("Location", quote(link.target, safe=_URL_SAFE)),
                # Every request must reach us to be counted, and the target is private.
                ("Cache-Control", "no-store"),
                ("Referrer-Policy", "no-referrer"),
                ("Content-Length", "0"),
            ],
        )
        return [b""]

    def _opt_out(self, environ: dict, start_response: StartResponse, code: str) -> Iterable[bytes]:
        link = lookup(self.engine, code)
        if link is None:
            return self._page(start_response, 404, self._not_found, "POST")
        if link.target != OPTOUT_TARGET:  # only an opt-out link takes a form
            return self._plain(start_response, 405, "method not allowed", allow="GET, HEAD")
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY_BYTES)
        except ValueError:
            length = 0
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        if not self.optout.valid(code, token) or not self.optout.record(link):
            return self._page(start_response, 403, self.optout.failed_page(), "POST")
        return self._page(start_response, 200, self.optout.done_page(), "POST")

    def _receipt(
        self, environ: dict, start_response: StartResponse, provider: str
    ) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._json(start_response, 400, {"error": "bad Content-Length"})
        if length > MAX_BODY_BYTES:
            return self._json(start_response, 413, {"error": "the body is too large"})
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        query = environ.get("QUERY_STRING", "")
        request = ReceiptRequest(
            provider=provider,
            url=self._public_url(environ, query),
            query=query,
            headers={
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            },
            body=body,
        )
        try:
            outcome = self.receipts.handle(request)
        except ReceiptRefused as refused:
            # Logged without the request: its headers hold the signature.
            log.warning(
                "receipt refused (%s %s): %s", _printable(provider, 20), refused.status, refused
            )
            return self._json(start_response, refused.status, {"error": refused.reason})
        return self._json(
            start_response,
            200,
            {"result": outcome.result, "state": outcome.state, "message": outcome.message_id},
        )

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any reason the database is not usable
            log.warning("health check: the database does not answer: %s", type(exc).__name__)
            return self._plain(start_response, 503, "database unavailable")
        return self._plain(start_response, 200, "ok")

    # --- helpers -------------------------------------------------------------------------

    def _public_url(self, environ: dict, query: str) -> str:
        """The URL as the provider requested it: what Twilio's signature covers."""
        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        if self.config.public_base_url:
            base = self.config.public_base_url
        else:
            host = environ.get("HTTP_HOST") or (
                f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
            )
            base = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        return base + path + (f"?{query}" if query else "")

    @staticmethod
    def _plain(
        start_response: StartResponse, status: int, body: str, *, allow: str | None = None
    ) -> Iterable[bytes]:
        data = (body + "\n").encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
        ]
        if allow:
            headers.append(("Allow", allow))
        start_response(_status(status), headers)
        return [data]

    @staticmethod
    def _json(start_response: StartResponse, status: int, value: dict) -> Iterable[bytes]:
        data = json.dumps(value, ensure_ascii=False).encode()
        start_response(
            _status(status),
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    @staticmethod
    def _page(
        start_response: StartResponse, status: int, page: bytes, method: str
    ) -> Iterable[bytes]:
        start_response(
            _status(status),
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(page))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [b""] if method == "HEAD" else [page]


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _printable(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, its control characters escaped for a log line.

    A request path is the client's to choose: ``%0a`` in it becomes a line break in
    PATH_INFO, which would let a client forge whole log lines (or hide its own behind
    ``\\r`` or terminal escapes). Control and format characters become ``\\xNN`` /
    ``\\uNNNN``; the backslash itself is escaped so an escape cannot be faked either.
    """
    out = []
    for ch in text[:limit]:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch)[0] in "CZ" and ch != " ":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _status(code: int) -> str:
    return f"{code} {_REASONS[code]}"
