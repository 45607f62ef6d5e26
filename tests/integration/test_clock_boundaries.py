"""Japan-time boundaries on SQLite and PostgreSQL, with the product clock set (R13, R17,
R18, R20, sends today, quiet hours): 23:59 and 00:00 at the end of a month and of a year,
and 00:00–08:59 Japan time, when the UTC date is still the day before. The databases
compute Japan-time days themselves, so each is checked, not only the Python side.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from sms_core import clock, reports
from sms_core.providers.sandbox import SandboxProvider
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message

NO_QUIET = QuietHours.parse("00:00-00:00")
NIGHT = QuietHours.parse("21:00-08:00")
FAST = DispatchConfig(settle_delay=0, status_poll_after=0, batch_size=16)
ROSTER = load_roster("応募者ID,氏名,区分,携帯電話番号\nC1,山田,新卒,09011110001\n".encode())


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


@pytest.fixture(autouse=True)
def real_clock_after():
    yield
    clock.set_now(None)


def _contract(engine, start: date = date(2026, 10, 1), months: int = 6) -> None:
    with transaction(engine) as s:
        set_contract(s, 1000, start, months)


def _confirm(engine, key: str, **kw):
    kw.setdefault("quiet", NO_QUIET)
    return confirm_campaign(
        engine,
        preview(ROSTER, "hi"),
        name="境界",
        idempotency_key=key,
        actor="test",
        provider="sandbox",
        **kw,
    )


@pytest.mark.parametrize(
    ("now", "month"),
    [
        (jst(2026, 11, 30, 23, 59), date(2026, 11, 1)),
        (jst(2026, 12, 1, 0, 0), date(2026, 12, 1)),
        (jst(2026, 12, 31, 23, 59), date(2026, 12, 1)),
        (jst(2027, 1, 1, 0, 0), date(2027, 1, 1)),
        (jst(2027, 1, 1, 8, 59), date(2027, 1, 1)),  # UTC: 2026-12-31 23:59
    ],
)
def test_r17_a_send_now_reserves_in_the_japan_time_month_of_the_clock(engine, now, month):
    _contract(engine)
    clock.set_now(now)
    info = _confirm(engine, "now")
    assert info.quota_month == month
    with transaction(engine) as s:
        assert quota.remaining(s, month).reserved == info.units
        other = quota.add_months(month, -1 if now.day == 1 else 1)
        assert quota.remaining(s, other).reserved == 0


def test_r13_r18_a_send_deferred_past_midnight_on_new_years_eve_goes_to_january(engine):
    _contract(engine)
    clock.set_now(jst(2026, 12, 31, 23, 59))
    info = _confirm(engine, "defer", quiet=NIGHT, quiet_policy="defer")
    assert info.scheduled_at == jst(2027, 1, 1, 8, 0)
    assert info.quota_month == date(2027, 1, 1)


def test_r13_a_campaign_for_00_00_starts_at_00_00_japan_time_not_before(
    engine, tmp_path, monkeypatch
):
    # Quiet hours off: a send at 00:00 would otherwise wait for their end at hand-over
    # (issue 12); this is about the clock's midnight alone.
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    _contract(engine)
    clock.set_now(jst(2026, 12, 31, 23, 0))
    info = _confirm(engine, "midnight", send_at=jst(2027, 1, 1, 0, 0))
    assert info.state == "scheduled" and info.quota_month == date(2027, 1, 1)
    sandbox = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    try:
        worker = Worker(engine, sandbox, FAST)
        clock.set_now(jst(2026, 12, 31, 23, 59, 59))
        assert worker.run_once().started == 0
        clock.set_now(jst(2027, 1, 1, 0, 0))
        report = worker.run_once()
        assert (report.started, report.accepted) == (1, 1)
    finally:
        sandbox.close()
    with transaction(engine) as s:
        accepted_at = s.scalar(select(Message.accepted_at))
        assert s.get(Campaign, info.id).state in ("sending", "finished")
    assert accepted_at == jst(2027, 1, 1, 0, 0)
    with transaction(engine) as s:
        assert quota.remaining(s, date(2027, 1, 1)).used == 1


def _accepted_messages(engine, *instants: datetime) -> None:
    """One delivered message per instant, accepted then (as the worker records it)."""
    with transaction(engine) as s:
        campaign = Campaign(
            name="境界",
            body="hi",
            state="finished",
            quota_month=date(2026, 11, 1),
            sender_mode="shared",
            sender_number="0000",
            provider="sandbox",
            created_by="test",
            created_at=instants[0] - timedelta(hours=1),
        )
        s.add(campaign)
        s.flush()
        for i, at in enumerate(instants):
            s.add(
                Message(
                    campaign_id=campaign.id,
                    recipient_row=i + 2,
                    phone="09011110001",
                    body="hi",
                    units=1,
                    state="delivered",
                    client_ref=f"b-{i}",
                    provider="sandbox",
                    created_at=instants[0] - timedelta(hours=1),
                    accepted_at=at,
                    delivered_at=at,
                )
            )


BOUNDARY_SENDS = (
    jst(2026, 11, 30, 23, 59),  # November, in Japan and in UTC
    jst(2026, 12, 1, 0, 0),  # December in Japan; 30 November 15:00 in UTC
    jst(2026, 12, 1, 8, 59),  # December in Japan; 30 November 23:59 in UTC
    jst(2026, 12, 31, 23, 59),
    jst(2027, 1, 1, 0, 0),  # 2027 in Japan; 2026-12-31 in UTC
)


@pytest.mark.parametrize(
    "now", [jst(2027, 1, 1, 0, 0), jst(2027, 1, 1, 8, 59), jst(2027, 1, 1, 9, 0)]
)
def test_r20_the_monthly_chart_counts_each_send_in_its_japan_time_month(engine, now):
    _accepted_messages(engine, *BOUNDARY_SENDS)
    with clock.frozen(now):
        df = reports.monthly_success(engine, months=3)
    assert dict(zip(df["month"], df["successful"], strict=True)) == {
        date(2026, 11, 1): 1,
        date(2026, 12, 1): 3,
        date(2027, 1, 1): 1,
    }


@pytest.mark.parametrize(
    ("now", "today", "expected"),
    [
        # 08:30 on 1 December in Japan (23:30 on 30 November in UTC): today is 1 December.
        (jst(2026, 12, 1, 8, 30), date(2026, 12, 1), {"2026-11-30": 1, "2026-12-01": 2}),
        (jst(2026, 11, 30, 23, 59), date(2026, 11, 30), {"2026-11-29": 0, "2026-11-30": 1}),
        (jst(2027, 1, 1, 0, 0), date(2027, 1, 1), {"2026-12-31": 1, "2027-01-01": 1}),
    ],
)
def test_sends_today_counts_the_japan_time_day(engine, now, today, expected):
    """本日の送信数 / the daily chart: the last row is Japan's today, counted by the
    database in Japan time (00:00 JST is 15:00 UTC the day before)."""
    _accepted_messages(engine, *BOUNDARY_SENDS)
    with clock.frozen(now):
        df = reports.daily_sends(engine, days=2)
    assert df["day"].iloc[-1] == today
    got = {d.isoformat(): int(n) for d, n in zip(df["day"], df["delivered"], strict=True)}
    assert got == expected


def test_the_instants_are_stored_as_utc_on_both_databases(engine):
    _accepted_messages(engine, jst(2027, 1, 1, 0, 0))
    with transaction(engine) as s:
        accepted = s.scalar(select(Message.accepted_at))
    assert accepted == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
    assert accepted.tzinfo is not None
