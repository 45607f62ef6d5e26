"""The Twilio adapter against the imitation Messages API on 127.0.0.1 (issue 7, Providers)."""

from __future__ import annotations

import base64
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sms_core.clock import now_utc
from sms_core.errors import (
    ConfigError,
    ProviderAmbiguous,
    ProviderError,
    ProviderPermanent,
    ProviderTransient,
)
from sms_core.providers import Outbound
from sms_core.providers.transport import Timeout
from sms_core.providers.twilio import TwilioProvider
from tests.integration.fakes.process import ServerProcess
from tests.integration.fakes.twilio_server import TwilioServer

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "tw-PLANTED-auth-token-51d0e2"
SID = "AC" + "ab" * 16
FROM = "+815012345678"
# Generous: a healthy imitation answers in milliseconds, but a loaded 2-core machine can
# stall a thread for longer than half a second, which would read as a timeout.
TIMEOUT = Timeout(5.0, 10.0)
# For the tests of a slow answer only: the imitation holds it at least 1 s.
SHORT = Timeout(1.0, 0.5)


@pytest.fixture
def server():
    with TwilioServer(account_sid=SID, auth_token=PLANTED, delivery_delay=0.2) as s:
        yield s


def make(server: TwilioServer, **kw) -> TwilioProvider:
    settings = dict(
        account_sid=server.account_sid,
        auth_token=server.auth_token,
        from_number=FROM,
        base_url=server.base_url,
        timeout=TIMEOUT,
    )
    return TwilioProvider(**{**settings, **kw})


@pytest.fixture
def queued_server():
    """Messages stay queued (no date_sent) for the whole test."""
    with TwilioServer(account_sid=SID, auth_token=PLANTED, delivery_delay=30) as s:
        yield s


@pytest.fixture
def twilio(server):
    with make(server) as provider:
        yield provider


def msg(
    ref: str = "c1-m1-p1", to: str = "09012345678", body: str = "面接のご案内です。"
) -> Outbound:
    return Outbound(client_ref=ref, to=to, body=body)


def earlier() -> datetime:
    return now_utc() - timedelta(seconds=1)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- happy path ------------------------------------------------------------------------


def test_send_puts_e164_basic_auth_and_the_form_on_the_wire(server, twilio):
    receipt = twilio.send(msg())

    assert receipt.state == "accepted"
    assert receipt.provider_id.startswith("SM")
    (req,) = server.sent_requests("send")
    assert req.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    basic = base64.b64encode(f"{SID}:{PLANTED}".encode()).decode()
    assert req.headers["Authorization"] == f"Basic {basic}"
    assert req.form == {
        "To": ["+819012345678"],
        "Body": ["面接のご案内です。"],
        "From": [FROM],
        "SmartEncoded": ["false"],
    }


def test_messaging_service_and_status_callback_carrying_our_reference(server):
    with make(
        server,
        from_number=None,
        messaging_service_sid=server.messaging_service_sid,
        status_callback="https://sms.example.jp/receipts?src=twilio",
    ) as twilio:
        assert twilio.send(msg("c9/m1/p2")).state == "accepted"
    form = server.sent_requests("send")[0].form
    assert form["MessagingServiceSid"] == [server.messaging_service_sid]
    assert "From" not in form
    assert form["StatusCallback"] == [
        "https://sms.example.jp/receipts?src=twilio&client_ref=c9%2Fm1%2Fp2"
    ]


def test_a_dedicated_sender_is_sent_as_from_in_e164(server, twilio):
    server.from_numbers.add("+819011112222")
    twilio.send(Outbound("r", "09012345678", "本文", sender="09011112222"))
    assert server.sent_requests("send")[0].form["From"] == ["+819011112222"]


def test_a_sender_is_required(server):
    with pytest.raises(ConfigError, match="SMS_TWILIO_FROM"):
        make(server, from_number=None)


