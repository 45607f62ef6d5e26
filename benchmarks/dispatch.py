"""Dispatch throughput: worker processes against the Karaden imitation, on both backends.

    .venv/bin/python benchmarks/dispatch.py [--messages 20000] [--workers 2] [--backend both]
    .venv/bin/python benchmarks/dispatch.py --scale 1,2,4 [--messages 10000] [--latency 0.05]

``--latency SECONDS`` (default 0, any mode) makes the imitation answer every request that
much later, as a real provider does over the internet (0.05: a realistic round trip to a
Japanese SMS API). At 0 the imitation answers on loopback at once, and every party (the
workers, the imitation, PostgreSQL) competes for the same processors.

``--scale 1,2,4`` (issue 14) sends the same size of campaign on PostgreSQL with 1, then 2,
then 4 worker processes against one imitation (threaded: one thread per connection), and
prints messages per second of each and its ratio to one worker (target: the most workers
at least twice one worker). Beside it: the imitation's bare capacity, measured first with
as many plain request loops as the most workers keep requests in flight, at the same
latency (with latency, also what that many requests in flight can do at most). For each
run it also prints where the CPU went, read from /proc (Linux): CPU milliseconds per
message of the worker processes, the imitation, PostgreSQL (this database's backends,
and apart the server's own processes, which work for every database), the benchmark
itself (its progress polls and their backend) and the rest of the machine (other
programs), from the campaign's commit to its last message, and how busy all processors
were. When the run with the most workers had them busy 90% of the time or more, it says
plainly that the run is CPU-bound: on such a machine more workers cannot add up, since
they share the processors with the imitation and PostgreSQL; when other programs took
more than a tenth of the processors, it says so instead (the run competed with them: not
a quiet machine's figures).
Every run is checked as (b) is below (nothing sent twice, the ledger equals the units
accepted); exits 1 when a check fails or the target is missed.

For each backend, in the same run, against one imitation Karaden server in its own process
on loopback:

  (a) bare capacity: ``workers`` processes × ``concurrency`` threads, each thread with its
      own ``requests.Session``, posting the same send requests as the adapter (form fields,
      headers, a distinct tag each) in a loop — no database, no adapter; measured before
      and after (b), and the higher rate is the one compared with;
  (b) the product: a campaign of ``--messages`` messages confirmed as the dashboard does,
      sent by ``workers`` real ``python -m sms_core worker`` processes with the default batch
      and concurrency and every database write in place (claim, record, ledger). The clock
      runs from the confirmation's commit to the last message recorded as accepted;
  (c) the same with a rate cap (``SMS_WORKER_RATE_PER_SECOND``) set so that the workers
      together aim at ``--cap-share`` of the rate measured in (b), which is below (a); the
      achieved rate over the steady part of the run is compared with the cap.

With ``--shared-cap RATE`` it runs only (d), issue 12's provider-wide limit:
``--shared-workers`` (default 4) worker processes, each started with
``SMS_WORKER_PROVIDER_RATE_PER_SECOND=RATE`` (one limit kept in the database for all of
them, not a share each), send a campaign of ``RATE × --cap-seconds`` messages; their
combined steady rate must be within 5% of RATE (and never above it by more).

Prints messages/second of (a), (b) and (c), the ratio (b)/(a) (target ≥ 0.5) and the
deviation of (c) from its cap (target within 5%); checks that nothing was sent twice and
that the ledger equals the units accepted. Exits 1 when a target or a check is missed.
Delivery status polling is deferred past the run (``SMS_WORKER_STATUS_POLL_AFTER``), so
the figures are those of dispatch; ``--with-polling`` keeps the default 2 s instead.
PostgreSQL is a throwaway database on $SMS_TEST_POSTGRES_URL's server
(default postgresql://postgres@127.0.0.1:5432/test), dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpu_meter import CpuUsage  # noqa: E402
from dispatch_runs import (  # noqa: E402
    DEFAULT_CONCURRENCY,
    bare_rate,
    imitation,
    per_backend,
    prepare,
    worker_run,
)
from throwaway_db import database  # noqa: E402

TARGET_RATIO = 0.5
TARGET_CAP_DEVIATION = 0.05


def run_backend(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """(a), (b) and (c) on one database."""
    prepare(url, 4 * args.messages + 1000)  # room for every campaign of the run
    figures: dict[str, Any] = {}
    bare_requests = min(args.messages, args.bare_requests)
    delay = {"latency": args.latency}
    with imitation(args) as fake:
        # Before and after the workers: the machine's other load varies, and the ratio is
        # taken against the better of the two (the harder target).
        before = bare_rate(fake.url, args.workers, args.concurrency, bare_requests)
        full = worker_run(
            url, fake, args.messages, args.workers, tmp, key="full", poll=args.poll, **delay
        )
        fake.reset()
        after = bare_rate(fake.url, args.workers, args.concurrency, bare_requests)
        figures.update(bare=max(before, after), bare_before=before, bare_after=after)
        figures["workers"] = full["rate"]
        figures["workers_steady"] = full["steady"]
        cap = args.cap_share * min(full["steady"], figures["bare"])
        capped_messages = max(200, min(args.messages, int(cap * args.cap_seconds)))
        capped = worker_run(
            url,
            fake,
            capped_messages,
            args.workers,
            tmp,
            key="capped",
            poll=args.poll,
            rate=cap,
            **delay,
        )
        figures.update(cap=cap, capped=capped["steady"], capped_overall=capped["rate"])
    figures["checks"] = "; ".join(p for p in (full["problems"], capped["problems"]) if p) or "ok"
    figures["messages"] = args.messages
    figures["capped_messages"] = capped_messages
    return figures


def shared_cap_backend(url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """(d): ``--shared-workers`` processes under one provider-wide limit of ``--shared-cap``."""
    messages = max(200, int(args.shared_cap * args.cap_seconds))
    prepare(url, 2 * messages + 1000)
    with imitation(args) as fake:
        run = worker_run(
            url,
            fake,
            messages,
            args.shared_workers,
            tmp,
            key="shared",
            poll=args.poll,
            shared_rate=args.shared_cap,
            latency=args.latency,
        )
        arrived = provider_rate(fake.messages())
    return {
        "messages": messages,
        "steady": arrived,
        "recorded": run["steady"],
        "overall": run["rate"],
        "checks": run["problems"] or "ok",
    }


def provider_rate(stored: list[dict]) -> float:
    """Sends per second as the provider saw them arrive, over its whole seconds.

    The imitation stamps each message to the second; the first and last seconds (partly
    covered) are left out and the others averaged. Our own ``accepted_at`` is stamped per
    batch as it is recorded, which is too coarse for a 5% check of a short run.
    """
    per_second = Counter(m["created_at"] for m in stored)
    seconds = sorted(per_second)[1:-1]
    if not seconds:
        raise RuntimeError("the run was too short to measure: raise --cap-seconds")
    first, last = (datetime.fromisoformat(seconds[i]) for i in (0, -1))
    span = int((last - first).total_seconds()) + 1
    return sum(per_second[s] for s in seconds) / span


def shared_cap_main(args: argparse.Namespace) -> int:
    """Run (d) on the chosen backends; exit 1 when the combined rate misses the cap by >5%."""
    figures = per_backend(args, shared_cap_backend)
    print(
        f"dispatch, one provider-wide limit of {args.shared_cap:,.0f}/s shared by "
        f"{args.shared_workers} worker processes (Karaden imitation on loopback)"
    )
    print(
        f"{'backend':<11} {'messages':>9} {'steady/s':>9} {'recorded/s':>10} {'overall/s':>10} "
        f"{'dev':>7}  checks"
    )
    ok = True
    for name, f in figures.items():
        deviation = f["steady"] / args.shared_cap - 1
        ok &= abs(deviation) <= TARGET_CAP_DEVIATION and f["checks"] == "ok"
        print(
            f"{name:<11} {f['messages']:>9,} {f['steady']:>9,.1f} {f['recorded']:>10,.1f} "
            f"{f['overall']:>10,.1f} {deviation:>+7.1%}  {f['checks']}"
        )
    print(
        "steady/s: combined rate as the provider received it, over its whole seconds (target "
        f"within {TARGET_CAP_DEVIATION:.0%} of the limit); recorded/s: from our accepted_at "
        "without the first and last 10% (stamped per batch); overall/s: commit to last record"
    )
    return 0 if ok else 1


TARGET_SCALING = 2.0  # issue 14: 4 workers at least twice the rate of one
SATURATED = 0.9  # a busy share of all cores at or above this: the run is CPU-bound
OTHERS_NOTED = 0.1  # other programs' share of the processors above which the verdict says so
BARE_SECONDS = 10.0  # with latency, the bare loops' run is sized to last about this long
CPU_PARTIES = ("workers", "imitation", "postgres", "pg server", "benchmark")


def run_scaling(url: str, args: argparse.Namespace, tmp: Path) -> int:
    """Issue 14: the same campaign size sent by 1, 2, 4 … worker processes in turn, against
    one imitation Karaden server with spare capacity; messages per second of each, and
    where the CPU went."""
    counts = [int(n) for n in args.scale.split(",")]
    prepare(url, (len(counts) + 1) * args.messages + 1000)
    loops = max(counts) * args.concurrency
    bare_requests = args.bare_requests
    if args.latency:
        bare_requests = min(bare_requests, int(loops / args.latency * BARE_SECONDS))
    rows = []
    with imitation(args) as fake:
        # The provider's spare capacity: as many bare loops as the most workers have
        # requests in flight.
        bare = bare_rate(fake.url, max(counts), args.concurrency, bare_requests)
        fake.reset()
        for n in counts:
            result = worker_run(
                url,
                fake,
                args.messages,
                n,
                tmp,
                key=f"scale-{n}",
                poll=False,
                latency=args.latency,
            )
            fake.reset()
            rows.append((n, result))
    return print_scaling(args, bare, loops, rows)


def print_scaling(
    args: argparse.Namespace, bare: float, loops: int, rows: list[tuple[int, dict[str, Any]]]
) -> int:
    """The scaling table, the CPU each party spent per message, and the verdict."""
    one = rows[0][1]["steady"]
    ceiling = f"; {loops} in flight can do {loops / args.latency:,.0f}/s" if args.latency else ""
    print(
        f"dispatch scaling: {args.messages:,} messages per run, {args.concurrency} requests "
        f"in flight per worker, Karaden imitation on loopback answering after "
        f"{args.latency * 1000:.0f} ms (bare capacity with {loops} loops: {bare:,.0f}/s"
        f"{ceiling})"
    )
    parties = " ".join(f"{p:>9}" for p in (*CPU_PARTIES, "other"))
    print(
        f"{'workers':>7} {'msg/s':>8} {'steady/s':>9} {'× 1':>5}  | CPU ms/message: {parties} "
        f"| {'busy':>5}  checks"
    )
    ok = True
    for n, r in rows:
        ok &= not r["problems"]
        cpu: CpuUsage = r["cpu"]
        per_message = [cpu.seconds.get(p, 0.0) for p in CPU_PARTIES] + [cpu.other]
        ms = " ".join(f"{1000 * t / args.messages:>9.2f}" for t in per_message)
        print(
            f"{n:>7} {r['rate']:>8,.0f} {r['steady']:>9,.0f} {r['steady'] / one:>5.2f}  "
            f"| {'':15} {ms} | {cpu.busy_share:>5.0%}  {r['problems'] or 'ok'}"
        )
    print(
        "CPU ms/message: CPU time (user + system) from the campaign's commit to its last "
        "message, per message; postgres: this database's backends; pg server: the "
        "server's own processes (WAL writer, checkpointer: they work for every database on "
        "it); benchmark: this process and its progress polls; other: the rest of the "
        "machine's busy time (other programs); busy: share of all processors' time busy"
    )
    n, last = rows[-1]
    print(verdict(n, last["cpu"]))
    scaled = last["steady"] / one
    print(f"target: {n} workers ≥ {TARGET_SCALING}× one worker (steady): {scaled:.2f}×")
    return 0 if ok and scaled >= TARGET_SCALING else 1


def verdict(workers: int, cpu: CpuUsage) -> str:
    """Whether the run with the most workers was bound by the machine's processors, and
    how much of their time the run's own parties and other programs took."""
    with_n = f"with {workers} worker{'s' if workers > 1 else ''}"
    busy = f"the machine's {cpu.cpus} processors were busy {cpu.busy_share:.0%} of the run"
    others = cpu.other / cpu.capacity if cpu.capacity else 0.0
    shares = f"the run's own parties {cpu.busy_share - others:.0%}, other programs {others:.0%}"
    if cpu.busy_share < SATURATED:
        return f"not CPU-bound: {with_n} {busy} ({shares})"
    if others > OTHERS_NOTED:
        return (
            f"saturated, not by the run alone: {with_n} {busy} ({shares}); the run competed "
            "with other programs for the processors, so these are not a quiet machine's "
            "figures; run it on a quiet machine to tell whether it is CPU-bound by itself"
        )
    top = max(CPU_PARTIES, key=lambda p: cpu.seconds.get(p, 0.0))
    return (
        f"CPU-bound: {with_n} {busy} ({shares}); the workers, the imitation and PostgreSQL "
        f"share the processors ({top} took most), so more workers cannot add up on this "
        "machine"
    )


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="threads per bare process: the worker's default concurrency",
    )
    parser.add_argument("--bare-requests", type=int, default=20_000)
    parser.add_argument("--cap-share", type=float, default=0.5)
    parser.add_argument("--cap-seconds", type=float, default=10.0, help="length of the capped run")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--with-polling", dest="poll", action="store_true")
    parser.add_argument(
        "--shared-cap",
        type=float,
        default=None,
        help="run only (d): this provider-wide limit (sends/s) shared by --shared-workers",
    )
    parser.add_argument("--shared-workers", type=int, default=4)
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="the imitation answers every request this much later (a real provider's round "
        "trip, e.g. 0.05)",
    )
    parser.add_argument(
        "--scale",
        metavar="1,2,4",
        help="instead: on PostgreSQL, send with each of these numbers of workers in turn",
    )
    args = parser.parse_args()
    if args.shared_cap:
        return shared_cap_main(args)
    if args.scale:
        with tempfile.TemporaryDirectory() as tmp, database("postgresql") as url:
            return run_scaling(url, args, Path(tmp))

    figures = per_backend(args, run_backend)

    print(
        f"dispatch: {args.messages:,} messages, {args.workers} workers × {args.concurrency} "
        f"requests in flight, Karaden imitation on loopback"
        + (", status polling on" if args.poll else "")
    )
    print(
        f"{'backend':<11} {'bare/s':>14} {'workers/s':>10} {'steady/s':>9} {'ratio':>6}  "
        f"{'cap/s':>6} {'capped/s':>9} {'dev':>7}  checks"
    )
    ok = True
    for name, f in figures.items():
        ratio = f["workers"] / f["bare"]
        deviation = f["capped"] / f["cap"] - 1
        met = ratio >= TARGET_RATIO and abs(deviation) <= TARGET_CAP_DEVIATION
        ok &= met and f["checks"] == "ok"
        bare = f"{f['bare_before']:,.0f}/{f['bare_after']:,.0f}"
        print(
            f"{name:<11} {bare:>14} {f['workers']:>10,.0f} {f['workers_steady']:>9,.0f} "
            f"{ratio:>6.2f}  {f['cap']:>6,.0f} {f['capped']:>9,.1f} {deviation:>+7.1%}  "
            f"{f['checks']}"
        )
    print(
        "bare/s: before/after the workers; ratio = workers/s ÷ the higher bare/s (target ≥ "
        f"{TARGET_RATIO}); workers/s from the campaign's commit to its last message recorded, "
        "steady/s without the first and last 10%; capped/s: steady rate under the cap "
        f"(target within {TARGET_CAP_DEVIATION:.0%}; "
        + ", ".join(f"{n} {f['capped_messages']:,} messages" for n, f in figures.items())
        + ")"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
