"""Signature functions of pushed receipts (issue 3): known vectors and the edges."""

from __future__ import annotations

import hashlib
import hmac

from sms_core.linkserver.signatures import (
    shared_signature,
    signature_digest,
    twilio_signature,
    verify_shared,
    verify_twilio,
)

# Twilio's documented example ("Validating requests"): auth token 12345, this URL and
# these POST parameters give this signature.
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# `printf '0.' | openssl dgst -sha256 -hmac key`
FIXED = "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d78e9e669c6337f000d"


def test_twilio_signature_matches_the_documented_example():
    assert twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS.items()) == TWILIO_EXPECTED
    # Parameter order does not matter: they are sorted by name.
    reordered = list(reversed(list(TWILIO_PARAMS.items())))
    assert verify_twilio("12345", TWILIO_URL, reordered, TWILIO_EXPECTED)


def test_twilio_verification_refuses_what_it_should():
    params = TWILIO_PARAMS.items()
    assert not verify_twilio("12345", TWILIO_URL, params, None)
    assert not verify_twilio("12345", TWILIO_URL, params, "")
    assert not verify_twilio("54321", TWILIO_URL, params, TWILIO_EXPECTED)
    assert not verify_twilio("", TWILIO_URL, params, TWILIO_EXPECTED)
    changed = {**TWILIO_PARAMS, "Digits": "1235"}.items()
    assert not verify_twilio("12345", TWILIO_URL, changed, TWILIO_EXPECTED)
    assert not verify_twilio("12345", TWILIO_URL.replace("foo=1", "foo=2"), params, TWILIO_EXPECTED)


def test_twilio_default_port_may_be_written_or_not():
    signed = twilio_signature("t", "https://example.com/receipts/twilio?a=1", [("x", "1")])
    assert verify_twilio("t", "https://example.com:443/receipts/twilio?a=1", [("x", "1")], signed)
    signed = twilio_signature("t", "https://example.com:443/r", [])
    assert verify_twilio("t", "https://example.com/r", [], signed)
    # A non-default port is part of the URL.
    signed = twilio_signature("t", "https://example.com:8443/r", [])
    assert not verify_twilio("t", "https://example.com/r", [], signed)


def test_shared_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"id":"x"}'
    expected = hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert shared_signature("secret", "1700000000", body) == expected
    # A fixed vector (computed once with openssl), so a format change cannot go unnoticed.
    assert shared_signature("key", "0", b"") == FIXED


def test_shared_verification_window_and_failures():
    body = b"{}"
    now = 1_700_000_000
    good = shared_signature("s", str(now), body)
    assert verify_shared("s", str(now), body, good, now=now, max_age=300) is None
    assert verify_shared("s", str(now), body, good.upper(), now=now, max_age=300) is None
    assert verify_shared("s", str(now), body, good, now=now + 300, max_age=300) is None
    assert verify_shared("s", str(now), body, good, now=now + 301, max_age=300) == "stale"
    assert verify_shared("s", str(now), body, good, now=now - 301, max_age=300) == "stale"
    assert verify_shared("s", str(now), b"{ }", good, now=now, max_age=300) == "bad"
    assert verify_shared("t", str(now), body, good, now=now, max_age=300) == "bad"
    assert verify_shared("s", None, body, good, now=now, max_age=300) == "missing"
    assert verify_shared("s", str(now), body, None, now=now, max_age=300) == "missing"
    assert verify_shared("s", "-5", body, good, now=now, max_age=300) == "malformed"
    assert verify_shared("", str(now), body, good, now=now, max_age=300) == "not configured"


def test_the_digest_kept_is_not_the_signature():
    digest = signature_digest("abc")
    assert len(digest) == 64 and "abc" not in digest
    assert signature_digest(" abc ") == digest