def test_status_goes_from_accepted_to_delivered_with_segments():
    # Queued for the first 30 s, sent until 60 s, then delivered (on the imitation's clock).
    with (
        TwilioServer(account_sid=SID, auth_token=PLANTED, delivery_delay=60) as server,
        make(server) as twilio,
    ):
        receipt = twilio.send(msg(body="あ" * 71))
        assert receipt.charged_units == 2
        assert server.stored()[0]["status"] == "queued"
        assert twilio.status(receipt.provider_id).state == "accepted"
        server.advance(35)
        assert server.stored()[0]["status"] == "sent"
        assert twilio.status(receipt.provider_id).state == "accepted"
        server.advance(30)
        assert twilio.status(receipt.provider_id).state == "delivered"


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("08099990002", "undelivered (30003): unreachable handset"),
        ("08099990006", "failed (30006): landline or unreachable carrier"),
        ("08099990001", "failed (30001): queue overflow: Twilio never sent it"),
    ],
)
def test_delivery_failures_carry_code_and_meaning(server, twilio, to, reason):
    receipt = twilio.send(msg(to=to))
    server.advance(1)
    final = twilio.status(receipt.provider_id)
    assert final.state == "failed"
    assert final.reason.startswith(reason)


def test_status_of_an_unknown_sid_is_permanent(twilio):
    with pytest.raises(ProviderPermanent, match=r"HTTP 404 \[20404\]"):
        twilio.status("SM" + "0" * 32)


# --- find ------------------------------------------------------------------------------


def test_find_matches_a_queued_message_that_date_filters_miss(queued_server):
    server = queued_server
    since = earlier()
    with make(server) as twilio:
        receipt = twilio.send(msg())
        found = twilio.find(msg(), since)  # still queued: no date_sent yet
    assert found is not None and found.provider_id == receipt.provider_id
    lists = server.sent_requests("lookup")
    assert lists[0].query["To"] == ["+819012345678"]
    assert lists[0].query["DateSent>"] == [(since - timedelta(minutes=2)).date().isoformat()]
    assert "DateSent>" not in lists[1].query


def test_find_matches_a_sent_message_by_body_not_by_other_parts(server, twilio):
    since = earlier()
    twilio.send(msg("p1", body="第1部"))
    receipt = twilio.send(msg("p2", body="第2部"))
    time.sleep(0.25)
    found = twilio.find(msg("p2", body="第2部"), since)
    assert found is not None and found.provider_id == receipt.provider_id
    assert found.state == "delivered"


def test_find_returns_none_when_nothing_matches(twilio):
    twilio.send(msg(body="別の本文"))
    twilio.send(msg(to="09087654321"))
    assert twilio.find(msg(), earlier()) is None


def test_find_ignores_messages_older_than_the_window(server, twilio):
    twilio.send(msg())
    later = now_utc() + timedelta(minutes=5)
    assert twilio.find(msg(), later) is None


def test_find_allows_for_clock_skew(twilio):
    receipt = twilio.send(msg())
    ahead = now_utc() + timedelta(seconds=60)  # our clock runs a minute fast
    found = twilio.find(msg(), ahead)
    assert found is not None and found.provider_id == receipt.provider_id


def test_find_takes_a_naive_time_as_utc(twilio):
    naive = now_utc().replace(tzinfo=None) - timedelta(seconds=1)
    receipt = twilio.send(msg())
    assert twilio.find(msg(), naive).provider_id == receipt.provider_id
    assert twilio.find(msg(), naive + timedelta(minutes=5)) is None


def test_find_follows_next_page_uri(queued_server):
    server = queued_server
    with make(server, page_size=2) as twilio:
        since = earlier()
        mine = twilio.send(msg(body="最初の通知"))
        for i in range(5):
            twilio.send(msg(body=f"後の通知 {i}"))
        found = twilio.find(msg(body="最初の通知"), since)
    assert found is not None and found.provider_id == mine.provider_id
    pages = [r.query.get("Page") for r in server.sent_requests("lookup")]
    assert pages == [None, None, ["1"], ["2"]]  # queued: the dated listing is empty


def test_two_messages_with_the_same_text_cannot_be_told_apart(twilio):
    since = earlier()
    twilio.send(msg("first"))
    twilio.send(msg("second"))
    with pytest.raises(ProviderAmbiguous, match="2 messages to this number with the same text"):
        twilio.find(msg("first"), since)


def test_a_lookup_that_fails_is_transient(server, twilio):
    server.fail_next("malformed", on="lookup")
    with pytest.raises(ProviderTransient, match="lookup failed"):
        twilio.find(msg(), earlier())


