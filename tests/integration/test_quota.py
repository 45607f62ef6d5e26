"""The quota ledger on a real database, SQLite and PostgreSQL (R16-R20)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from sms_core.errors import InputError, QuotaError, StateError
from sms_core.sending import quota
from sms_core.sending.contract import get_contract, set_contract
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, QuotaMonth

NOV, DEC, JAN, FEB = date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)
# "Now" for contract changes: during November 2026 in Japan.
IN_NOVEMBER = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def contract(engine, units=50, start=NOV, months=3, now=IN_NOVEMBER):
    with transaction(engine) as session:
        set_contract(session, units, start, months, actor="test", now=now)


def status(engine, month):
    with transaction(engine) as session:
        return quota.remaining(session, month)


def reserve(engine, month, units):
    with transaction(engine) as session:
        return quota.reserve(session, month, units)


def test_r18_reserve_commit_release_arithmetic(engine):
    contract(engine, units=50)
    assert status(engine, DEC) == (50, 0, 0, 50)
    assert reserve(engine, DEC, 20) == (50, 0, 20, 30)  # the ledger right after
    reserve(engine, DEC, 12)
    assert status(engine, DEC) == (50, 0, 32, 18)
    with transaction(engine) as session:
        quota.commit_units(session, DEC, 15)  # the provider accepted 15 units
    assert status(engine, DEC) == (50, 15, 17, 18)
    with transaction(engine) as session:
        quota.release(session, DEC, 5)  # a cancelled send gives back what it did not send
    assert status(engine, DEC) == (50, 15, 12, 23)
    # Other months are untouched.
    assert status(engine, NOV) == (50, 0, 0, 50)


def test_r18_a_send_that_does_not_fit_is_refused_with_the_shortfall(engine):
    contract(engine, units=50)
    reserve(engine, DEC, 45)
    with pytest.raises(QuotaError) as err:
        reserve(engine, DEC, 8)
    assert (err.value.needed, err.value.remaining, err.value.shortfall) == (8, 5, 3)
    assert "needs 8 units but only 5 remain in 2026-12" in str(err.value)
    assert "3 short" in str(err.value)
    assert status(engine, DEC) == (50, 0, 45, 5)  # nothing was reserved
    reserve(engine, DEC, 5)  # exactly what remains fits
    assert status(engine, DEC) == (50, 0, 50, 0)


def test_r18_at_zero_remaining_nothing_can_be_sent(engine):
    contract(engine, units=10)
    reserve(engine, DEC, 10)
    with transaction(engine) as session:
        quota.commit_units(session, DEC, 10)
    with pytest.raises(QuotaError, match="no units remain in 2026-12") as err:
        reserve(engine, DEC, 1)
    assert err.value.remaining == 0 and err.value.shortfall == 1


def test_r19_the_check_constraint_refuses_a_direct_overshooting_update(engine):
    contract(engine, units=50)
    reserve(engine, DEC, 40)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(text("UPDATE quota_month SET reserved = reserved + 11"))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(text("UPDATE quota_month SET used = 20, reserved = 31"))
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.execute(text("UPDATE quota_month SET reserved = -1"))
    assert status(engine, DEC) == (50, 0, 40, 10)


def test_r19_commit_or_release_more_than_reserved_is_refused(engine):
    contract(engine, units=50)
    reserve(engine, DEC, 4)
    with pytest.raises(StateError, match="only 4 are reserved"), transaction(engine) as s:
        quota.commit_units(s, DEC, 5)
    with pytest.raises(StateError), transaction(engine) as s:
        quota.release(s, JAN, 1)
    assert status(engine, DEC) == (50, 0, 4, 46)


@pytest.mark.parametrize(
    ("instant", "month"),
    [
        (datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC), NOV),  # 23:59:59 JST, 30 Nov
        (datetime(2026, 11, 30, 15, 0, 0, tzinfo=UTC), DEC),  # 00:00 JST, 1 Dec
        (datetime(2026, 12, 31, 14, 59, 59, 999999, tzinfo=UTC), DEC),
        (datetime(2026, 12, 31, 15, 0, tzinfo=UTC), JAN),  # New Year in Japan
        (datetime(2026, 11, 1, 0, 0, tzinfo=UTC), NOV),  # 09:00 JST
        (datetime(2026, 10, 31, 15, 0, tzinfo=UTC), NOV),  # 00:00 JST, 1 Nov
    ],
)
def test_r17_months_are_japan_time_calendar_months(instant, month):
    assert quota.jst_month(instant) == month


def test_r17_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        quota.jst_month(datetime(2026, 11, 30, 23, 59))


def test_r17_a_send_at_2359_jst_on_the_last_day_counts_for_that_month(engine):
    contract(engine, units=50)
    reserve(engine, quota.jst_month(datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)), 7)
    reserve(engine, quota.jst_month(datetime(2026, 11, 30, 15, 0, 0, tzinfo=UTC)), 3)
    assert status(engine, NOV) == (50, 0, 7, 43)
    assert status(engine, DEC) == (50, 0, 3, 47)


def test_r16_months_outside_the_contract_are_refused(engine):
    contract(engine, units=50, start=NOV, months=3)  # November to January
    with pytest.raises(QuotaError, match=r"2027-02 is outside the SMS contract \(2026-11 to"):
        reserve(engine, FEB, 1)
    with pytest.raises(QuotaError, match="outside"):
        reserve(engine, date(2026, 10, 1), 1)
    reserve(engine, JAN, 1)
    assert status(engine, FEB) == (0, 0, 0, 0)
    with transaction(engine) as session:
        assert session.scalar(select(QuotaMonth).where(QuotaMonth.month == FEB)) is None


def test_r16_without_a_contract_nothing_can_be_reserved(engine):
    with pytest.raises(QuotaError, match="no SMS contract"):
        reserve(engine, DEC, 1)
    assert status(engine, DEC) == (0, 0, 0, 0)


def test_reserve_refuses_bad_arguments(engine):
    contract(engine)
    for bad in (0, -3, 1.5, True):
        with pytest.raises(InputError), transaction(engine) as session:
            quota.reserve(session, DEC, bad)
    with pytest.raises(InputError, match="first day"), transaction(engine) as session:
        quota.reserve(session, date(2026, 12, 2), 1)


def test_r20_monthly_usage_for_the_chart(engine):
    contract(engine, units=50, start=date(2026, 9, 1), months=6, now=IN_NOVEMBER)
    for month, units in ((date(2026, 9, 1), 30), (NOV, 12)):
        reserve(engine, month, units)
        with transaction(engine) as session:
            quota.commit_units(session, month, units - 2)
    with transaction(engine) as session:
        usage = quota.monthly_usage(session, now=IN_NOVEMBER)
    assert len(usage) == 12
    assert usage[0].month == date(2025, 12, 1) and usage[-1].month == NOV
    by_month = {u.month: (u.used, u.cap) for u in usage}
    assert by_month[date(2026, 9, 1)] == (28, 50)
    assert by_month[date(2026, 10, 1)] == (0, 50)  # no row that month: 0 used
    assert by_month[NOV] == (10, 50)
    assert by_month[date(2026, 8, 1)] == (0, 0)  # before the contract


def test_r16_contract_change_recaps_this_and_future_months_only(engine):
    contract(engine, units=50, start=date(2026, 10, 1), months=6, now=IN_NOVEMBER)
    for month in (date(2026, 10, 1), NOV, DEC):
        reserve(engine, month, 10)
    contract(engine, units=80, start=date(2026, 10, 1), months=6, now=IN_NOVEMBER)
    assert status(engine, date(2026, 10, 1)) == (50, 0, 10, 40)  # past: as it was
    assert status(engine, NOV) == (80, 0, 10, 70)
    assert status(engine, DEC) == (80, 0, 10, 70)
    assert status(engine, FEB) == (80, 0, 0, 80)  # no row yet: the new cap
    with transaction(engine) as session:
        assert get_contract(session).monthly_units == 80
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions == ["contract.set", "contract.set"]


def test_r19_contract_change_below_what_is_taken_is_refused(engine):
    contract(engine, units=50)
    reserve(engine, DEC, 30)
    with transaction(engine) as session:
        quota.commit_units(session, DEC, 10)
    with pytest.raises(QuotaError, match="2026-12 already has 30 units used or reserved"):
        contract(engine, units=29)
    assert status(engine, DEC) == (50, 10, 20, 20)
    with transaction(engine) as session:
        assert get_contract(session).monthly_units == 50  # the whole change rolled back
    contract(engine, units=30)
    assert status(engine, DEC) == (30, 10, 20, 0)


def test_r16_contract_period_cannot_drop_a_month_with_reservations(engine):
    contract(engine, units=50, start=NOV, months=4)
    reserve(engine, FEB, 5)
    with pytest.raises(QuotaError, match="leaves out 2027-02"):
        contract(engine, units=50, start=NOV, months=3)
    with transaction(engine) as session:
        quota.release(session, FEB, 5)
    contract(engine, units=50, start=NOV, months=3)
    assert status(engine, FEB) == (0, 0, 0, 0)


def test_r19_a_reservation_waiting_on_a_contract_change_sees_the_new_cap(engine):
    """A send confirmed while the monthly units are being lowered gets the new cap.

    The change holds its transaction open; the reservation, which has read the old
    contract by then on PostgreSQL, must wait and then be judged on the new terms.
    """
    contract(engine, units=50)
    changing = threading.Event()
    result: dict[str, object] = {}

    def lower_units() -> None:
        with transaction(engine) as session:
            set_contract(session, 10, NOV, 3, actor="test", now=IN_NOVEMBER)
            changing.set()
            time.sleep(0.5)  # the change is in flight: not committed yet

    def confirm_send() -> None:
        changing.wait(5)
        try:
            reserve(engine, DEC, 30)  # fits the old 50, not the new 10
            result["outcome"] = "reserved"
        except QuotaError as exc:
            result["outcome"] = exc

    threads = [threading.Thread(target=lower_units), threading.Thread(target=confirm_send)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(result["outcome"], QuotaError), result
    assert result["outcome"].remaining == 10
    assert status(engine, DEC) == (10, 0, 0, 10)
