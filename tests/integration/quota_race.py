"""The processes of the R19 race tests (a helper module, not a test file).

Spawned processes import this module by name, so it must not import pytest or the
tests' fixtures. Every process runs the same rounds: wait at the barrier with all the
others, then try ``attempts`` reservations of 1-3 units as fast as it can, and report
the units it was granted.
"""

from __future__ import annotations

import random
import traceback
from datetime import date

from sqlalchemy import Engine, text

from sms_core.errors import QuotaError
from sms_core.sending import quota
from sms_core.store.db import make_engine, transaction

FIRST_MONTH = date(2026, 1, 1)
BARRIER_TIMEOUT_S = 120


def round_month(round_no: int) -> date:
    """Each round uses its own month of the contract, so no reset is needed between them."""
    return quota.add_months(FIRST_MONTH, round_no)


def safe_reserve(engine: Engine, round_no: int, units: int, rng: random.Random) -> bool:
    """The product's way: one conditional statement (and, half the time, the send accepted)."""
    month = round_month(round_no)
    try:
        with transaction(engine) as session:
            quota.reserve(session, month, units)
    except QuotaError:
        return False
    if rng.random() < 0.5:
        # Exercises the other column too: used + reserved must still add up.
        with transaction(engine) as session:
            quota.commit_units(session, month, units)
    return True


NAIVE_TABLE = "naive_quota"


def create_naive_table(engine: Engine, rounds: int, cap: int) -> None:
    """A ledger as a careless implementation would have it: no CHECK constraint."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {NAIVE_TABLE}"))
        conn.execute(
            text(
                f"CREATE TABLE {NAIVE_TABLE} (round_no INTEGER PRIMARY KEY, "
                "cap INTEGER NOT NULL, used INTEGER NOT NULL, reserved INTEGER NOT NULL)"
            )
        )
        for r in range(rounds):
            conn.execute(
                text(f"INSERT INTO {NAIVE_TABLE} VALUES (:r, :cap, 0, 0)"), {"r": r, "cap": cap}
            )


def naive_reserve(engine: Engine, round_no: int, units: int, rng: random.Random) -> bool:
    """The bug R19 forbids: read what remains, then add without re-checking.

    The read is its own transaction, as in code that asks "how much is left?" and then
    records the send; BEGIN IMMEDIATE on SQLite cannot protect two transactions.
    """
    with engine.begin() as conn:
        left = conn.execute(
            text(f"SELECT cap - used - reserved FROM {NAIVE_TABLE} WHERE round_no = :r"),
            {"r": round_no},
        ).scalar_one()
    if left < units:
        return False
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {NAIVE_TABLE} SET reserved = reserved + :n WHERE round_no = :r"),
            {"n": units, "r": round_no},
        )
    return True


def run_worker(url, kind, rounds, attempts, seed, barrier, results) -> None:
    """One racing process: ``rounds`` rounds of ``attempts`` reservations each."""
    reserve = safe_reserve if kind == "safe" else naive_reserve
    engine = make_engine(url)
    rng = random.Random(seed)
    try:
        for round_no in range(rounds):
            barrier.wait(timeout=BARRIER_TIMEOUT_S)
            granted = 0
            for _ in range(attempts):
                units = rng.randint(1, 3)
                if reserve(engine, round_no, units, rng):
                    granted += units
            results.put(("ok", round_no, granted))
    except Exception:
        results.put(("error", -1, traceback.format_exc()))
        # Wake the others and the test at once instead of letting them time out.
        barrier.abort()
    finally:
        engine.dispose()
