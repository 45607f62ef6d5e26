"""Issue 7, proof under faults: provider failures, SIGTERM, and batches that outlast a lease.

Every test runs real ``python -m sms_core worker`` processes against an imitation provider
in its own process, on SQLite and on PostgreSQL.

* Faults on 20% of the send requests, on Karaden and on Twilio, every kind of the
  imitation (429 with Retry-After, 500 after storing, an answer slower than the read
  timeout, a body that is not JSON, a connection dropped after storing): every message ends
  accepted, delivered or failed with a reason, none twice at the provider, ambiguous ones
  settled through the provider's lookup (never resent blindly), and the ledger agrees.
* SIGTERM in the middle of a batch: the worker records what it sent and exits 0; no message
  is left in ``sending`` or holding a lease, and a later worker finishes the campaign.
* Two workers whose rate cap makes a claimed batch take longer than its lease: a live
  worker's claim must not expire under it, or the other worker would settle the messages
  not sent yet as "absent" and send them, and then the first one would send them again.
"""

from __future__ import annotations

import time

import pytest
from dispatch_helpers import (
    WorkerProcess,
    check_against_provider,
    check_ledger,
    confirm_bulk,
    count_open,
    karaden_env,
    karaden_server_args,
    outcome,
    twilio_env,
    twilio_server_args,
    worker_env,
)

from tests.integration.fakes.process import ServerProcess
from tests.integration.fakes.server import FAULT_KINDS

FAULTY_MESSAGES = 400
FAULT_RATE = 0.2
READ_TIMEOUT = 0.5  # the imitation's slow answers take 2 s
# A guard against a hang, not a speed target (a run takes about 10 s on a quiet machine).
BUDGET_S = 180

PROVIDERS = {
    "karaden": (karaden_server_args, karaden_env),
    "twilio": (twilio_server_args, twilio_env),
}


def wait_until_settled(url: str, deadline: float, engines: dict) -> tuple[int, int]:
    """Poll until nothing is open and no campaign is sending, or the deadline passes."""
    while True:
        open_, sending = count_open(url, engines)
        if (open_ == 0 and sending == 0) or time.monotonic() > deadline:
            return open_, sending
        time.sleep(0.1)


def dispose(engines: dict) -> None:
    """Close the engines :func:`count_open` kept."""
    for engine in engines.values():
        engine.dispose()


def check_clean_logs(tmp_path) -> None:
    """No worker logged a traceback (a cycle that failed and was retried)."""
    for log in tmp_path.glob("worker-*.log"):
        assert "Traceback" not in log.read_text(), log.read_text()


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_faults_on_a_fifth_of_the_sends_never_double_send(kind, database_url, tmp_path):
    """See the module docstring (first point)."""
    started = time.monotonic()
    server_args, provider_env = PROVIDERS[kind]
    info = confirm_bulk(database_url, FAULTY_MESSAGES, provider=kind, seed=7)
    assert info.messages == FAULTY_MESSAGES
    engines: dict = {}
    faults = server_args(
        "--delivery-delay", "0.3", "--fault-rate", str(FAULT_RATE), "--fault-seed", "11"
    )
    with ServerProcess(kind, *faults) as fake:
        env = worker_env(
            database_url,
            provider_env(fake.url),
            read_timeout=READ_TIMEOUT,
            connect_timeout=1,
            # Several rounds of timed-out requests fit in a lease.
            lease_seconds=10,
            settle_delay=0.3,
            idle_sleep=0.05,
            status_poll_after=0.2,
            backoff_base=0.05,
            backoff_cap=0.5,
            batch_size=16,
        )
        with WorkerProcess(env, tmp_path) as worker:
            worker.wait_ready()
            open_, sending = wait_until_settled(database_url, started + BUDGET_S, engines)
            assert worker.terminate() == 0, worker.log()
        stats = fake.stats()
        stored = fake.messages()
    dispose(engines)
    check_clean_logs(tmp_path)

    result = outcome(database_url)
    print(
        f"\n{kind} on {database_url.split(':')[0]}: {time.monotonic() - started:.1f} s; "
        f"faults {stats['faults_injected']}; {dict(result.states)}; {result.retries} "
        f"retries; provider: {stats['sends']} sends, {stats['requests']} requests"
    )
    assert (open_, sending) == (0, 0), f"still open after {BUDGET_S} s: {dict(result.states)}"
    assert set(stats["faults_injected"]) == set(FAULT_KINDS)
    assert sum(stats["faults_injected"].values()) >= FAULTY_MESSAGES * FAULT_RATE * 0.7
    assert stats["duplicates"] == []
    assert stats.get("tag_duplicates", {}) == {}
    assert set(result.states) <= {"accepted", "delivered", "failed"}
    assert result.failed_without_reason == 0
    assert result.leased == 0
    # Every stored message is recorded under the provider's id; nothing was lost either.
    assert len(stored) == len(result.refs_with_provider_id)
    assert len(stored) + result.states["failed"] >= FAULTY_MESSAGES
    check_against_provider(result, stored, kind)
    check_ledger(result)
    assert result.campaigns == {"finished": 1}


