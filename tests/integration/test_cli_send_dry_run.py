"""`send --dry-run` goes through the one send use case and shows the month and shortfall
(issue 11, R18), as a real subprocess started at a set product time (SMS_NOW)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "roster_sample_cp932.csv"
BODY = "{{氏名}}様 明日10時から面接です。"


@pytest.fixture
def env(database_url, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "SMS_DATABASE_URL": database_url,
        "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
        "SMS_PROVIDER": "sandbox",
        "SMS_QUIET_HOURS": "21:00-08:00",
    }


def run(env, now: str, *args: str) -> subprocess.CompletedProcess:
    return warm_cli.run(args, cwd=ROOT, env={**env, "SMS_NOW": now}, timeout=120)


def dry_run(env, now: str, *extra: str) -> dict:
    done = run(env, now, "send", str(SAMPLE), "--body", BODY, "--dry-run", "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_r18_dry_run_shows_the_shortfall_of_the_month_it_goes_out_in(env):
    """R18: the dry run names the month and the shortfall; nothing is saved."""
    noon = "2026-11-30T12:00:00+09:00"
    set_up = run(
        env, noon, "contract", "set", "--units", "10", "--start", "2026-11", "--months", "3"
    )
    assert set_up.returncode == 0, set_up.stderr
    out = dry_run(env, noon)
    assert out["month"] == "2026-11" and out["units"] > 10
    assert out["shortfall"] == out["units"] - 10 and out["remaining_after"] == -out["shortfall"]
    assert out["blocked"] == "short"
    text = run(env, noon, "send", str(SAMPLE), "--body", BODY, "--dry-run")
    assert f"shortfall: {out['shortfall']:,} units short in 2026-11" in text.stdout
    assert "nothing was saved or sent" in text.stdout
    history = run(env, noon, "history", "--json")
    assert json.loads(history.stdout) == []


def test_r18_dry_run_deferred_past_midnight_counts_next_month(env):
    """R17/R18: at 23:59 on a month's last day, deferred out of quiet hours, the send goes
    out at 08:00 on the 1st: its units come from next month."""
    late = "2026-11-30T23:59:00+09:00"
    set_up = run(
        env, late, "contract", "set", "--units", "1000", "--start", "2026-11", "--months", "3"
    )
    assert set_up.returncode == 0, set_up.stderr
    out = dry_run(env, late, "--quiet", "defer")
    assert out["quiet_hours"] == "deferred" and out["starts_at"] == "2026-12-01 08:00"
    assert out["month"] == "2026-12" and out["shortfall"] == 0
    refused = dry_run(env, late)
    assert refused["blocked"] == "quiet_refused" and refused["month"] == "2026-11"
