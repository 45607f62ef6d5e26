"""The one clock (sms_core.clock) and the Japan-time boundaries that hang on it.

Instants chosen where a wrong time zone or a wall-clock read shows: 23:59 and 00:00 Japan
time at the end of a month and of a year, and 00:00–08:59 Japan time, when the UTC date
is still the day before (R13 scheduling, R17 quota months, R20 months and days, quiet
hours). Nothing here reads the wall clock: the product clock is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sms_core import clock
from sms_core.errors import ConfigError, InputError
from sms_core.reports._base import day_start, last_days, last_months, month_start
from sms_core.rules.schedule import JST, QuietHours, parse_japan_time
from sms_core.sending import quota
from sms_core.sending.campaigns import resolve_send_time

ROOT = Path(__file__).resolve().parents[2]


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


MONTH_END_2359 = jst(2026, 11, 30, 23, 59)  # 14:59 UTC, same date
MONTH_START_0000 = jst(2026, 12, 1, 0, 0)  # 15:00 UTC on 30 November
YEAR_END_2359 = jst(2026, 12, 31, 23, 59)
YEAR_START_0000 = jst(2027, 1, 1, 0, 0)  # 15:00 UTC on 31 December 2026
EARLY_MORNING = jst(2026, 12, 1, 8, 59)  # 23:59 UTC on 30 November: UTC is a day behind
MORNING = jst(2026, 12, 1, 9, 0)  # 00:00 UTC on 1 December: the dates agree again


@pytest.fixture(autouse=True)
def real_clock_after():
    yield
    clock.set_now(None)


# --- the clock itself -------------------------------------------------------------------


def test_a_frozen_clock_stands_still_and_gives_back_utc():
    with clock.frozen(MONTH_END_2359) as now:
        assert now == clock.now_utc() == MONTH_END_2359
        assert clock.now_utc().tzinfo == UTC
        assert clock.now_utc() == clock.now_utc()


def test_frozen_restores_what_was_set_before():
    clock.set_now(YEAR_END_2359)
    with clock.frozen(MONTH_END_2359):
        assert clock.now_utc() == MONTH_END_2359
    assert clock.now_utc() == YEAR_END_2359


def test_advance_moves_a_set_clock_across_midnight():
    clock.set_now(YEAR_END_2359)
    assert clock.advance(60) == YEAR_START_0000
    assert clock.now_utc() == YEAR_START_0000
    assert quota.current_month() == date(2027, 1, 1)


def test_a_running_clock_starts_at_the_instant_and_goes_on():
    clock.set_now(MONTH_END_2359, frozen=False)
    first = clock.now_utc()
    assert MONTH_END_2359 <= first < MONTH_END_2359 + timedelta(minutes=5)
    assert clock.now_utc() >= first


def test_advance_needs_a_set_clock_and_instants_need_a_zone():
    with pytest.raises(RuntimeError):
        clock.advance(1)
    with pytest.raises(ValueError):
        clock.set_now(datetime(2026, 11, 30, 23, 59))


def test_sms_now_starts_a_subprocess_clock_and_it_runs_on():
    """SMS_NOW: a worker or CLI under test starts at the given instant, in real time."""
    code = (
        "from sms_core import clock; from sms_core.sending import quota; "
        "print(clock.now_utc().isoformat()); print(quota.current_month())"
    )
    env = {**os.environ, "SMS_NOW": "2026-11-30T23:59:59+09:00"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    instant, month = done.stdout.split()
    started = datetime.fromisoformat(instant)
    assert (
        jst(2026, 11, 30, 23, 59, 59)
        <= started
        < jst(2026, 11, 30, 23, 59, 59) + timedelta(seconds=30)
    )
    assert month in ("2026-11-01", "2026-12-01")  # one second from the month's end


@pytest.mark.parametrize("text", ["2026-11-30T23:59:00", "tomorrow", ""])
def test_sms_now_must_be_an_instant_with_its_offset(text):
    if not text:
        assert clock._from_environment() is None  # empty: the real clock, not an error
        return
    with pytest.raises(ConfigError):
        clock._parse(text)


# --- R17: quota months ----------------------------------------------------------------------

MONTHS = [
    (MONTH_END_2359, date(2026, 11, 1)),
    (MONTH_START_0000, date(2026, 12, 1)),
    (YEAR_END_2359, date(2026, 12, 1)),
    (YEAR_START_0000, date(2027, 1, 1)),
    (EARLY_MORNING, date(2026, 12, 1)),
    (jst(2027, 1, 1, 8, 30), date(2027, 1, 1)),  # UTC: still 2026-12-31
]


@pytest.mark.parametrize(("instant", "month"), MONTHS)
def test_r17_the_quota_month_is_the_japan_time_month_of_the_clock(instant, month):
    with clock.frozen(instant):
        assert quota.current_month() == month
    assert quota.jst_month(instant) == month
    assert quota.jst_month(instant.astimezone(UTC)) == month


# --- R20: the months and days of the charts ---------------------------------------------


@pytest.mark.parametrize(("instant", "month"), MONTHS)
def test_r20_the_chart_months_end_with_the_japan_time_month(instant, month):
    with clock.frozen(instant):
        months = last_months(3, None)
    assert months[-1] == month
    assert months == [quota.add_months(month, -2), quota.add_months(month, -1), month]
    assert month_start(month) == datetime(month.year, month.month, 1, tzinfo=JST)


@pytest.mark.parametrize(
    ("instant", "today"),
    [
        (MONTH_END_2359, date(2026, 11, 30)),
        (MONTH_START_0000, date(2026, 12, 1)),
        (YEAR_END_2359, date(2026, 12, 31)),
        (YEAR_START_0000, date(2027, 1, 1)),
        (EARLY_MORNING, date(2026, 12, 1)),
        (MORNING, date(2026, 12, 1)),
    ],
)
def test_sends_today_is_the_japan_time_day_of_the_clock(instant, today):
    """本日の送信数 and the daily chart: "today" is Japan's date, even while UTC's is not."""
    with clock.frozen(instant):
        days = last_days(2, None)
    assert days == [today - timedelta(days=1), today]
    # The day begins at 00:00 Japan time: 15:00 UTC the day before.
    assert day_start(today) == jst(today.year, today.month, today.day)
    assert day_start(today).astimezone(UTC).date() == today - timedelta(days=1)


# --- R13: scheduling, and quiet hours ------------------------------------------------------

NIGHT = QuietHours.parse("21:00-08:00")
NONE = QuietHours.parse("00:00-00:00")


def test_r13_a_japan_time_on_the_first_of_a_month_is_the_evening_before_in_utc():
    assert parse_japan_time("2026-12-01 00:00") == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert parse_japan_time("2027-01-01 08:59") == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)


def test_r13_a_time_one_minute_past_is_refused_and_the_next_minute_is_taken():
    at = parse_japan_time("2026-12-01 00:00")
    assert resolve_send_time(at, now=MONTH_END_2359, quiet=NONE) == at
    with pytest.raises(InputError, match="already passed"):
        resolve_send_time(MONTH_END_2359 - timedelta(hours=1), now=MONTH_START_0000, quiet=NONE)


@pytest.mark.parametrize(
    ("now", "morning"),
    [
        (MONTH_END_2359, jst(2026, 12, 1, 8, 0)),  # deferred into next month
        (YEAR_END_2359, jst(2027, 1, 1, 8, 0)),  # and into next year
        (YEAR_START_0000, jst(2027, 1, 1, 8, 0)),
        (jst(2026, 12, 1, 7, 59), jst(2026, 12, 1, 8, 0)),  # UTC still 30 November
    ],
)
def test_quiet_hours_defer_a_night_send_to_the_japan_time_morning(now, morning):
    assert NIGHT.contains(now)
    when = resolve_send_time(None, now=now, quiet=NIGHT, policy="defer")
    assert when == morning
    assert quota.jst_month(when) == date(morning.year, morning.month, 1)  # R17/R18
    with pytest.raises(InputError, match="quiet hours"):
        resolve_send_time(None, now=now, quiet=NIGHT)


@pytest.mark.parametrize(
    ("instant", "quiet"),
    [
        (jst(2026, 11, 30, 20, 59), False),
        (jst(2026, 11, 30, 21, 0), True),
        (MONTH_END_2359, True),
        (MONTH_START_0000, True),
        (jst(2026, 12, 1, 7, 59), True),
        (jst(2026, 12, 1, 8, 0), False),  # 23:00 UTC: a UTC reading would say "night"
        (EARLY_MORNING, False),
    ],
)
def test_quiet_hours_are_japan_time_whatever_the_utc_date(instant, quiet):
    assert NIGHT.contains(instant) is quiet
    assert NIGHT.contains(instant.astimezone(UTC)) is quiet
