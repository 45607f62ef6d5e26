"""Issue 12 with the worker as a real process: quiet hours, the month's end and a deadline.

``python -m sms_core worker`` runs from ``SMS_NOW`` on in real time, with a provider-wide
limit of 50 sends a second (so a campaign of 400 takes about 8 s and meets the moment under
test half-way), sending to the sandbox provider. On SQLite and PostgreSQL.

* Quiet hours and the month's end (R17/R18): a send confirmed at 20:59:55 on 30 November
  stops being handed over at 21:00; what is left stays queued with its units reserved in
  November. A worker started at 07:59:58 on 1 December hands nothing over before 08:00,
  then moves the units left to December and sends them there.
* Deadline (送信期限): messages not handed over by 10:00:06 expire, units released.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from dispatch_helpers import BODY, WorkerProcess, worker_env
from sqlalchemy import func, select

from sms_core import clock
from sms_core.demo.samples import generate_roster, write_roster_csv
from sms_core.rules.preview import preview
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.store.app_settings import set_setting
from sms_core.store.db import make_engine, transaction
from sms_core.store.models import Campaign, Message

MESSAGES = 400
RATE = 50
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
    clock.set_now(None)


def setup(engine, tmp_path: Path, quiet: str, **confirm_kw):
    with transaction(engine) as s:
        set_contract(s, 10_000, date(2026, 10, 1), 3)
        set_setting(s, "quiet_hours", quiet, actor="admin")
    path = tmp_path / "roster.csv"
    write_roster_csv(generate_roster(MESSAGES, seed=12, messy=False), path)
    result = preview(path, BODY)
    return confirm_campaign(
        engine,
        result,
        name="issue 12",
        idempotency_key="k",
        actor="test",
        provider="sandbox",
        quiet=QuietHours.parse(quiet),
        **confirm_kw,
    )


def env(database_url: str, tmp_path: Path, now: str) -> dict[str, str]:
    provider = {
        "SMS_PROVIDER": "sandbox",
        "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
        "SMS_SANDBOX_DELIVERY_DELAY": "0",
    }
    result = worker_env(
        database_url,
        provider,
        provider_rate_per_second=RATE,
        batch_size=16,
        idle_sleep=0.05,
        status_poll_after=3600,
    )
    result["SMS_NOW"] = now
    return result


def rows(engine, campaign_id: int):
    with transaction(engine) as s:
        return s.execute(
            select(Message.state, Message.units, Message.accepted_at, Message.error_code).where(
                Message.campaign_id == campaign_id
            )
        ).all()


def wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def ledger(engine, month: date) -> tuple[int, int]:
    with transaction(engine) as s:
        status = quota.remaining(s, month)
        return status.used, status.reserved


def campaign_state(engine, campaign_id: int) -> str:
    with transaction(engine) as s:
        return s.scalar(select(Campaign.state).where(Campaign.id == campaign_id))


def test_quiet_hours_and_month_end_with_a_real_worker(database_url, db, tmp_path):
    """See the module docstring (R17, R18, R19, issue 12 quiet hours)."""
    clock.set_now(jst("2026-11-30 20:59:50"))
    info = setup(db, tmp_path, "21:00-08:00")
    assert info.quota_month == NOV
    with WorkerProcess(env(database_url, tmp_path, "2026-11-30T20:59:55+09:00"), tmp_path) as w:
        w.wait_ready()
        # Until the worker's clock is well past 21:00 (it started at 20:59:55).
        wait_until(lambda: campaign_state(db, info.id) == "quiet_hours", timeout=30)
        time.sleep(1.0)
        assert w.terminate() == 0
    first = rows(db, info.id)
    sent = [r for r in first if r.accepted_at is not None]
    left = [r for r in first if r.state == "queued"]
    assert left, "the whole campaign went out: nothing stopped at 21:00"
    # A send starts before 21:00; its answer is recorded a moment later.
    assert all(r.accepted_at < jst("2026-11-30 21:00:01") for r in sent)
    assert len(sent) + len(left) == MESSAGES
    assert ledger(db, NOV) == (sum(r.units for r in sent), sum(r.units for r in left))
    with WorkerProcess(env(database_url, tmp_path, "2026-12-01T07:59:58+09:00"), tmp_path) as w:
        w.wait_ready()
        wait_until(lambda: campaign_state(db, info.id) == "finished", timeout=60)
        assert w.terminate() == 0
    after = rows(db, info.id)
    evening = jst("2026-11-30 22:00")
    morning = [r for r in after if r.accepted_at is not None and r.accepted_at > evening]
    assert len(morning) == len(left)
    assert all(r.accepted_at >= jst("2026-12-01 08:00") for r in morning)
    assert ledger(db, NOV) == (sum(r.units for r in sent), 0)
    assert ledger(db, DEC) == (sum(r.units for r in morning), 0)
    with transaction(db) as s:
        assert s.get(Campaign, info.id).quota_month == DEC


def test_deadline_with_a_real_worker(database_url, db, tmp_path):
    """See the module docstring (issue 12 deadline)."""
    clock.set_now(jst("2026-11-30 09:59:58"))
    deadline = jst("2026-11-30 10:00:06")
    info = setup(db, tmp_path, "00:00-00:00", deadline=deadline)
    with WorkerProcess(env(database_url, tmp_path, "2026-11-30T10:00:00+09:00"), tmp_path) as w:
        w.wait_ready()
        wait_until(lambda: campaign_state(db, info.id) == "finished", timeout=60)
        assert w.terminate() == 0
    result = rows(db, info.id)
    sent = [r for r in result if r.accepted_at is not None]
    expired = [r for r in result if r.state == "expired"]
    assert sent and expired, (len(sent), len(expired))
    assert len(sent) + len(expired) == MESSAGES
    assert {r.error_code for r in expired} == {"deadline"}
    assert all(r.accepted_at < deadline + timedelta(seconds=1) for r in sent)
    assert ledger(db, NOV) == (sum(r.units for r in sent), 0)
    with transaction(db) as s:
        assert s.scalar(select(func.count()).where(Message.state == "queued")) == 0
