"""The trigger-kept message counts (migration 0010) equal a fresh count of the messages,
on SQLite and PostgreSQL, after a seeded random mix of what really happens to messages:
sends now and scheduled, parts (R8), rejections, failures reported after acceptance,
delivery receipts, cancels, pauses, erasures and a bulk update from outside the product's
code. The reports (R20 chart, daily sends, funnel, per campaign) read those counts.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from sms_core import clock, reports
from sms_core.providers.sandbox import FAILING_NUMBER, UNREACHABLE_NUMBER, SandboxProvider
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending.campaigns import cancel_campaign, confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.sending.retention import erase_phone
from sms_core.store.db import transaction
from sms_core.store.models import Message, MessageCount

NO_QUIET = QuietHours.parse("00:00-00:00")
FAST = DispatchConfig(
    settle_delay=0,
    status_poll_after=0,
    backoff_base=0.01,
    backoff_cap=0.05,
    idle_sleep=0.01,
    batch_size=4,  # so that one cycle sends only part of a campaign
)
# 23:30 Japan time on a month's last day: sends on either side of midnight fall on two
# days and in two months.
START = datetime(2026, 11, 30, 23, 30, tzinfo=JST)
LONG = "あ" * 661  # two parts (630 + 31 characters, R8)


@pytest.fixture
def sandbox(tmp_path):
    provider = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    yield provider
    provider.close()


@pytest.fixture
def product_clock(monkeypatch):
    # Quiet hours off: the worker holds nothing back at hand-over (issue 12) in this
    # test of the counts, which runs across midnight and a month's end.
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    clock.set_now(START, frozen=False)
    yield
    clock.set_now(None)


def roster(rng: random.Random, n: int):
    """``n`` candidates of both kinds; some numbers are the sandbox's failing ones."""
    lines = []
    for i in range(1, n + 1):
        phone = rng.choice(
            [f"090{rng.randrange(10**7, 10**8)}"] * 6 + [FAILING_NUMBER, UNREACHABLE_NUMBER]
        )
        kind = rng.choice(["新卒", "中途"])
        # R4: new graduates by the mobile field, mid-career by 電話番号1.
        mobile, first = (phone, "") if kind == "新卒" else ("", phone)
        lines.append(f"C{i},候補者{i},{kind},{mobile},{first}\n")
    header = "応募者ID,氏名,区分,携帯電話番号,電話番号1\n"
    return load_roster((header + "".join(lines)).encode())


def drain(worker: Worker) -> None:
    for _ in range(100):
        report = worker.run_once()
        if report.idle:
            with transaction(worker.engine) as s:
                busy = s.scalar(
                    select(Message.id).where(Message.state.in_(("queued", "sending", "unknown")))
                )
            if busy is None:
                return
            time.sleep(0.02)


def fresh_counts(engine) -> Counter:
    """The counts computed here, in Python, from every message row (the independent side)."""
    counts: Counter = Counter()
    with transaction(engine) as s:
        rows = s.execute(
            select(
                Message.campaign_id,
                Message.accepted_at,
                Message.failed_at,
                Message.created_at,
                Message.state,
                Message.kind,
                Message.part_index,
                Message.part_count,
                Message.units,
            )
        ).all()
    for r in rows:
        when = r.accepted_at or r.failed_at or r.created_at
        key = (
            r.campaign_id,
            when.astimezone(JST).date(),
            r.state,
            r.kind or "",
            r.part_index,
            r.part_count,
            r.accepted_at is not None,
        )
        counts[key, "messages"] += 1
        counts[key, "units"] += r.units
    return counts


def kept_counts(engine) -> Counter:
    counts: Counter = Counter()
    with transaction(engine) as s:
        for row in s.scalars(select(MessageCount)):
            key = (
                row.campaign_id,
                row.day,
                row.state,
                row.kind,
                row.part_index,
                row.part_count,
                bool(row.accepted),
            )
            counts[key, "messages"] += row.messages
            counts[key, "units"] += row.units
    return +counts  # rows whose messages all moved elsewhere hold 0


