"""Signatures of pushed delivery receipts: pure functions, no I/O (issue 3).

Twilio
    ``X-Twilio-Signature``: base64 of HMAC-SHA1, keyed with the account's auth token, over
    the full URL Twilio requested (scheme, host, path and query, as configured in the
    ``StatusCallback``) followed by every POST parameter, sorted by name, as name + value
    with no separator. Twilio's signature has no timestamp: replays are refused by the
    table of seen signatures (see :mod:`sms_core.linkserver.receipts`).

Karaden and sandbox (shared secret)
    ``X-SMS-Timestamp``: Unix time in whole seconds when the request was signed;
    ``X-SMS-Signature``: lowercase hex of HMAC-SHA256, keyed with the shared secret, over
    ``<timestamp> "." <raw body bytes>``. A timestamp further than the allowed age from
    the server's clock (either way) is refused, so a captured request can be replayed
    only inside that window, where the table of seen signatures refuses it.

Every comparison is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "SHARED_SIGNATURE_HEADER",
    "SHARED_TIMESTAMP_HEADER",
    "TWILIO_SIGNATURE_HEADER",
    "normalise_shared_signature",
    "shared_signature",
    "signature_digest",
    "twilio_signature",
    "verify_shared",
    "verify_twilio",
]

TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
SHARED_SIGNATURE_HEADER = "X-SMS-Signature"
SHARED_TIMESTAMP_HEADER = "X-SMS-Timestamp"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a request to ``url`` with POST ``params`` (name, value pairs)."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _port_variants(url: str) -> list[str]:
    """``url`` as given, and with its default port added or removed.

    Twilio signs the URL as configured; a proxy may show it to us with or without an
    explicit default port (Twilio's own helper libraries try both the same way).
    """
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.hostname or ""
    if default is None or not host:
        return [url]
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port is None:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return [url]
    return [url, urlunsplit(other)]


def verify_twilio(
    auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's for this request; a missing one never is."""
    if not signature or not auth_token:
        return False
    if not signature.isascii():
        # A header read as Latin-1 may hold any character; compare_digest refuses
        # non-ASCII text with TypeError, and no base64 signature has such characters.
        return False
    params = list(params)
    return any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, params), signature)
        for candidate in _port_variants(url)
    )


def shared_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The shared-secret signature of ``body`` sent at ``timestamp`` (see the module)."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_shared(
    secret: str,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    now: float,
    max_age: float,
) -> str | None:
    """Check a shared-secret signature; returns None when valid, else why it is refused.

    The reasons (``missing``, ``malformed``, ``stale``, ``bad``) are fit to answer with:
    they never include the secret, the expected signature or the body.
    """
    if not secret:
        return "not configured"
    if not timestamp or not signature:
        return "missing"
    # isascii first: str.isdigit() accepts full-width and other Unicode digits.
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed"
    if not signature.isascii():
        return "malformed"
    # Checked before the HMAC, so an old captured request costs no hashing either.
    if abs(now - int(timestamp)) > max_age:
        return "stale"
    expected = shared_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, normalise_shared_signature(signature)):
        return "bad"
    return None


def normalise_shared_signature(signature: str) -> str:
    """A shared-secret signature as it is verified: hex is compared without case or spaces.

    The replay table must key on this form too, or the same receipt with its signature
    upper-cased would pass as new.
    """
    return signature.strip().lower()


def signature_digest(signature: str) -> str:
    """What the seen-receipts table keeps of a verified signature: its SHA-256, hex.

    Give the signature in the form it was verified in (for shared-secret signatures,
    :func:`normalise_shared_signature`); Twilio's base64 is case-sensitive as it is.
    """
    return hashlib.sha256(signature.strip().encode()).hexdigest()
