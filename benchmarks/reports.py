"""Each report's query time on a million messages, beside a bare COUNT(*) (issue 5).

    .venv/bin/python benchmarks/reports.py [--messages 1000000] [--backend both] [--repeat 5]

For each backend, in the same run: seed the history (sms_core.demo.seed: 200 campaigns over 12
Japan-time months), then time a bare ``SELECT COUNT(*) FROM message`` and every report
function as the dashboard calls it (engine in, DataFrame out: SQL, transfer and pandas),
each the median of ``--repeat`` runs after one warm-up run. Prints milliseconds and the
ratio to COUNT(*). SQLite is a file in a temporary folder; PostgreSQL a throwaway database
on $SMS_TEST_POSTGRES_URL's server (default postgresql://postgres@127.0.0.1:5432/test),
dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from throwaway_db import median_ms, seeded_history  # noqa: E402

from sms_core import reports  # noqa: E402

# (label, call): what the Overview, History and Settings pages and the notebook run.
REPORTS: list[tuple[str, Callable]] = [
    ("monthly_success (R20, 12 months)", lambda e: reports.monthly_success(e)),
    ("monthly_success kind=新卒", lambda e: reports.monthly_success(e, kind="新卒")),
    ("monthly_success campaign", lambda e: reports.monthly_success(e, campaign_id=100)),
    ("daily_sends (30 days)", lambda e: reports.daily_sends(e)),
    ("daily_sends campaign", lambda e: reports.daily_sends(e, campaign_id=200)),
    ("funnel (all time)", lambda e: reports.funnel(e)),
    ("funnel campaign", lambda e: reports.funnel(e, campaign_id=100)),
    ("failure_reasons (top 10)", lambda e: reports.failure_reasons(e)),
    ("campaign_summary (page 1 of 50)", lambda e: reports.campaign_summary(e)),
    ("campaign_summary (last page)", lambda e: reports.campaign_summary(e, offset=150)),
    ("campaign_count", lambda e: reports.campaign_count(e)),
    ("campaign_messages (page of 100)", lambda e: reports.campaign_messages(e, 100, offset=2000)),
    ("units_per_campaign (20)", lambda e: reports.units_per_campaign(e)),
    ("quota_by_month (12 months)", lambda e: reports.quota_by_month(e)),
    ("clicks_per_campaign", lambda e: reports.clicks_per_campaign(e)),
    ("template_summary (all time)", lambda e: reports.template_summary(e)),
    ("funnel template", lambda e: reports.funnel(e, template="一次面接のご案内")),
    ("campaign_templates", lambda e: reports.campaign_templates(e)),
]


def run(backend: str, messages: int, repeat: int) -> None:
    """Seed ``backend`` and print every report's time beside COUNT(*)."""
    with seeded_history(backend, messages, "sms_bench_reports") as (_url, engine):

        def count() -> int:
            with engine.connect() as conn:
                return conn.exec_driver_sql("SELECT COUNT(*) FROM message").scalar()

        assert count() == messages
        baseline = median_ms(count, repeat)
        print(f"  {'report':36s} {'ms':>9s} {'× COUNT(*)':>11s}")
        print(f"  {'SELECT COUNT(*) FROM message':36s} {baseline:9.1f} {1:11.1f}")
        for name, call in REPORTS:
            ms = median_ms(lambda call=call: call(engine), repeat)
            print(f"  {name:36s} {ms:9.1f} {ms / baseline:11.1f}")


def main() -> None:
    """Parse the arguments and run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        run(backend, args.messages, args.repeat)


if __name__ == "__main__":
    main()
