"""Pure parts of the adapters: state mapping, error bodies, Retry-After, the transport rule."""

from __future__ import annotations

import http.client
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from sms_core.errors import ProviderAmbiguous, ProviderPermanent, ProviderTransient
from sms_core.providers import Receipt, karaden, twilio
from sms_core.providers.transport import HttpTransport, parse_retry_after

# --- Receipt ---------------------------------------------------------------------------


def test_receipt_refuses_an_unknown_state():
    with pytest.raises(ValueError, match="unknown receipt state"):
        Receipt("id", "sent")
    assert Receipt("id", "failed", "x").final and not Receipt("id", "accepted").final


# --- Karaden ---------------------------------------------------------------------------


def kmsg(status, result, sent_result, **extra):
    return {
        "id": "m-1",
        "object": "message",
        "status": status,
        "result": result,
        "sent_result": sent_result,
        "charged_count_per_sent": 2,
        **extra,
    }


@pytest.mark.parametrize(
    ("status", "result", "sent", "state", "reason"),
    [
        ("waiting", "processing", "none", "accepted", None),
        ("done", "processing", "none", "accepted", None),
        ("done", "processing", "received", "delivered", None),
        ("done", "done", "received", "delivered", None),
        ("done", "done", "unconnected", "failed", "out of service area or switched off (圏外)"),
        ("done", "done", "error", "failed", "the carrier reported an error (エラー)"),
        ("done", "done", "unknown", "failed", "delivery result unknown (不明)"),
        ("done", "done", "none", "failed", "no delivery result from the carrier (送達結果なし)"),
        ("error", "done", "none", "failed", "Karaden could not send it (送信エラー)"),
        ("canceled", "done", "none", "failed", "sending was cancelled (送信キャンセル)"),
        ("done", "done", "brand_new", "accepted", None),
        ("queued_somehow", "processing", "none", "accepted", None),
    ],
)
def test_karaden_state_mapping(status, result, sent, state, reason):
    receipt = karaden.receipt_from_message(kmsg(status, result, sent))
    assert (receipt.provider_id, receipt.state, receipt.reason) == ("m-1", state, reason)
    assert receipt.charged_units == 2


@pytest.mark.parametrize("body", [None, [], {"object": "error"}, {"object": "message"}, "x"])
def test_karaden_non_messages_are_refused(body):
    with pytest.raises(ValueError):
        karaden.receipt_from_message(body)


def test_karaden_error_body_with_field_errors():
    body = {
        "object": "error",
        "code": "unprocessable_entity",
        "message": "入力内容に誤りがあります。",
        "errors": {"to": ["不正です。"], "body": "長すぎます。"},
    }
    assert karaden.describe(body) == (
        "unprocessable_entity",
        "入力内容に誤りがあります。 (to: 不正です。; body: 長すぎます。)",
    )
    assert karaden.describe({"message": "not an error object"}) == (None, None)


# --- Twilio ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "state", "reason"),
    [
        ("queued", None, "accepted", None),
        ("accepted", None, "accepted", None),
        ("scheduled", None, "accepted", None),
        ("sending", None, "accepted", None),
        ("sent", None, "accepted", None),
        ("delivered", None, "delivered", None),
        ("read", None, "delivered", None),
        ("undelivered", 30003, "failed", "undelivered (30003): unreachable handset"),
        ("failed", 30006, "failed", "failed (30006): landline or unreachable carrier"),
        ("failed", 30001, "failed", "failed (30001): queue overflow: Twilio never sent it"),
        ("failed", 39999, "failed", "failed (39999): carrier said no"),
        ("canceled", None, "failed", "canceled"),
        ("mystery", None, "accepted", None),
    ],
)
def test_twilio_state_mapping(status, code, state, reason):
    obj = {
        "sid": "SM1",
        "status": status,
        "error_code": code,
        "error_message": "carrier said no" if code == 39999 else None,
        "num_segments": "3",
    }
    receipt = twilio.receipt_from_message(obj)
    assert receipt.state == state
    if reason is None:
        assert receipt.reason is None
    else:
        assert receipt.reason.startswith(reason)
    assert receipt.charged_units == 3


def test_twilio_error_body():
    assert twilio.describe({"code": 21211, "message": "The 'To' number x is not valid."}) == (
        "21211",
        "The 'To' number x is not valid.",
    )
    assert twilio.describe({"code": 21610}) == (
        "21610",
        "the recipient has unsubscribed (replied STOP)",
    )


# --- Retry-After -----------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("7", now=now.timestamp()) == 7.0
    assert parse_retry_after(later, now=now.timestamp()) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True)) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk) is None


# --- the transport rule, with the exceptions requests really raises --------------------


class Raising(requests.Session):
    def __init__(self, exc: Exception):
        super().__init__()
        self.exc = exc

    def request(self, *args, **kwargs):
        raise self.exc


def wrapped(reason: Exception) -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/x", reason))


def transport(exc: Exception) -> HttpTransport:
    return HttpTransport(label="P", base_url="https://p.example", session=Raising(exc))


NEVER_SENT = [
    wrapped(NewConnectionError(None, "[Errno 111] Connection refused")),
    wrapped(NameResolutionError("p.example", None, socket.gaierror(-2, "Name unknown"))),
    requests.exceptions.ConnectTimeout(MaxRetryError(None, "/x", ConnectTimeoutError())),
]
MAYBE_SENT = [
    requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", http.client.RemoteDisconnected("closed"))
    ),
    requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/x", "Read timed out.")),
    requests.exceptions.ChunkedEncodingError("incomplete"),
    requests.exceptions.SSLError(MaxRetryError(None, "/x", OSError("EOF in violation"))),
]


@pytest.mark.parametrize("exc", NEVER_SENT, ids=lambda e: type(e).__name__)
def test_no_connection_means_not_processed(exc):
    with pytest.raises(ProviderTransient, match="nothing was sent"):
        transport(exc).request("POST", "/m", describe=lambda b: (None, None))


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_a_failure_after_sending_is_ambiguous_for_a_send(exc):
    with pytest.raises(ProviderAmbiguous, match="may have been sent"):
        transport(exc).request("POST", "/m", describe=lambda b: (None, None))


@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_any_failure_of_a_lookup_is_transient(exc):
    with pytest.raises(ProviderTransient, match="lookup failed"):
        transport(exc).request("GET", "/m", describe=lambda b: (None, None))


def test_an_invalid_base_url_is_a_configuration_problem():
    with pytest.raises(ProviderPermanent, match="configuration problem"):
        transport(requests.exceptions.MissingSchema("no scheme")).request(
            "POST", "/m", describe=lambda b: (None, None)
        )
