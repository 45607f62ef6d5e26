"""Issue 7, proof under faults: ``kill -9`` the worker again and again; nothing goes out twice.

A campaign of 2,000 messages (2,000 distinct mobile numbers) goes to the Karaden imitation,
which runs as its own process and so outlives every worker. A real ``python -m sms_core
worker`` process is started, left to run a random (seeded) short while, and killed with
SIGKILL — in the middle of a claim, a batch of requests, a record, a settle — then started
again, until no message is left queued or in flight. A last worker then runs to the end and
is stopped with SIGTERM. Short leases (2 s) make the dead workers' claims expire quickly;
they are settled through the provider's lookup by our reference (Karaden ``tags[]``).

On SQLite and on PostgreSQL:

* the provider never received a client reference, nor a number with the same text, twice;
* every message ends accepted, delivered or failed (``unknown`` only with a reason);
* the ledger: ``used`` = units of the messages the provider took, ``reserved`` = units of
  those still open; every message the provider holds is recorded with its id;
* the campaign is finished, and the last worker exits 0 on SIGTERM.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

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
    worker_env,
)

from tests.integration.fakes.process import ServerProcess

MESSAGES = 2_000
SEED = 20_260_701
MAX_KILLS = 30
KILL_PHASE_S = 40  # then a last worker finishes whatever is left
# A kill leaves its batch leased for this long; the next worker then settles it.
LEASE_SECONDS = 2
# A guard against a hang, not a speed target: the last worker normally finishes in seconds,
# but on a loaded 2-core machine its start alone can take several.
FINISH_S = 180


@pytest.mark.slow
def test_kill_9_at_random_points_never_sends_twice(database_url, tmp_path):
    """See the module docstring."""
    started = time.monotonic()
    info = confirm_bulk(database_url, MESSAGES, provider="karaden", seed=SEED)
    assert (info.messages, info.units) == (MESSAGES, MESSAGES)
    rng = random.Random(SEED)
    engines: dict = {}
    with ServerProcess("karaden", *karaden_server_args("--delivery-delay", "0.3")) as fake:
        env = worker_env(
            database_url,
            karaden_env(fake.url),
            lease_seconds=LEASE_SECONDS,
            settle_delay=0.5,
            idle_sleep=0.05,
            status_poll_after=0.2,
            backoff_base=0.05,
            backoff_cap=0.5,
            # Small batches and a rate cap stretch the campaign over many kills.
            batch_size=16,
            rate_per_second=160,
            connect_timeout=1,
            read_timeout=1,
        )
        kills = 0
        while kills < MAX_KILLS and time.monotonic() - started < KILL_PHASE_S:
            with WorkerProcess(env, tmp_path) as worker:
                worker.wait_ready()
                time.sleep(rng.uniform(0.2, 1.5))
                worker.kill()
            kills += 1
            open_, _ = count_open(database_url, engines)
            if open_ == 0:
                break
        after_kills = outcome(database_url)

        with WorkerProcess(env, tmp_path) as worker:
            worker.wait_ready()
            deadline = time.monotonic() + FINISH_S
            while time.monotonic() < deadline:
                open_, sending = count_open(database_url, engines)
                if open_ == 0 and sending == 0:
                    break
                time.sleep(0.1)
            assert worker.terminate() == 0, worker.log()
        for log in tmp_path.glob("worker-*.log"):
            assert "Traceback" not in log.read_text(), log.read_text()
        stats = fake.stats()
        stored = fake.messages()
    for engine in engines.values():
        engine.dispose()

    result = outcome(database_url)
    # Taken by the provider, but recorded only after the lease of a killed worker ran out,
    # i.e. settled through the lookup: the window a blind resend would double-send in.
    settled_late = sum(
        1
        for m in stored
        if (result.accepted_at[m["tags"][0]] - datetime.fromisoformat(m["created_at"]))
        > timedelta(seconds=LEASE_SECONDS - 0.5)
    )
    elapsed = time.monotonic() - started
    print(
        f"\n{database_url.split(':')[0]}: {kills} kills in {elapsed:.1f} s; after the kills "
        f"{dict(after_kills.states)}; at the end {dict(result.states)}, "
        f"{result.retries} retries, {settled_late} settled by lookup after a kill, "
        f"{len(result.unknown_refs)} unknown "
        f"{dict(result.unknown_reasons)}; provider: {stats['sends']} sends"
    )
    assert kills >= 3, "the campaign finished before the worker was killed a few times"
    assert settled_late > 0, "no kill landed between a send and its record"
    # Nothing twice at the provider: not a reference, not a number with the same text.
    assert stats["tag_duplicates"] == {}
    assert stats["duplicates"] == []
    assert stats["sends"] == stats["messages"] == len(stored)
    # Every message is settled; unknown only with a reason.
    assert result.messages == MESSAGES
    assert result.states["queued"] == result.states["sending"] == 0
    assert set(result.states) <= {"accepted", "delivered", "failed", "unknown"}
    assert all(reason for reason in result.unknown_reasons)
    assert result.failed_without_reason == 0
    assert result.leased == 0
    # Kills are not provider failures: every message reached the provider, exactly once.
    assert len(stored) == MESSAGES
    check_against_provider(result, stored, "karaden")
    check_ledger(result)
    assert result.campaigns == {"finished": 1}
