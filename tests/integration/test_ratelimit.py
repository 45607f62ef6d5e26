"""Issue 12: one provider-wide rate limit for all workers, kept in the database.

Slots are taken with one conditional UPDATE; taken from many connections at once they
never overlap and leave no gap, on SQLite and PostgreSQL, so workers together stay
within the limit. (The combined rate of 4 worker processes is measured by
``benchmarks/dispatch.py --shared-cap``; tests make no speed assertions.)
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from sqlalchemy import select

from sms_core import clock
from sms_core.errors import InputError
from sms_core.providers.sandbox import SandboxProvider
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending import quota, ratelimit
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.store.db import make_engine, transaction
from sms_core.store.models import RateLimit

T0 = datetime(2026, 11, 30, 23, 59, tzinfo=JST)


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.set_now(T0)
    yield
    clock.set_now(None)


def test_without_a_limit_no_slots_are_taken(engine):
    assert ratelimit.take(engine, "karaden", 5) is None
    ratelimit.set_limit(engine, "karaden", None)
    assert ratelimit.take(engine, "karaden", 5) is None
    with pytest.raises(InputError):
        ratelimit.set_limit(engine, "karaden", 0)


def test_slots_follow_each_other_and_idle_time_is_not_banked(engine):
    ratelimit.set_limit(engine, "karaden", 10)
    now = T0.timestamp()
    first = ratelimit.take(engine, "karaden", 4)
    second = ratelimit.take(engine, "karaden", 2)
    assert (first.first, first.at(3)) == (pytest.approx(now), pytest.approx(now + 0.3))
    assert second.first == pytest.approx(now + 0.4)
    clock.advance(60)  # a minute idle: the next slot is now, not a minute of catch-up
    assert ratelimit.take(engine, "karaden", 1).first == pytest.approx(now + 60)
    assert ratelimit.take(engine, "twilio", 1) is None  # per provider


def test_slots_taken_at_once_by_many_connections_never_overlap(database_url):
    """8 threads × 25 takes of 3 slots, each with its own engine: every slot is given
    once, and together they are contiguous — the cursor moved by exactly 600 / rate."""
    rate = 50.0
    setup = make_engine(database_url)
    ratelimit.set_limit(setup, "karaden", rate)
    got: list[tuple[float, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def taker() -> None:
        engine = make_engine(database_url)
        try:
            for _ in range(25):
                slots = ratelimit.take(engine, "karaden", 3)
                with lock:
                    got.append((slots.first, 3))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    starts = sorted(round((first - T0.timestamp()) * rate) for first, _ in got)
    assert starts == list(range(0, 600, 3))
    with transaction(setup) as s:
        cursor = s.scalar(select(RateLimit.next_slot))
    assert cursor == pytest.approx(T0.timestamp() + 600 / rate)
    setup.dispose()


def test_a_worker_sends_within_the_shared_limit_and_records_it(engine, tmp_path):
    """A worker configured with a provider-wide rate stores it for every worker, and
    takes one slot per message it hands over."""
    with transaction(engine) as s:
        set_contract(s, 100, quota.current_month(), 3)
    roster = load_roster(
        (
            "応募者ID,氏名,区分,携帯電話番号\n"
            + "".join(f"C{i},候補者{i},新卒,0901111{i:04d}\n" for i in range(1, 6))
        ).encode()
    )
    confirm_campaign(
        engine,
        preview(roster, "ご案内"),
        name="rate",
        idempotency_key="r",
        actor="test",
        provider="sandbox",
        quiet=QuietHours.parse("00:00-00:00"),
    )
    from sms_core.store.app_settings import set_setting

    with transaction(engine) as s:
        set_setting(s, "quiet_hours", "00:00-00:00", actor="admin")
    sandbox = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    try:
        worker = Worker(engine, sandbox, DispatchConfig(provider_rate_per_second=100.0))
        assert ratelimit.limit_of(engine, "sandbox") == 100.0
        for _ in range(3):
            worker.run_once()
        assert len(sandbox.outbox()) == 5
    finally:
        sandbox.close()
    with transaction(engine) as s:
        cursor = s.scalar(select(RateLimit.next_slot).where(RateLimit.provider == "sandbox"))
    assert cursor == pytest.approx(T0.timestamp() + 5 / 100.0)