# --- the error rule --------------------------------------------------------------------


def test_429_is_transient_with_retry_after(server, twilio):
    server.fail_next("rate_limit", retry_after="2")
    with pytest.raises(ProviderTransient) as err:
        twilio.send(msg())
    assert (err.value.code, err.value.retry_after) == ("20429", 2.0)
    assert server.stored() == []


def test_refused_connection_is_transient(server):
    with (
        make(server, base_url=f"http://127.0.0.1:{closed_port()}") as twilio,
        pytest.raises(ProviderTransient, match="nothing was sent"),
    ):
        twilio.send(msg())


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("server_error", r"HTTP 500 \[20500\]"),
        ("slow", "read timeout"),
        ("malformed", "not valid JSON"),
        ("drop", "connection closed"),
    ],
)
def test_maybe_processed_faults_are_ambiguous_and_find_settles_them(server, twilio, fault, says):
    since = earlier()
    server.fail_next(fault, delay=2.0)
    with make(server, timeout=SHORT) as impatient, pytest.raises(ProviderAmbiguous, match=says):
        impatient.send(msg())
    found = twilio.find(msg(), since)
    assert found is not None
    assert found.provider_id == server.stored()[0]["sid"]


@pytest.mark.parametrize(
    ("to", "sender", "code", "text"),
    [
        ("05012345678", None, "21614", "is not a valid mobile number"),
        ("09011112222", None, "21610", "Attempt to send to unsubscribed recipient"),
        ("+14155550100", None, "21408", "Permission to send an SMS has not been enabled"),
        ("+12", None, "21211", "is not a valid phone number"),
        ("09012345678", "09099998888", "21606", "is not a valid, SMS-capable"),
    ],
)
def test_permanent_codes_carry_twilios_message(server, twilio, to, sender, code, text):
    server.unsubscribed.add("+819011112222")
    with pytest.raises(ProviderPermanent) as err:
        twilio.send(Outbound("r", to, "本文", sender=sender))
    assert err.value.code == code
    assert f"HTTP 400 [{code}]" in str(err.value)
    assert text in str(err.value)
    assert server.stored() == []


def test_the_sender_queue_being_full_is_not_processed(server, twilio):
    server.authenticate = lambda req, match: server.error(
        400, "This 'From' number has exceeded the maximum number of queued messages", 21611
    )
    with pytest.raises(ProviderTransient, match="not processed") as err:
        twilio.send(msg())
    assert err.value.code == "21611"


class SyncFailTwilio(TwilioServer):
    """Fails a message in the create answer itself, as a Messaging Service may."""

    def render(self, record):
        out = super().render(record)
        status, code = record["_outcome"]
        if code:
            out.update(status=status, error_code=code)
        return out


@pytest.mark.parametrize(
    ("to", "error", "code"),
    [("08099990001", ProviderTransient, "30001"), ("08099990006", ProviderPermanent, "30006")],
)
def test_a_message_failed_at_creation(to, error, code):
    with SyncFailTwilio() as server, make(server) as twilio, pytest.raises(error) as err:
        twilio.send(msg(to=to))
    assert err.value.code == code


def test_a_never_sent_failure_does_not_hide_the_resend_from_find():
    with SyncFailTwilio() as server, make(server) as twilio:
        since = earlier()
        part = msg(to="08099990001")
        with pytest.raises(ProviderTransient):
            twilio.send(part)
        server.outcomes.pop("+818099990001")  # the queue has drained
        resent = twilio.send(part)
        found = twilio.find(part, since)
    assert found is not None and found.provider_id == resent.provider_id


def test_wrong_auth_token_is_a_configuration_problem(server):
    with make(server, auth_token="wrong-token-123") as twilio:
        with pytest.raises(ProviderPermanent, match=r"rejected the credentials \(HTTP 401"):
            twilio.send(msg())
        assert server.stored() == []


# --- credentials never leak ------------------------------------------------------------


class EchoingTwilio(TwilioServer):
    """A provider that quotes the Authorization header back in its error message."""

    def authenticate(self, req, match):
        if req.form.get("Body") == ["echo"]:
            return self.error(401, f"bad header {req.headers.get('Authorization')}")
        return super().authenticate(req, match)


