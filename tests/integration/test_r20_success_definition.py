"""R20: one definition of a successful send, shared by the chart, `quota --history` and the
notebook (the notebook's own test compares its chart with reports.monthly_success)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from sms_core import clock, reports
from sms_core.demo.seed import seed_history
from sms_core.sending.quota import format_month
from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]
# 12:00 on 10 December 2026 in Japan.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def test_r20_quota_history_counts_successes_as_the_chart_does(engine, database_url):
    seeded = seed_history(engine, 600, campaigns=12, months=6, now=NOW)
    with clock.frozen(NOW):
        chart = reports.monthly_success(engine, 6)
    pairs = zip(chart["month"], chart["successful"], strict=True)
    expected = {format_month(m): int(n) for m, n in pairs}
    # The seeded history is single-part messages: its own count is the same number.
    assert expected == {
        format_month(m): seeded.successful_by_month.get(m, 0) for m in chart["month"]
    }
    assert sum(expected.values()) > 0
    done = warm_cli.run(
        ["quota", "--history", "6", "--json"],
        cwd=ROOT,
        env={**os.environ, "SMS_DATABASE_URL": database_url, "SMS_NOW": NOW.isoformat()},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    history = json.loads(done.stdout)["history"]
    assert {h["month"]: h["successful"] for h in history} == expected
