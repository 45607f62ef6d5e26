"""Japan time and quiet hours (R13, issue 7)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from sms_core.errors import ConfigError, InputError
from sms_core.rules.schedule import JST, QuietHours, japan_time, parse_japan_time
from sms_core.sending.campaigns import resolve_send_time

QUIET = QuietHours(time(21), time(8))


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def test_r13_times_are_entered_in_japan_time_and_stored_in_utc():
    at = parse_japan_time("2026-12-01 10:00")
    assert at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert japan_time(at) == "2026-12-01 10:00"
    with pytest.raises(InputError, match="2026-12-01 10:00"):
        parse_japan_time("tomorrow")


@pytest.mark.parametrize(
    "hour,minute,inside",
    [
        (20, 59, False),
        (21, 0, True),
        (23, 59, True),
        (0, 0, True),
        (7, 59, True),
        (8, 0, False),
        (12, 0, False),
    ],
)
def test_quiet_hours_span_midnight_in_japan_time(hour, minute, inside):
    assert QUIET.contains(jst(2026, 12, 1, hour, minute)) is inside


def test_quiet_hours_end_is_the_next_morning():
    assert QUIET.end_after(jst(2026, 12, 1, 22, 30)) == jst(2026, 12, 2, 8, 0).astimezone(UTC)
    assert QUIET.end_after(jst(2026, 12, 2, 3, 0)) == jst(2026, 12, 2, 8, 0).astimezone(UTC)


def test_quiet_hours_configuration():
    assert QuietHours.parse("22:00-07:30") == QuietHours(time(22), time(7, 30))
    assert not QuietHours.parse("00:00-00:00").contains(jst(2026, 1, 1, 3))
    with pytest.raises(ConfigError):
        QuietHours.parse("late")


def test_send_into_quiet_hours_is_refused_deferred_or_overridden_with_a_reason():
    now = jst(2026, 12, 1, 22, 0).astimezone(UTC)
    with pytest.raises(InputError, match="quiet hours"):
        resolve_send_time(None, now=now, quiet=QUIET)
    deferred = resolve_send_time(None, now=now, quiet=QUIET, policy="defer")
    assert deferred == jst(2026, 12, 2, 8, 0).astimezone(UTC)
    urgent = resolve_send_time(None, now=now, quiet=QUIET, urgent_reason="台風のため休講")
    assert urgent == now
    with pytest.raises(InputError, match="reason"):
        resolve_send_time(None, now=now, quiet=QUIET, urgent_reason="  ")


def test_send_times_must_be_aware_and_not_past():
    now = jst(2026, 12, 1, 12, 0).astimezone(UTC)
    with pytest.raises(InputError, match="time zone"):
        resolve_send_time(datetime(2026, 12, 2, 10, 0), now=now, quiet=QUIET)
    with pytest.raises(InputError, match="already passed"):
        resolve_send_time(jst(2026, 12, 1, 9, 0), now=now, quiet=QUIET)
    later = jst(2026, 12, 3, 10, 0)
    assert resolve_send_time(later, now=now, quiet=QUIET) == later


@pytest.mark.parametrize(
    "typed",
    [
        "2026-12-01 10:00",
        "2026/12/01 10:00",  # as every page shows times
        "2026/12/1 10:00",
        "２０２６／１２／０１　１０：００",  # typed with a Japanese IME
        "2026年12月1日 10時",
        "2026年12月1日 10時00分",
        "2026-12-01T10:00:00+09:00",
        "2026-12-01T01:00:00Z",
    ],
)
def test_r13_times_are_read_as_people_type_them_in_japan(typed):
    assert parse_japan_time(typed) == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("typed", ["2026/13/01 10:00", "2026/11/31 10:00", "明日 10:00", ""])
def test_r13_a_time_that_is_not_one_is_refused_in_words(typed):
    with pytest.raises(InputError) as caught:
        parse_japan_time(typed)
    assert caught.value.key == "time.format"
