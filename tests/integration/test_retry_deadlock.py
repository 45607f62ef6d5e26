"""A transaction PostgreSQL aborts for a deadlock is run again (store.db.run_retrying).

Two workers' claims and records both move the per-state counts, in no common order, so
PostgreSQL may abort one of them for a deadlock; the worker runs that transaction again
instead of failing its cycle. Here a deadlock is made on purpose: two transactions lock
two rows in opposite orders, each holding its first row until the other holds its own.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from sms_core.store.db import is_retryable, make_engine, run_retrying, transaction


@pytest.fixture
def pg(postgres_database_url):
    engine = make_engine(postgres_database_url)
    with transaction(engine) as s:
        s.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int PRIMARY KEY, n int)"))
        s.execute(text("DELETE FROM lock_probe"))
        s.execute(text("INSERT INTO lock_probe VALUES (1, 0), (2, 0)"))
    yield engine
    with transaction(engine) as s:
        s.execute(text("DROP TABLE lock_probe"))
    engine.dispose()


def crossed(work_of) -> tuple[list, list[BaseException]]:
    """Run ``work_of(first, second, attempt)`` for (1, 2) and (2, 1) in two threads."""
    both_hold = threading.Barrier(2, timeout=30)
    attempts: list = []
    errors: list[BaseException] = []

    def one(first: int, second: int) -> None:
        try:
            work_of(first, second, both_hold, attempts)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=pair) for pair in ((1, 2), (2, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return attempts, errors


def bump(s, first, second, both_hold, attempts) -> None:
    """Lock ``first``, wait (first attempt only) until the other side holds its row, then
    lock ``second``."""
    attempts.append(first)
    s.execute(text("UPDATE lock_probe SET n = n + 1 WHERE id = :i"), {"i": first})
    if attempts.count(first) == 1:
        both_hold.wait()
    s.execute(text("UPDATE lock_probe SET n = n + 1 WHERE id = :i"), {"i": second})


def totals(engine) -> list[int]:
    with transaction(engine) as s:
        return list(s.execute(text("SELECT n FROM lock_probe ORDER BY id")).scalars())


def test_a_plain_transaction_loses_to_the_deadlock(pg):
    """The control: without running it again, one side fails (and is retryable)."""

    def plain(first, second, both_hold, attempts):
        with transaction(pg) as s:
            bump(s, first, second, both_hold, attempts)

    _, errors = crossed(plain)
    assert len(errors) == 1 and is_retryable(errors[0])
    assert totals(pg) == [1, 1]  # only the winner's two updates


def test_the_aborted_side_runs_again_and_both_count(pg):
    def retrying(first, second, both_hold, attempts):
        run_retrying(pg, lambda s: bump(s, first, second, both_hold, attempts))

    attempts, errors = crossed(retrying)
    assert errors == []
    assert sorted(attempts) in ([1, 1, 2], [1, 2, 2])  # one side ran twice
    assert totals(pg) == [2, 2]  # each side's two updates, once


def test_other_errors_are_not_run_again(pg):
    calls = []

    def broken(s):
        calls.append(1)
        s.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        run_retrying(pg, broken)
    assert calls == [1]