def test_a_planted_auth_token_never_appears_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{SID}:{PLANTED}".encode()).decode()
    errors: list[ProviderError] = []
    with (
        EchoingTwilio(account_sid=SID, auth_token=PLANTED, delivery_delay=0.2) as server,
        make(server, timeout=SHORT) as twilio,  # one of the faults is a slow answer
    ):
        for fault in ("rate_limit", "server_error", "slow", "malformed", "drop"):
            server.fail_next(fault, delay=1.0)
            with pytest.raises(ProviderError) as err:
                twilio.send(msg())
            errors.append(err.value)
        for call in (
            lambda: twilio.send(msg(to="05012345678")),
            lambda: twilio.send(msg(body="echo")),
            lambda: twilio.status("SMnope"),
        ):
            with pytest.raises(ProviderError) as err:
                call()
            errors.append(err.value)
        assert "bad header Basic ***" in str(errors[-2])
        assert PLANTED not in repr(twilio)
    with make(server, base_url=f"http://127.0.0.1:{closed_port()}") as twilio:
        with pytest.raises(ProviderError) as err:
            twilio.send(msg())
        errors.append(err.value)

    for e in errors:
        text = " ".join([str(e), repr(e), repr(e.args), str(e.__cause__), str(e.__context__)])
        assert not isinstance(e.__context__, requests.RequestException)  # it holds the headers
        assert PLANTED not in text and basic not in text
    assert caplog.records
    for record in caplog.records:
        assert PLANTED not in record.getMessage() and basic not in record.getMessage()


# --- load and the worker's protocol ----------------------------------------------------


def test_random_faults_settle_without_sending_any_part_twice(server, twilio):
    """A miniature worker: retry Transient, settle Ambiguous with find(), never resend blindly."""
    server.random_faults(0.3, seed=11, kinds=("rate_limit", "server_error", "malformed", "drop"))
    settled = {}
    for i in range(60):
        part = msg(f"camp-2/msg-{i}/1", to=f"0801{i:07d}", body=f"ご案内 {i}")
        since = earlier()
        for _attempt in range(20):
            try:
                settled[part.client_ref] = twilio.send(part).provider_id
                break
            except ProviderTransient:
                continue
            except ProviderAmbiguous:
                try:
                    found = twilio.find(part, since)
                except ProviderTransient:
                    continue
                if found is not None:
                    settled[part.client_ref] = found.provider_id
                    break
    assert len(settled) == 60
    assert sum(server.faults.injected.values()) > 10
    assert server.duplicates() == {}
    assert {m["sid"] for m in server.stored()} == set(settled.values())


def test_runs_as_a_separate_process_driven_over_http():
    args = ("--account-sid", SID, "--auth-token", "proc-auth-token", "--from-number", FROM)
    with ServerProcess("twilio", *args) as fake:
        fake.fail_next("server_error")
        with TwilioProvider(
            account_sid=SID, auth_token="proc-auth-token", from_number=FROM, base_url=fake.url
        ) as twilio:
            with pytest.raises(ProviderAmbiguous):
                twilio.send(msg())
            assert twilio.find(msg(), earlier()) is not None
        stats = fake.stats()
        assert (stats["messages"], stats["duplicates"]) == (1, [])
    assert fake.proc.returncode == 0


def test_a_deadline_goes_out_as_validity_period_seconds(server, twilio):
    """Issue 12 (送信期限): Twilio's ``ValidityPeriod`` is the seconds left until the
    deadline; none when it is further off than Twilio's 36000 s (its default then)."""
    from sms_core import clock
    from sms_core.providers.twilio import validity_period

    now = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)  # 23:59 Japan time, month's last day
    with clock.frozen(now):
        twilio.send(Outbound("ref-d", "09012345678", "本文", valid_until=now + timedelta(hours=2)))
        twilio.send(Outbound("ref-e", "09012345679", "本文", valid_until=now + timedelta(days=1)))
    first, second = server.sent_requests("send")
    assert first.form["ValidityPeriod"] == ["7200"]
    assert "ValidityPeriod" not in second.form
    assert validity_period(now + timedelta(seconds=0.2), now) == 1
    assert validity_period(None, now) is None