def test_sigterm_mid_batch_records_the_batch_and_exits_0(database_url, tmp_path):
    """See the module docstring (second point)."""
    messages = 300
    confirm_bulk(database_url, messages, provider="karaden", seed=3)
    engines: dict = {}
    # 50 ms per request: a batch of 32 over 4 connections is in flight for about 0.4 s.
    with ServerProcess("karaden", *karaden_server_args("--latency", "0.05")) as fake:
        env = worker_env(
            database_url,
            karaden_env(fake.url),
            idle_sleep=0.05,
            batch_size=32,
            concurrency=4,
            status_poll_after=60,
        )
        with WorkerProcess(env, tmp_path) as worker:
            worker.wait_ready()
            deadline = time.monotonic() + 20
            in_flight = 0
            while time.monotonic() < deadline:
                in_flight = outcome(database_url).states["sending"]
                if in_flight:
                    break
                time.sleep(0.01)
            assert in_flight, "the worker never had a batch in flight"
            signalled = time.monotonic()
            assert worker.terminate(timeout=20) == 0, worker.log()
            stopped_in = time.monotonic() - signalled
        stopped = outcome(database_url)
        stored_at_stop = fake.messages()

        # The campaign is not done; a new worker finishes it without sending anything twice.
        with WorkerProcess(env, tmp_path) as worker:
            worker.wait_ready()
            open_, sending = wait_until_settled(database_url, time.monotonic() + 30, engines)
            assert worker.terminate() == 0, worker.log()
        stats = fake.stats()
        stored = fake.messages()
    dispose(engines)
    check_clean_logs(tmp_path)

    print(
        f"\nSIGTERM with {in_flight} in flight: stopped in {stopped_in:.2f} s leaving "
        f"{dict(stopped.states)}"
    )
    assert stopped.states["sending"] == 0 and stopped.leased == 0
    assert stopped.states["unknown"] == 0
    assert stopped.states["queued"] > 0, "the campaign ended before the signal"
    # What the provider took before the stop is recorded as taken, under its id.
    assert len(stored_at_stop) == len(stopped.refs_with_provider_id)
    check_against_provider(stopped, stored_at_stop, "karaden")
    check_ledger(stopped)

    final = outcome(database_url)
    assert (open_, sending) == (0, 0), dict(final.states)
    assert stats["duplicates"] == [] and stats["tag_duplicates"] == {}
    assert len(stored) == messages == len(final.refs_with_provider_id)
    check_against_provider(final, stored, "karaden")
    check_ledger(final)
    assert final.campaigns == {"finished": 1}


def test_a_batch_slower_than_its_lease_is_not_sent_twice_by_a_second_worker(database_url, tmp_path):
    """See the module docstring (third point)."""
    messages = 60
    confirm_bulk(database_url, messages, provider="karaden", seed=5)
    engines: dict = {}
    with ServerProcess("karaden", *karaden_server_args()) as fake:
        # 16 messages at 5 a second take 3.2 s; the lease is 2 s.
        env = worker_env(
            database_url,
            karaden_env(fake.url),
            lease_seconds=2,
            rate_per_second=5,
            batch_size=16,
            concurrency=4,
            settle_delay=0.2,
            idle_sleep=0.05,
            status_poll_after=60,
            connect_timeout=0.5,
            read_timeout=0.5,
        )
        with WorkerProcess(env, tmp_path) as first, WorkerProcess(env, tmp_path) as second:
            first.wait_ready()
            second.wait_ready()
            open_, sending = wait_until_settled(database_url, time.monotonic() + 40, engines)
            assert first.terminate() == 0, first.log()
            assert second.terminate() == 0, second.log()
        stats = fake.stats()
        stored = fake.messages()
    dispose(engines)
    check_clean_logs(tmp_path)

    result = outcome(database_url)
    assert stats["tag_duplicates"] == {} and stats["duplicates"] == []
    assert (open_, sending) == (0, 0), dict(result.states)
    assert len(stored) == messages
    check_against_provider(result, stored, "karaden")
    check_ledger(result)
