"""Short-link redirects under load, beside the same server answering a static 204 (issue 3).

    .venv/bin/python benchmarks/redirects.py [--requests 10000] [--concurrency 32]
                                             [--backend both] [--links 10000]

For each backend, in the same run: seed a campaign with ``--links`` short links, start
the link service (waitress, as ``python -m sms_core serve`` runs it) in its own process on
127.0.0.1, and drive ``--requests`` GETs of random codes through ``--concurrency``
keep-alive clients, each redirect recording its click; then the same waitress
configuration in its own process serving a WSGI app that answers every request with a
static 204 — the floor of HTTP on this machine. Prints p50/p99 latency and requests per
second of both, and their ratios, and checks that exactly one click was recorded per
request. SQLite is a file in a temporary folder; PostgreSQL a throwaway database on
$SMS_TEST_POSTGRES_URL's server, dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from throwaway_db import database  # noqa: E402

from sms_core.clock import now_utc  # noqa: E402
from sms_core.rules.plan import new_short_code  # noqa: E402
from sms_core.store.db import make_engine, upgrade  # noqa: E402


def static_app(environ, start_response):
    """The baseline: every request answered with an empty 204, nothing else done."""
    start_response("204 No Content", [("Content-Length", "0")])
    return [b""]


def serve_child(kind: str, port: int, database_url: str | None) -> None:
    """In a child process: serve ``static`` or ``links`` on ``port`` until killed."""
    import logging

    # Waitress warns of its queue depth under load; that is the point of the run.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    from sms_core.linkserver.app import LinkApp
    from sms_core.linkserver.receipts import ReceiptConfig
    from sms_core.linkserver.server import make_server

    links = None if kind == "static" else LinkApp(make_engine(database_url), ReceiptConfig({}))
    app = links or static_app
    server = make_server(app, host="127.0.0.1", port=port)
    print("LISTENING", flush=True)
    server.run()


@contextmanager
def server_process(kind: str, database_url: str | None) -> Iterator[str]:
    """A server process of ``kind``; yields its base URL, stops it afterwards."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    if database_url:
        args += ["--database-url", database_url]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if "LISTENING" not in line:
            raise RuntimeError(f"the {kind} server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=15)


def load(url_for, total: int, concurrency: int, expect: int) -> dict[str, float]:
    """Run ``total`` GETs over ``concurrency`` keep-alive sessions; latency and rate."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))
    errors: list[str] = []

    def client() -> None:
        session = requests.Session()
        mine: list[float] = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            started = time.perf_counter()
            answer = session.get(url_for(i), allow_redirects=False, timeout=30)
            mine.append(time.perf_counter() - started)
            if answer.status_code != expect:
                errors.append(f"{answer.status_code}")
        session.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[0]}")
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "rps": total / elapsed,
        "seconds": elapsed,
    }


def seed(url: str, links: int) -> list[str]:
    """A contract-free campaign with ``links`` short links; returns their codes."""
    from sqlalchemy import insert

    from sms_core.store.db import transaction
    from sms_core.store.models import Campaign, ShortLink

    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(engine) as s:
            campaign = Campaign(
                name="bench",
                body="{{url:https://example.jp/e}}",
                state="finished",
                quota_month=date.today().replace(day=1),
                sender_mode="shared",
                sender_number="0000",
                provider="sandbox",
                created_by="bench",
            )
            s.add(campaign)
            s.flush()
            codes = list({new_short_code() for _ in range(links)})
            created = now_utc()
            s.execute(
                insert(ShortLink),
                [
                    {
                        "code": code,
                        "target": f"https://example.jp/event?id={i}",
                        "campaign_id": campaign.id,
                        "recipient_row": i,
                        "created_at": created,
                        "expires_at": None,
                    }
                    for i, code in enumerate(codes)
                ],
            )
        return codes
    finally:
        engine.dispose()


def clicks(url: str) -> int:
    from sqlalchemy import func, select

    from sms_core.store.models import Click

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Click)))
    finally:
        engine.dispose()


def run(backend: str, total: int, concurrency: int, links: int) -> None:
    """Measure the static baseline and the redirects on ``backend``; print both."""
    with database(backend, "sms_bench_redirects") as url:
        codes = seed(url, links)
        rng = random.Random(7)
        picks = [rng.choice(codes) for _ in range(total)]
        with server_process("static", None) as base:
            load(lambda i: f"{base}/", min(total, 1000), concurrency, 204)  # warm-up
            static = load(lambda i: f"{base}/", total, concurrency, 204)
        with server_process("links", url) as base:
            load(lambda i: f"{base}/healthz", min(total, 1000), concurrency, 200)  # warm-up
            before = clicks(url)
            redirect = load(lambda i: f"{base}/s/{picks[i]}", total, concurrency, 302)
            recorded = clicks(url) - before
        assert recorded == total, f"{recorded} clicks recorded for {total} redirects"
    print(f"\n{backend}: {total:,} requests, concurrency {concurrency}, loopback")
    print(f"{'':32} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9}")
    for name, figures in (("static 204 (baseline)", static), ("redirect + click", redirect)):
        print(f"{name:32} {figures['p50_ms']:8.2f} {figures['p99_ms']:8.2f} {figures['rps']:9,.0f}")
    print(
        f"{'redirect / static':32} {redirect['p50_ms'] / static['p50_ms']:7.2f}x "
        f"{redirect['p99_ms'] / static['p99_ms']:7.2f}x {redirect['rps'] / static['rps']:8.2f}x"
    )
    print(f"clicks recorded: {recorded:,} (one per request)")


def main() -> None:
    """Parse arguments; run the benchmark, or be one of its server processes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--serve", choices=["static", "links"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve, args.port, args.database_url)
        return
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.requests, args.concurrency, args.links)


if __name__ == "__main__":
    main()
