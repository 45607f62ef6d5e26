"""The Karaden adapter against the imitation Karaden API on 127.0.0.1 (issue 7, Providers)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from sms_core import clock
from sms_core.clock import now_utc
from sms_core.errors import ProviderAmbiguous, ProviderError, ProviderPermanent, ProviderTransient
from sms_core.providers import Outbound
from sms_core.providers.karaden import KaradenProvider
from sms_core.providers.transport import Timeout
from tests.integration.fakes.karaden_server import KaradenServer
from tests.integration.fakes.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
# Generous: a healthy imitation answers in milliseconds, but a loaded 2-core machine can
# stall a thread for longer than half a second, which would read as a timeout.
TIMEOUT = Timeout(5.0, 10.0)
# For the tests of a slow answer only: the imitation holds it at least 1 s.
SHORT = Timeout(1.0, 0.5)
PLANTED = "kd-PLANTED-secret-7f3a9c1e"


@pytest.fixture
def server():
    with KaradenServer(token=PLANTED, delivery_delay=0.2) as s:
        yield s


def make(server: KaradenServer, **kw) -> KaradenProvider:
    settings = dict(
        token=server.token,
        tenant_id=server.tenant_id,
        service_id=1,
        dedicated_service_id=2,
        base_url=server.base_url,
        timeout=TIMEOUT,
    )
    return KaradenProvider(**{**settings, **kw})


@pytest.fixture
def karaden(server):
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


def test_send_puts_the_documented_form_and_headers_on_the_wire(server, karaden):
    receipt = karaden.send(msg(body="山田様 面接は10時からです"))

    assert receipt.state == "accepted"
    assert receipt.charged_units == 1
    (req,) = server.sent_requests("send")
    assert req.path == f"/api/{server.tenant_id}/messages"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert req.headers["Authorization"] == f"Bearer {PLANTED}"
    assert req.headers["Karaden-Version"] == "2023-01-01"
    assert req.form == {
        "service_id": ["1"],
        "to": ["09012345678"],
        "body": ["山田様 面接は10時からです"],
        "tags[]": ["c1-m1-p1"],
    }
    (stored,) = server.stored()
    assert stored["id"] == receipt.provider_id
    assert stored["tags"] == ["c1-m1-p1"]


def test_dedicated_sender_goes_through_the_dedicated_service(server, karaden):
    karaden.send(Outbound("ref", "09012345678", "本文", sender="0312345678"))
    assert server.sent_requests("send")[0].form["service_id"] == ["2"]


def test_dedicated_sender_without_its_service_fails_and_sends_nothing(server):
    with (
        make(server, dedicated_service_id=None) as karaden,
        pytest.raises(ProviderPermanent, match="dedicated_service_id"),
    ):
        karaden.send(Outbound("ref", "09012345678", "本文", sender="0312345678"))
    assert server.stored() == []


def test_charged_units_follow_the_body_length(karaden):
    assert karaden.send(msg(body="あ" * 141)).charged_units == 3


def test_status_is_accepted_then_delivered():
    with KaradenServer(token=PLANTED, delivery_delay=60) as server, make(server) as karaden:
        receipt = karaden.send(msg())
        assert karaden.status(receipt.provider_id).state == "accepted"
        server.advance(61)
        assert karaden.status(receipt.provider_id) == receipt.__class__(
            receipt.provider_id, "delivered", None, 1
        )


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        ("08099990002", "圏外"),
        ("08099990005", "送信エラー"),
        ("08099990006", "不明"),
    ],
)
def test_final_failures_carry_the_carrier_reason(server, karaden, to, reason):
    receipt = karaden.send(msg(to=to))
    server.advance(1)
    final = karaden.status(receipt.provider_id)
    assert final.state == "failed"
    assert reason in final.reason


def test_status_of_an_unknown_id_is_permanent(karaden):
    with pytest.raises(ProviderPermanent, match="HTTP 404"):
        karaden.status("00000000-0000-0000-0000-000000000000")


def test_cancel_while_waiting_and_refused_after():
    # Waiting for the first 30 s (on the imitation's clock), then sending.
    with KaradenServer(delivery_delay=60) as server, make(server) as karaden:
        first = karaden.send(msg("a"))
        cancelled = karaden.cancel(first.provider_id)
        assert cancelled.state == "failed"
        assert cancelled.reason == "sending was cancelled (送信キャンセル)"
        second = karaden.send(msg("b"))
        server.advance(35)
        with pytest.raises(ProviderPermanent, match="送信待ちのメッセージのみ"):
            karaden.cancel(second.provider_id)


# --- find ------------------------------------------------------------------------------


def test_find_returns_the_message_by_its_tag(server, karaden):
    karaden.send(msg("other", body="別の本文"))
    receipt = karaden.send(msg("mine"))
    found = karaden.find(msg("mine"), earlier())
    assert found is not None
    assert found.provider_id == receipt.provider_id
    assert server.sent_requests("lookup")[-1].query["tag"] == ["mine"]


def test_find_returns_none_when_the_provider_has_no_such_message(karaden):
    karaden.send(msg("someone-else"))
    assert karaden.find(msg("never-sent"), earlier()) is None


class TagBlindKaraden(KaradenServer):
    """A list endpoint that ignores the tag filter: the adapter must filter and page itself."""

    def list_messages(self, req, match):
        req.query.pop("tag", None)
        return super().list_messages(req, match)


def test_find_filters_and_follows_pages_itself():
    with TagBlindKaraden() as server, make(server, per_page=1) as karaden:
        mine = karaden.send(msg("mine"))
        for i in range(3):
            karaden.send(msg(f"noise-{i}"))
        found = karaden.find(msg("mine"), earlier())
        assert found is not None and found.provider_id == mine.provider_id
        pages = [r.query["page"] for r in server.sent_requests("lookup")]
        assert pages == [["1"], ["2"], ["3"], ["4"]]
        assert karaden.find(msg("absent"), earlier()) is None


def test_find_gives_up_after_max_pages_as_transient():
    with TagBlindKaraden() as server, make(server, per_page=1, max_pages=2) as karaden:
        for i in range(3):
            karaden.send(msg(f"noise-{i}"))
        with pytest.raises(ProviderTransient, match="more than 2 pages"):
            karaden.find(msg("absent"), earlier())


def test_a_lookup_that_fails_cannot_tell_and_is_transient(server, karaden):
    server.fail_next("server_error", on="lookup")
    with pytest.raises(ProviderTransient, match="lookup failed"):
        karaden.find(msg(), earlier())


# --- the error rule --------------------------------------------------------------------


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (None, None)])
def test_429_is_transient_with_retry_after_and_stores_nothing(server, karaden, header, seconds):
    server.fail_next("rate_limit", retry_after=header or "")
    with pytest.raises(ProviderTransient) as err:
        karaden.send(msg())
    assert err.value.retry_after == seconds
    assert err.value.code == "too_many_requests"
    assert server.stored() == []


def test_429_retry_after_as_an_http_date(server, karaden):
    # The date is read against the product clock, set here: exactly 30 s ahead of it.
    with clock.frozen(datetime(2026, 11, 30, 14, 59, 30, tzinfo=UTC)) as now:
        when = now + timedelta(seconds=30)
        server.fail_next("rate_limit", retry_after=when.strftime("%a, %d %b %Y %H:%M:%S GMT"))
        with pytest.raises(ProviderTransient) as err:
            karaden.send(msg())
    assert err.value.retry_after == 30


def test_refused_connection_is_transient(server):
    with (
        make(server, base_url=f"http://127.0.0.1:{closed_port()}/api") as karaden,
        pytest.raises(ProviderTransient, match=r"\(connection refused\); nothing was sent"),
    ):
        karaden.send(msg())


@pytest.mark.parametrize(
    ("fault", "params", "says"),
    [
        ("server_error", {}, "HTTP 500"),
        ("server_error", {"status": 503}, "HTTP 503"),
        ("slow", {"delay": 2.0}, "read timeout"),
        ("malformed", {}, "not valid JSON"),
        ("drop", {}, "connection closed"),
    ],
)
def test_maybe_processed_faults_are_ambiguous_and_find_settles_them(
    server, karaden, fault, params, says
):
    sent_after = earlier()
    server.fail_next(fault, **params)
    with make(server, timeout=SHORT) as impatient, pytest.raises(ProviderAmbiguous, match=says):
        impatient.send(msg())
    found = karaden.find(msg(), sent_after)
    assert found is not None
    assert found.provider_id == server.stored()[0]["id"]
    assert len(server.stored()) == 1


def test_connection_dropped_before_processing_is_ambiguous_and_find_says_none(server, karaden):
    server.fail_next("drop", store=False)
    with pytest.raises(ProviderAmbiguous):
        karaden.send(msg())
    assert karaden.find(msg(), earlier()) is None  # now the worker may send it again
    karaden.send(msg())
    assert server.duplicates() == {}


@pytest.mark.parametrize(
    ("to", "body", "field", "text"),
    [
        ("05012345678", "本文", "to", "携帯電話番号"),
        ("09012345678", "あ" * 661, "body", "660文字以内"),
    ],
)
def test_validation_errors_are_permanent_with_the_providers_message(
    server, karaden, to, body, field, text
):
    with pytest.raises(ProviderPermanent) as err:
        karaden.send(msg(to=to, body=body))
    assert "HTTP 422" in str(err.value)
    assert "入力内容に誤りがあります" in str(err.value)
    assert f"{field}: " in str(err.value) and text in str(err.value)
    assert server.stored() == []


def test_a_number_not_of_11_digits_never_reaches_the_provider(server, karaden):
    with pytest.raises(ProviderPermanent, match="11-digit"):
        karaden.send(msg(to="090-1234-5678"))
    assert server.sent_requests("send") == []


def test_wrong_token_is_a_configuration_problem(server):
    with make(server, token="wrong-token-123456") as karaden:
        with pytest.raises(ProviderPermanent, match=r"rejected the credentials \(HTTP 401"):
            karaden.send(msg())
        with pytest.raises(ProviderPermanent, match="configuration problem"):
            karaden.status("x")


def test_wrong_tenant_is_a_configuration_problem(server):
    with (
        make(server, tenant_id="someone-else") as karaden,
        pytest.raises(ProviderPermanent, match=r"HTTP 403.*configuration problem"),
    ):
        karaden.send(msg())


# --- credentials never leak ------------------------------------------------------------


class EchoingKaraden(KaradenServer):
    """A provider that quotes the Authorization header back in its error message."""

    def authenticate(self, req, match):
        if match["tenant"] == "echo":
            return self.error(401, f"invalid header: {req.headers.get('Authorization')}")
        return super().authenticate(req, match)


def test_a_planted_token_never_appears_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[ProviderError] = []
    with EchoingKaraden(token=PLANTED, delivery_delay=0.2) as server:
        with make(server, timeout=SHORT) as karaden:  # one of the faults is a slow answer
            for fault in ("rate_limit", "server_error", "slow", "malformed", "drop"):
                server.fail_next(fault, delay=1.0)
                with pytest.raises(ProviderError) as err:
                    karaden.send(msg())
                errors.append(err.value)
            for call in (lambda: karaden.send(msg(to="05012345678")), lambda: karaden.status("x")):
                with pytest.raises(ProviderError) as err:
                    call()
                errors.append(err.value)
            assert PLANTED not in repr(karaden)
        with make(server, tenant_id="echo") as karaden, pytest.raises(ProviderError) as err:
            karaden.send(msg())
        errors.append(err.value)
        assert "invalid header: Bearer ***" in str(err.value)
    with make(server, base_url=f"http://127.0.0.1:{closed_port()}/api") as karaden:
        with pytest.raises(ProviderError) as err:
            karaden.send(msg())
        errors.append(err.value)

    assert len(errors) == 9
    for e in errors:
        text = " ".join([str(e), repr(e), repr(e.args), str(e.__cause__), str(e.__context__)])
        assert not isinstance(e.__context__, requests.RequestException)  # it holds the headers
        assert PLANTED not in text
    assert caplog.records, "the adapter and urllib3 log at DEBUG; the check must see them"
    for record in caplog.records:
        assert PLANTED not in record.getMessage()


# --- load and the worker's protocol ----------------------------------------------------


def test_random_faults_settle_without_sending_any_part_twice(server, karaden):
    """A miniature worker: retry Transient, settle Ambiguous with find(), never resend blindly."""
    server.random_faults(0.3, seed=7, kinds=("rate_limit", "server_error", "malformed", "drop"))
    outcomes = {}
    for i in range(60):
        part = msg(f"camp-1/msg-{i}/1", to=f"0901{i:07d}", body=f"お知らせ {i}")
        since = earlier()
        for _attempt in range(20):
            try:
                outcomes[part.client_ref] = karaden.send(part).provider_id
                break
            except ProviderTransient:
                continue
            except ProviderAmbiguous:
                try:
                    found = karaden.find(part, since)
                except ProviderTransient:
                    found = None
                    continue  # a real worker would leave it unknown and ask again later
                if found is not None:
                    outcomes[part.client_ref] = found.provider_id
                    break
    assert len(outcomes) == 60
    assert sum(server.faults.injected.values()) > 10
    assert server.duplicates() == {}
    assert server.tag_duplicates() == {}
    assert {m["id"] for m in server.stored()} == set(outcomes.values())


def test_one_provider_shared_by_threads(server, karaden):
    def send_many(worker: int) -> None:
        for i in range(15):
            karaden.send(msg(f"w{worker}-{i}", body=f"本文 {worker}-{i}"))

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.stored()) == 120
    assert server.tag_duplicates() == {} and server.duplicates() == {}
    assert len(karaden._http._sessions) == 8  # one session per thread, all closed by close()


def test_runs_as_a_separate_process_driven_over_http():
    with ServerProcess("karaden", "--token", "proc-token-0001", "--delivery-delay", "0.1") as fake:
        fake.fail_next("drop")
        with KaradenProvider(
            token="proc-token-0001",
            tenant_id="tenant-0001",
            service_id=1,
            base_url=fake.url + "/api",
        ) as karaden:
            with pytest.raises(ProviderAmbiguous):
                karaden.send(msg())
            assert karaden.find(msg(), earlier()) is not None
        stats = fake.stats()
        assert (stats["messages"], stats["duplicates"]) == (1, [])
        assert stats["faults_injected"] == {"drop": 1}
        assert fake.messages()[0]["tags"] == ["c1-m1-p1"]
    assert fake.proc.returncode == 0
    assert '"messages": 1' in fake.log()


def test_capacity_latency_and_rate_limit():
    with KaradenServer(latency=0.05, max_concurrency=1) as server, make(server) as karaden:
        started = time.perf_counter()
        threads = [threading.Thread(target=karaden.send, args=(msg(f"t{i}"),)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.perf_counter() - started >= 0.2  # one at a time, 50 ms each
        assert len(server.stored()) == 4
    with KaradenServer(rate_limit=5) as server, make(server) as karaden:
        refused = 0
        for i in range(10):
            try:
                karaden.send(msg(f"r{i}"))
            except ProviderTransient as e:
                refused += 1
                assert e.retry_after == 1
        assert refused >= 4 and len(server.stored()) == 10 - refused


def test_a_deadline_goes_out_as_limited_at_in_japan_time(server, karaden):
    """Issue 12 (送信期限): the send's deadline is Karaden's ``limited_at``."""
    from sms_core.rules.schedule import JST

    deadline = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 13:00 Japan time
    karaden.send(Outbound("ref-d", "09012345678", "本文", valid_until=deadline))
    (req,) = server.sent_requests("send")
    assert req.form["limited_at"] == ["2026-12-01T13:00:00+09:00"]
    (stored,) = server.stored()
    assert datetime.fromisoformat(stored["limited_at"]) == deadline.astimezone(JST)
