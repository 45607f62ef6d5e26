"""R19: the quota is never overshot, whatever happens at once — with real processes.

8 processes (each its own, with its own interpreter state, engine and connections: see
race_processes) wait at
a barrier and are released together; each then tries 20 reservations of 1-3 units
against a month whose cap is 50, i.e. about 320 units of demand for 50. That is
repeated for several rounds on SQLite and on PostgreSQL.

Beside it runs a control: the same race against a careless check-then-update ledger
without the CHECK constraint. It must overshoot at least once, which shows that the
race is real and that the first test would see the bug if the product had it.
"""

from __future__ import annotations

import random

import quota_race
from sqlalchemy import text

from sms_core.sending import quota
from sms_core.sending.contract import set_contract
from sms_core.store.db import make_engine, transaction
from tests.integration.race_processes import racing_context

WORKERS = 8
ATTEMPTS = 20
CAP = 50
ROUNDS = 8


def race(url: str, kind: str, rounds: int) -> list[int]:
    """Run ``rounds`` rounds of WORKERS racing processes; the units granted per round."""
    ctx = racing_context("quota_race")
    barrier = ctx.Barrier(WORKERS + 1)
    results = ctx.Queue()
    seed = random.randrange(1 << 30)
    processes = [
        ctx.Process(
            target=quota_race.run_worker,
            args=(url, kind, rounds, ATTEMPTS, seed + i, barrier, results),
            daemon=True,
        )
        for i in range(WORKERS)
    ]
    for p in processes:
        p.start()
    granted_per_round = []
    try:
        for round_no in range(rounds):
            # Releases all processes at the same moment.
            barrier.wait(timeout=quota_race.BARRIER_TIMEOUT_S)
            total = 0
            for _ in range(WORKERS):
                status, got_round, value = results.get(timeout=quota_race.BARRIER_TIMEOUT_S)
                assert status == "ok", f"a racing process failed:\n{value}"
                assert got_round == round_no
                total += value
            granted_per_round.append(total)
    finally:
        for p in processes:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    assert all(p.exitcode == 0 for p in processes)
    return granted_per_round


def test_r19_concurrent_reservations_never_overshoot_the_cap(database_url):
    engine = make_engine(database_url)
    try:
        with transaction(engine) as session:
            set_contract(session, CAP, quota_race.FIRST_MONTH, max(ROUNDS, 3), actor="test")
        granted = race(database_url, "safe", ROUNDS)
        for round_no, units in enumerate(granted):
            with transaction(engine) as session:
                cap, used, reserved, _ = quota.remaining(session, quota_race.round_month(round_no))
            assert cap == CAP
            assert units <= CAP, f"round {round_no}: {units} units granted against a cap of {CAP}"
            assert used + reserved == units, f"round {round_no}: ledger disagrees with grants"
            # 320 units of demand for 50: the month fills up (at most 2 units can be left,
            # when every process's last tries wanted 3).
            assert units >= CAP - 2
    finally:
        engine.dispose()


def test_r19_control_naive_check_then_update_overshoots(database_url):
    engine = make_engine(database_url)
    rounds = ROUNDS
    try:
        quota_race.create_naive_table(engine, rounds, CAP)
        granted = race(database_url, "naive", rounds)
        with engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT round_no, reserved FROM {quota_race.NAIVE_TABLE} ORDER BY round_no")
            ).all()
            conn.execute(text(f"DROP TABLE {quota_race.NAIVE_TABLE}"))
            conn.commit()
    finally:
        engine.dispose()
    assert [reserved for _, reserved in rows] == granted
    overshoots = [units - CAP for units in granted if units > CAP]
    print(f"control: overshot the cap in {len(overshoots)} of {rounds} rounds by {overshoots}")
    assert overshoots, "the naive ledger never overshot: the race test cannot see the bug"
