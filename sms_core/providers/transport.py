"""HTTP for the real adapters: one ``requests.Session``, timeouts, and the error rule.

The rule (issue 7) decides whether the worker may send a part again:

* certainly not processed → :class:`ProviderTransient`: the connection was never made
  (refused, DNS failure, connect timeout), HTTP 429 (``Retry-After`` honoured, in seconds or
  as an HTTP date), or a provider code the adapter documents as "not processed";
* maybe processed → :class:`ProviderAmbiguous`: a read timeout, a 5xx, a connection dropped
  after the request went out, a 2xx whose body is not the JSON promised, anything else odd;
* rejected → :class:`ProviderPermanent` with the provider's message: 400/404/422 and other
  4xx; 401/403 say that the credentials or the account are set up wrongly.

Lookups (``GET``) change nothing at the provider, so for them every "maybe" failure becomes
:class:`ProviderTransient`: asking again is always safe.

Messages never contain a credential: they are built from our own words and the provider's
error message, and that message is passed through :func:`~.settings.redact` in case a
provider echoes what it was sent. Low-level exceptions are not chained: ``requests`` attaches
the prepared request, Authorization header included, to them. The session ignores proxies and
``~/.netrc`` from the environment (``trust_env=False``): a ``.netrc`` entry would replace our
Authorization header, and a proxy variable would send credentials through a third party.

``err.code`` is the provider's error code when it gave one, else the HTTP status, or ours:
``connect`` (no connection), ``transport`` (failed after sending), ``malformed`` (a body that
is not the documented JSON), ``config`` (an invalid base URL).
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from sms_core.clock import now_utc
from sms_core.errors import ProviderAmbiguous, ProviderError, ProviderPermanent, ProviderTransient
from sms_core.providers.settings import DEFAULT_TIMEOUT, Timeout, redact

__all__ = ["DEFAULT_TIMEOUT", "HttpTransport", "Timeout", "parse_retry_after"]

log = logging.getLogger(__name__)


# Reads an error body and returns (provider code, provider message).
Describe = Callable[[Any], tuple[str | None, str | None]]


@dataclass(frozen=True, slots=True)
class Reply:
    """A response whose status and body are known; ``body`` is the parsed JSON."""

    status: int
    body: Any


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None or when.tzinfo is None:
            return None
        # An HTTP-date is an instant: compared with the product clock, not the wall clock.
        seconds = when.timestamp() - (now_utc().timestamp() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


class HttpTransport:
    """A provider's HTTP sessions: base URL, headers, auth, timeouts and the error rule.

    Safe to share between threads: each thread uses its own ``requests.Session``.
    """

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        timeout: Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        session: requests.Session | None = None,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._secrets = secrets
        self._headers = dict(headers or {})
        self._auth = auth
        self._shared = self._configure(session) if session is not None else None
        # requests does not promise that a Session is thread-safe, and the worker sends from
        # a thread pool: each thread gets its own session (and connection pool).
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _configure(self, session: requests.Session) -> requests.Session:
        session.trust_env = False  # see the module docstring
        session.headers.update(self._headers)
        if self._auth:
            session.auth = self._auth
        return session

    def _session(self) -> requests.Session:
        if self._shared is not None:
            return self._shared
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._configure(requests.Session())
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        """Close the pooled connections of every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        if self._shared is not None:
            self._shared.close()
        self._local = threading.local()

    def redact(self, text: str) -> str:
        """``text`` without any of this provider's credentials."""
        return redact(text, self._secrets)

    def request(
        self,
        method: str,
        path: str,
        *,
        describe: Describe,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: Mapping[str, str] | list[tuple[str, str]] | None = None,
        not_processed: frozenset[str] = frozenset(),
    ) -> Reply:
        """Send one request and return its JSON reply, or raise the error the rule gives.

        ``path`` is appended to the base URL (or is a full URL). ``describe`` reads the
        provider's error body; ``not_processed`` are provider codes documented to mean the
        request was not processed (retry-safe).
        """
        idempotent = method.upper() in ("GET", "DELETE")
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        try:
            resp = self._session().request(
                method,
                url,
                params=params,
                data=data,
                timeout=self.timeout.as_tuple(),
                # A redirected POST would be replayed as a GET by requests: never follow.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error = self._transport_error(exc, idempotent=idempotent)
        else:
            return self._reply(resp, idempotent=idempotent, describe=describe, codes=not_processed)
        # Raised outside the except block, so the requests exception (which holds the
        # prepared request, Authorization header included) is not even its __context__.
        raise error

    # --- the rule ----------------------------------------------------------------------

    def _transport_error(
        self, exc: requests.RequestException, *, idempotent: bool
    ) -> ProviderError:
        kind = type(exc).__name__
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ProviderPermanent(
                f"{self.label}: the base URL is not a valid URL (configuration problem); "
                "nothing was sent",
                code="config",
            )
        if _never_connected(exc):
            return ProviderTransient(
                f"{self.label}: could not connect to the provider ({_connect_failure(exc)}); "
                "nothing was sent",
                code="connect",
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            why = f"no answer within {self.timeout.read:g} s (read timeout)"
        elif isinstance(
            exc, requests.exceptions.ConnectionError | requests.exceptions.ChunkedEncodingError
        ):
            why = f"the connection closed before the full answer arrived ({kind})"
        else:
            why = f"the request failed ({kind})"
        return self.unsure(why, idempotent=idempotent, code="transport")

    def unsure(self, why: str, *, idempotent: bool, code: str | None = None) -> ProviderError:
        """The error for a failure after which the provider may have acted on the request."""
        if idempotent:
            return ProviderTransient(
                f"{self.label}: lookup failed: {why}; try again later", code=code
            )
        return ProviderAmbiguous(
            f"{self.label}: {why}; the message may have been sent, so it stays unknown "
            "until the provider's records settle it",
            code=code,
        )

    def _reply(
        self,
        resp: requests.Response,
        *,
        idempotent: bool,
        describe: Describe,
        codes: frozenset[str],
    ) -> Reply:
        status = resp.status_code
        body = _json_or_none(resp)
        if 200 <= status < 300:
            if status == 204:  # No Content: a DELETE done
                return Reply(status, {})
            if body is None:
                why = f"the provider answered HTTP {status} with a body that is not valid JSON"
                raise self.unsure(why, idempotent=idempotent, code="malformed")
            return Reply(status, body)

        code, message = describe(body) if body is not None else (None, None)
        said = self.redact(message.strip()) if message and message.strip() else None
        detail = f": {said}" if said else ""
        tag = f" [{code}]" if code else ""
        if status == 429 or (code is not None and code in codes):
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            raise ProviderTransient(
                f"{self.label}: not processed (HTTP {status}{tag}){detail}{wait}",
                code=code or "429",
                retry_after=retry_after,
            )
        if status in (401, 403):
            what = "rejected the credentials" if status == 401 else "refused this account access"
            raise ProviderPermanent(
                f"{self.label} {what} (HTTP {status}{tag}): configuration problem, check the "
                f"provider settings{detail}",
                code=code or str(status),
            )
        if 400 <= status < 500:
            raise ProviderPermanent(
                f"{self.label} rejected the request (HTTP {status}{tag}){detail}",
                code=code or str(status),
            )
        # 5xx, and 1xx/3xx that we never asked for: the provider may have acted on it.
        log.warning("%s answered HTTP %s%s", self.label, status, tag)
        raise self.unsure(
            f"the provider answered HTTP {status}{tag}{detail}",
            idempotent=idempotent,
            code=code or str(status),
        )


def _json_or_none(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except (json.JSONDecodeError, ValueError):
        return None


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (args, ``reason``, ``__cause__``, ``__context__``)."""
    seen: list[BaseException] = []
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        seen.append(item)
        stack.extend(item.args)
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return seen


def _never_connected(exc: requests.RequestException) -> bool:
    # requests raises ConnectionError both for "refused" and for "dropped after sending";
    # only urllib3's ConnectTimeoutError family (NewConnectionError, NameResolutionError)
    # inside a MaxRetryError says the connection was never made, so nothing was sent.
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate that fails verification stops the handshake, before any byte of
        # the request; other TLS failures may come after it went out.
        return any(isinstance(c, ssl.SSLCertVerificationError) for c in causes)
    return any(isinstance(c, MaxRetryError) for c in causes) and any(
        isinstance(c, ConnectTimeoutError) for c in causes
    )


def _connect_failure(exc: requests.RequestException) -> str:
    names = {type(c).__name__ for c in _causes(exc)}
    if "NameResolutionError" in names:
        return "the host name could not be resolved"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or "ConnectTimeoutError" in names:
        return "connect timeout"
    if "SSLCertVerificationError" in names:
        return "the TLS certificate did not verify"
    if any(isinstance(c, ConnectionRefusedError) for c in _causes(exc)):
        return "connection refused"
    return "no connection"
