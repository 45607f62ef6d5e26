"""Quota reservations per second with several processes, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/quota.py [--processes 4] [--seconds 3] [--backend both]

For each backend, in the same run and with the same number of processes released
together by a barrier:
  (a) the bare round trip: a raw driver connection looping ``SELECT 1`` (autocommit);
  (b) reservations: each one a whole transaction as the product runs it
      (``with transaction(engine): quota.reserve(session, month, 1)``: BEGIN [IMMEDIATE],
      read the contract, the conditional UPDATE … RETURNING, COMMIT), all on the same
      month's row, i.e. the hottest possible contention.
Prints both rates and their ratio. Target (issue 7): (b) ≥ 1,000 reservations/s on both.
PostgreSQL is a throwaway database on $SMS_TEST_POSTGRES_URL's server
(default postgresql://postgres@127.0.0.1:5432/test), dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from throwaway_db import postgres_database  # noqa: E402

from sms_core.sending import quota  # noqa: E402
from sms_core.sending.contract import set_contract  # noqa: E402
from sms_core.store.db import make_engine, transaction, upgrade  # noqa: E402

MONTH = date(2026, 12, 1)
TARGET_PER_S = 1000


def _bare_loop(url: str, stop_at: float) -> int:
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    else:
        import psycopg

        conn = psycopg.connect(url.replace("+psycopg", ""), autocommit=True)
    count = 0
    try:
        while time.perf_counter() < stop_at:
            conn.execute("SELECT 1").fetchone()
            count += 1
    finally:
        conn.close()
    return count


def _reserve_loop(url: str, stop_at: float) -> int:
    engine = make_engine(url)
    count = 0
    try:
        while time.perf_counter() < stop_at:
            with transaction(engine) as session:
                quota.reserve(session, MONTH, 1)
            count += 1
    finally:
        engine.dispose()
    return count


def _worker(kind: str, url: str, seconds: float, barrier, results) -> None:
    loop = _bare_loop if kind == "bare" else _reserve_loop
    # Warm up (imports, first connection) before the clock starts.
    warm = loop(url, time.perf_counter() + 0.2)
    barrier.wait()
    timed = loop(url, time.perf_counter() + seconds)
    results.put((timed, warm + timed))


def measure(kind: str, url: str, processes: int, seconds: float) -> tuple[int, int]:
    """Operations of ``processes`` processes running ``kind`` together: timed, and in all."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(kind, url, seconds, barrier, results))
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    counts = [results.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join()
    return sum(timed for timed, _ in counts), sum(done for _, done in counts)


def prepare(url: str) -> None:
    """Migrate and set a contract large enough never to refuse during the run."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(engine) as session:
            set_contract(session, 10_000_000, MONTH, 3, actor="benchmark")
    finally:
        engine.dispose()


def run_backend(name: str, url: str, processes: int, seconds: float) -> dict[str, float]:
    """Both measurements on one database."""
    prepare(url)
    bare, _ = measure("bare", url, processes, seconds)
    reserved, reserved_in_all = measure("reserve", url, processes, seconds)
    engine = make_engine(url)
    with transaction(engine) as session:
        ledger = quota.remaining(session, MONTH).reserved
    engine.dispose()
    return {
        "bare": bare / seconds,
        "reserve": reserved / seconds,
        "ledger_ok": ledger == reserved_in_all,
    }


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()

    figures = {}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            figures["sqlite"] = run_backend("sqlite", url, args.processes, args.seconds)
    if args.backend in ("postgresql", "both"):
        url, drop = postgres_database()
        try:
            figures["postgresql"] = run_backend("postgresql", url, args.processes, args.seconds)
        finally:
            drop()

    print(f"quota reservations, {args.processes} processes, {args.seconds:g} s each")
    print(f"{'backend':<11} {'SELECT 1/s':>12} {'reserve/s':>11} {'ratio':>7}  target")
    ok = True
    for name, f in figures.items():
        met = f["reserve"] >= TARGET_PER_S
        ok &= met and f["ledger_ok"]
        if not f["ledger_ok"]:
            print(f"{name}: the ledger disagrees with the reservations made")
        print(
            f"{name:<11} {f['bare']:>12,.0f} {f['reserve']:>11,.0f} "
            f"{f['reserve'] / f['bare']:>7.3f}  ≥ {TARGET_PER_S:,}/s {'met' if met else 'MISSED'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
