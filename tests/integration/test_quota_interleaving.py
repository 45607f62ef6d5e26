"""R18/R19 at the start of a month on PostgreSQL, one interleaving at a time.

The race test (test_quota_concurrency.py) throws many processes at the ledger and finds
an overshoot if there is one; it finds a wrongful refusal only by luck. These tests
force the two interleavings that used to refuse a send that fits, deterministically:
two engines, and a hook that runs the other transaction's step right after B's
conditional UPDATE has come back empty.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from sms_core.errors import QuotaError
from sms_core.sending import quota
from sms_core.sending.contract import set_contract
from sms_core.store.db import make_engine, transaction

MONTH = date(2026, 12, 1)
CAP = 100


def _after_first_empty_update(engine, step):
    """Run ``step()`` once, right after the first quota UPDATE on ``engine`` matched nothing."""
    done = []

    @event.listens_for(engine, "after_cursor_execute")
    def hook(conn, cursor, statement, parameters, context, executemany):
        if done or not statement.lstrip().upper().startswith("UPDATE QUOTA_MONTH"):
            return
        if cursor.rowcount == 0:
            done.append(True)
            step()

    return done


@pytest.fixture
def engines(postgres_database_url):
    a, b = make_engine(postgres_database_url), make_engine(postgres_database_url)
    with transaction(a) as session:
        set_contract(session, CAP, date(2026, 11, 1), 3, actor="test")
    yield a, b
    a.dispose()
    b.dispose()


def test_r19_month_row_created_by_an_uncommitted_send_does_not_refuse_a_send_that_fits(engines):
    """A reserves uncommitted; B's UPDATE finds no row; A commits; B must still succeed."""
    a, b = engines
    session_a = transaction(a).__enter__()
    quota.reserve(session_a, MONTH, 30)  # creates December's row, not committed yet

    def commit_a():
        session_a.commit()
        session_a.close()

    done = _after_first_empty_update(b, commit_a)
    with transaction(b) as session_b:
        status = quota.reserve(session_b, MONTH, 30)
    assert done, "the interleaving did not happen: B's UPDATE found A's row"
    assert (status.cap, status.reserved, status.remaining) == (CAP, 60, 40)
    with transaction(a) as session:
        assert quota.remaining(session, MONTH).reserved == 60


def test_r18_refusal_never_shows_a_shortfall_of_zero_or_less(engines):
    """Units freed between B's failed UPDATE and its read of the ledger: B gets them."""
    a, b = engines
    with transaction(a) as session:
        quota.reserve(session, MONTH, 80)

    def release_a():
        with transaction(a) as session:
            quota.release(session, MONTH, 80)

    done = _after_first_empty_update(b, release_a)
    try:
        with transaction(b) as session_b:
            status = quota.reserve(session_b, MONTH, 30)
    except QuotaError as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"refused although 100 units remained: {exc}")
    assert done, "the interleaving did not happen"
    assert status.reserved == 30 and status.remaining == 70


def test_r18_a_real_refusal_shows_a_positive_shortfall(engines):
    a, _ = engines
    with transaction(a) as session:
        quota.reserve(session, MONTH, 80)
    with pytest.raises(QuotaError) as caught, transaction(a) as session:
        quota.reserve(session, MONTH, 30)
    assert "10 short" in str(caught.value)
    assert caught.value.remaining == 20