def test_the_kept_counts_equal_a_fresh_count_after_a_random_mix(engine, sandbox, product_clock):
    rng = random.Random(14)
    with transaction(engine) as s:
        set_contract(s, 100_000, date(2026, 11, 1), 3)
    worker = Worker(engine, sandbox, FAST)
    erasable: list[str] = []
    for k in range(8):
        p = preview(roster(rng, rng.randrange(5, 25)), LONG if k % 3 == 0 else "{{氏名}}様 hi")
        scheduled = k % 4 == 3
        info = confirm_campaign(
            engine,
            p,
            name=f"c{k}",
            idempotency_key=f"k{k}",
            actor="test",
            provider="sandbox",
            quiet=NO_QUIET,
            send_at=clock.now_utc() + timedelta(hours=3) if scheduled else None,
            template_name=rng.choice(["面接", None]),
        )
        if scheduled and rng.random() < 0.5:
            cancel_campaign(engine, info.id, actor="test")
        elif not scheduled:
            # Part of the campaign goes out today, the rest after midnight, or never.
            worker.run_once()
            if rng.random() < 0.3:
                cancel_campaign(engine, info.id, actor="test")
            else:
                drain(worker)
        with transaction(engine) as s:
            erasable += s.scalars(
                select(Message.phone).where(
                    Message.campaign_id == info.id, Message.state.in_(("delivered", "failed"))
                )
            ).all()
        clock.advance(rng.randrange(600, 4 * 3600))  # across midnight and a month's end
    clock.advance(4 * 3600)  # the scheduled campaigns that were not cancelled are due
    drain(worker)
    with transaction(engine) as s:
        # A number still to be sent to in another campaign cannot be erased yet.
        waiting = set(
            s.scalars(
                select(Message.phone).where(Message.state.in_(("queued", "sending", "unknown")))
            )
        )
    erasable = sorted(set(erasable) - waiting)
    assert len(erasable) >= 3
    for phone in rng.sample(erasable, 3):
        with transaction(engine) as s:
            erase_phone(s, phone, actor="test")
    # A statement from outside the product's code paths moves many rows at once.
    with transaction(engine) as s:
        s.execute(
            update(Message)
            .where(Message.state == "delivered", Message.part_index == 2)
            .values(state="failed", failed_at=clock.now_utc(), error_message="late failure")
        )

    fresh = fresh_counts(engine)
    states = {key[0][2] for key in fresh}
    assert {"delivered", "failed", "cancelled"} <= states, states  # the mix really is mixed
    assert len({key[0][1] for key in fresh}) >= 2  # and spans days
    assert kept_counts(engine) == fresh

    # The reports read those counts and agree with the messages themselves.
    now = clock.now_utc()
    chart = reports.monthly_success(engine, 3, now)
    with transaction(engine) as s:
        parts = s.execute(
            select(
                Message.campaign_id,
                Message.recipient_row,
                Message.part_index,
                Message.part_count,
                Message.state,
                Message.accepted_at,
            )
        ).all()
    # R20, counted from the messages themselves: one success per recipient's message whose
    # last part was accepted (or delivered) and none of whose parts failed, in the month
    # of that last part's acceptance; delivered when every part is delivered.
    spoiled = {(c, r) for c, r, _, _, state, _ in parts if state == "failed"}
    undelivered = {(c, r) for c, r, _, _, state, _ in parts if state != "delivered"}
    wins = [
        (date(a.astimezone(JST).year, a.astimezone(JST).month, 1), (c, r) not in undelivered)
        for c, r, index, count, state, a in parts
        if index == count and state in ("accepted", "delivered") and (c, r) not in spoiled
    ]
    by_month = Counter(month for month, _ in wins)
    delivered_by_month = Counter(month for month, delivered in wins if delivered)
    assert spoiled, "a late failure of a second part really spoils some messages"
    assert dict(zip(chart["month"], chart["successful"], strict=True)) == {
        m: by_month.get(m, 0) for m in chart["month"]
    }
    assert dict(zip(chart["month"], chart["delivered"], strict=True)) == {
        m: delivered_by_month.get(m, 0) for m in chart["month"]
    }
    funnel = reports.funnel(engine).set_index("stage")["messages"]
    assert funnel["queued"] == sum(n for (_, what), n in fresh.items() if what == "messages")


def test_a_message_deleted_leaves_the_counts(engine, product_clock):
    """DELETE is counted too (the product never deletes messages, but nothing stops SQL)."""
    rng = random.Random(7)
    with transaction(engine) as s:
        set_contract(s, 1_000, date(2026, 11, 1), 3)
    p = preview(roster(rng, 6), "hi")
    confirm_campaign(
        engine, p, name="c", idempotency_key="k", actor="t", provider="sandbox", quiet=NO_QUIET
    )
    with transaction(engine) as s:
        s.execute(Message.__table__.delete().where(Message.recipient_row <= 3))
    assert kept_counts(engine) == fresh_counts(engine)
    # Nothing was handed over (all queued): a day counts only messages handed over.
    assert reports.daily_sends(engine, 1, now=clock.now_utc())["total"].iloc[-1] == 0


def test_the_triggers_are_in_place(engine):
    """A later migration that rebuilds ``message`` (SQLite batch mode) drops its triggers."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'message'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'message'::regclass"
        names = set(conn.exec_driver_sql(sql).scalars())
    assert {"message_count_insert", "message_count_update", "message_count_delete"} <= names
