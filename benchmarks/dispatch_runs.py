"""The runs benchmarks/dispatch.py is made of: bare request loops against the imitation,
and a campaign sent by worker processes, with the CPU time of every party measured.

Kept apart from the benchmark's modes and tables (benchmarks/dispatch.py), which use them.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from cpu_meter import CpuMeter, postgres_classifier
from sqlalchemy import select
from sqlalchemy.engine import make_url
from throwaway_db import database

from sms_core.store.db import make_engine, transaction, upgrade
from sms_core.store.models import Message
from tests.integration.dispatch_helpers import (
    KARADEN_TENANT,
    KARADEN_TOKEN,
    WorkerProcess,
    check_against_provider,
    check_ledger,
    confirm_bulk,
    count_open,
    karaden_env,
    karaden_server_args,
    make_contract,
    outcome,
    worker_env,
)
from tests.integration.fakes.process import ServerProcess

DEFAULT_CONCURRENCY = 4  # DispatchConfig's default: what each worker process runs


# --- (a) the bare requests loop ------------------------------------------------------------


def _bare_process(base_url: str, threads: int, per_thread: int, barrier, results) -> None:
    import requests

    url = f"{base_url}/api/{KARADEN_TENANT}/messages"
    headers = {
        "Authorization": f"Bearer {KARADEN_TOKEN}",
        "Karaden-Version": "2023-01-01",
        "Accept": "application/json",
    }
    prefix = uuid.uuid4().hex[:8]

    def loop(thread: int, count: int, tag: str) -> None:
        session = requests.Session()
        session.trust_env = False  # as the adapter's transport
        session.headers.update(headers)
        for i in range(count):
            data = [
                ("service_id", "1"),
                ("to", f"090{(thread * 1_000_000 + i) % 100_000_000:08d}"),
                ("body", "山田様 会社説明会のご案内です。詳細は追ってお送りします。"),
                ("tags[]", f"{tag}-{thread}-{i}"),
            ]
            resp = session.post(url, data=data, timeout=(5, 30))
            resp.raise_for_status()
            resp.json()
        session.close()

    def run(count: int, tag: str) -> None:
        workers = [threading.Thread(target=loop, args=(t, count, tag)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    run(20, f"warm-{prefix}")  # imports, connections
    barrier.wait()
    started = time.perf_counter()
    run(per_thread, f"bare-{prefix}")
    results.put((started, time.perf_counter(), threads * per_thread))


def bare_rate(base_url: str, processes: int, threads: int, requests_total: int) -> float:
    """Sends per second of ``processes`` × ``threads`` plain requests loops."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    per_thread = max(1, requests_total // (processes * threads))
    procs = [
        ctx.Process(target=_bare_process, args=(base_url, threads, per_thread, barrier, results))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    spans = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    first = min(s for s, _, _ in spans)
    last = max(e for _, e, _ in spans)
    return sum(n for _, _, n in spans) / (last - first)


# --- (b), (c) the workers ------------------------------------------------------------------


def accepted_times(url: str, campaign_id: int) -> list[datetime]:
    """When each message of the campaign was recorded as taken by the provider, in order."""
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            return sorted(
                s.scalars(
                    select(Message.accepted_at).where(
                        Message.campaign_id == campaign_id, Message.accepted_at.is_not(None)
                    )
                )
            )
    finally:
        engine.dispose()


def worker_run(
    url: str,
    fake: ServerProcess,
    messages: int,
    workers: int,
    tmp: Path,
    *,
    key: str,
    poll: bool,
    rate: float | None = None,
    shared_rate: float | None = None,
    latency: float = 0.0,
) -> dict[str, Any]:
    """Send a campaign of ``messages`` through ``workers`` worker processes; its figures,
    with the CPU time (``cpu``, a :class:`CpuUsage`) of each party from commit to done."""
    settings: dict[str, object] = {"idle_sleep": 0.02}
    if not poll:
        settings["status_poll_after"] = 3600
    if rate:
        settings["rate_per_second"] = rate / workers
    if shared_rate:
        settings["provider_rate_per_second"] = shared_rate
        rate = shared_rate
    env = worker_env(url, karaden_env(fake.url), **settings)
    fake.reset()  # each run is checked on its own: no number twice within the campaign
    engines: dict = {}
    with contextlib.ExitStack() as stack:

        @stack.callback
        def dispose() -> None:
            for engine in engines.values():
                engine.dispose()

        procs = [stack.enter_context(WorkerProcess(env, tmp)) for _ in range(workers)]
        for p in procs:
            p.wait_ready()
        meter = run_meter(url, engines, {p.pid for p in procs}, fake)
        # The workers are up and idle; the clock starts when the campaign is committed.
        info = confirm_bulk(url, messages, provider="karaden", key=key, contract=-1)
        committed = time.time()
        meter.start()
        # Generous: a stalled run (seen with the first claim query) must end, not hang.
        in_flight = workers * DEFAULT_CONCURRENCY
        timeout = max(
            120.0,
            messages / 50,
            3 * messages / rate if rate else 0.0,
            3 * messages * latency / in_flight,
        )
        deadline = time.monotonic() + timeout
        next_sample = 0.0
        while (open_ := count_open(url, engines)[0]) and time.monotonic() < deadline:
            time.sleep(0.1)  # ends the CPU window; the rates come from accepted_at
            if time.monotonic() >= next_sample:  # processes ending early keep their share
                meter.sample()
                next_sample = time.monotonic() + 0.5
        cpu = meter.stop()
        if open_:
            raise RuntimeError(f"{open_:,} messages still open after {timeout:.0f} s")
        for p in procs:
            if p.terminate() != 0:
                raise RuntimeError(f"a worker did not exit cleanly:\n{p.log()}")
    stats = fake.stats()
    problems = []
    if stats["duplicates"] or stats["tag_duplicates"]:
        problems.append(f"{len(stats['duplicates'])} numbers got the same text twice")
    try:
        result = outcome(url, info.id)
        if result.open or result.states["accepted"] + result.states["delivered"] != messages:
            problems.append(f"messages not all accepted: {dict(result.states)}")
        check_against_provider(result, fake.messages(), "karaden")
        check_ledger(outcome(url))
    except AssertionError as exc:
        problems.append(str(exc))
    times = accepted_times(url, info.id)
    last = times[-1].timestamp()
    # Steady state: leave out the first and last 10%, where workers start and run dry.
    lo, hi = times[len(times) // 10], times[len(times) - 1 - len(times) // 10]
    steady = (len(times) - 1 - 2 * (len(times) // 10)) / max((hi - lo).total_seconds(), 1e-9)
    return {
        "rate": len(times) / (last - committed),
        "steady": steady,
        "problems": "; ".join(problems),
        "cpu": cpu,
    }


def run_meter(url: str, engines: dict, workers: set[int], fake: ServerProcess) -> CpuMeter:
    """A CPU meter of the run's parties: the worker processes, the imitation, PostgreSQL
    (this database's backends and the server's own processes) and the benchmark itself
    (this process and the backend of its progress polls, made here as ``engines[url]``).
    """
    engines[url] = poller = make_engine(url)
    ours = {os.getpid()}
    postgres = None
    if poller.dialect.name == "postgresql":
        with poller.connect() as conn:  # the one pooled connection count_open reuses
            ours.add(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        postgres = postgres_classifier(str(make_url(url).database))
    imitation = fake.proc.pid if fake.proc else -1

    def classify(pid: int, comm: str) -> str | None:
        if pid in workers:
            return "workers"
        if pid == imitation:
            return "imitation"
        if pid in ours:
            return "benchmark"
        if comm == "postgres" and postgres is not None:
            return postgres(pid)
        return None

    return CpuMeter(classify)


def imitation(args: argparse.Namespace) -> ServerProcess:
    """The Karaden imitation of a run, answering every request after ``--latency``."""
    extra = ("--delivery-delay", "0.5", "--latency", str(args.latency))
    return ServerProcess("karaden", *karaden_server_args(*extra))


def prepare(url: str, units: int) -> None:
    """Migrate the database at ``url`` and give it a contract of ``units`` a month."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    make_contract(url, units)


def per_backend(
    args: argparse.Namespace, run: Callable[[str, argparse.Namespace, Path], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``run(url, args, tmp)`` on a throwaway database of each backend ``--backend`` names."""
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgresql"):
            if args.backend in (backend, "both"):
                with database(backend) as url:
                    figures[backend] = run(url, args, Path(tmp))
    return figures
