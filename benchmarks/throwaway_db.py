"""Throwaway databases for a benchmark run (a SQLite file, or PostgreSQL on
$SMS_TEST_POSTGRES_URL's server), and the median timing the benchmarks share."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ADMIN_URL = os.environ.get("SMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_database(prefix: str = "sms_bench") -> tuple[str, Callable[[], None]]:
    """Create an empty database; returns its URL and a function that drops it."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop


@contextmanager
def database(backend: str, prefix: str = "sms_bench") -> Iterator[str]:
    """The URL of an empty database of ``backend`` (sqlite or postgresql), removed after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    url, drop = postgres_database(prefix)
    try:
        yield url
    finally:
        drop()


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``call`` in milliseconds, after one warm-up run."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


@contextmanager
def seeded_history(
    backend: str,
    messages: int,
    prefix: str,
    *,
    campaigns: int = 200,
    months: int = 12,
    url: str | None = None,
    keep: bool = False,
) -> Iterator[tuple[str, object]]:
    """A throwaway ``backend`` database holding ``messages`` seeded messages in
    ``campaigns`` campaigns over ``months`` months (its URL and a migrated engine, disposed
    afterwards); prints how long seeding took.

    ``url``: use that database as it is (seeded by an earlier run with ``keep``) instead
    of seeding one. ``keep``: leave the PostgreSQL database behind and print its URL, so
    that a later run can reuse ten million messages instead of seeding them again.
    """
    from sms_core.demo.seed import seed_history
    from sms_core.store.db import make_engine, upgrade

    if url is not None:
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield url, engine
        finally:
            engine.dispose()
        return
    if keep and backend == "postgresql":
        url, _drop = postgres_database(prefix)
        print(f"\n{backend}: kept database {url}")
        context = nullcontext(url)
    else:
        context = database(backend, prefix)
    with context as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            started = time.perf_counter()
            seed_history(engine, messages, campaigns=campaigns, months=months)
            seeded = time.perf_counter() - started
            print(
                f"\n{backend}: seeded {messages:,} messages in {campaigns:,} campaigns over "
                f"{months} months in {seeded:.1f} s",
                flush=True,
            )
            yield url, engine
        finally:
            engine.dispose()
