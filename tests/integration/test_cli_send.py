"""`python -m sms_core send / worker / history / cancel` as real subprocesses (issue 7)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sms_core.clock import now_utc
from sms_core.rules.schedule import JST
from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "roster_sample_cp932.csv"
BODY = "{{氏名}}様 明日10時から面接です。{{説明会URL}}"


@pytest.fixture
def env(database_url, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "SMS_DATABASE_URL": database_url,
        "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
        "SMS_SANDBOX_DELIVERY_DELAY": "0",
        "SMS_PROVIDER": "sandbox",
        "SMS_QUIET_HOURS": "00:00-00:00",
        "SMS_WORKER_STATUS_POLL_AFTER": "0",
        "SMS_WORKER_SETTLE_DELAY": "0",
        "SMS_WORKER_IDLE_SLEEP": "0.05",
    }


def run(env, *args: str) -> subprocess.CompletedProcess:
    return warm_cli.run(args, cwd=ROOT, env=env, timeout=120)


def ok(env, *args: str):
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def now_of(env) -> datetime:
    """The time the subprocesses start from: their SMS_NOW if pinned, else the product clock
    (which, unset, is the one the subprocesses read too)."""
    pinned = env.get("SMS_NOW")
    return (datetime.fromisoformat(pinned) if pinned else now_utc()).astimezone(JST)


def contract(env, units: int = 1000) -> None:
    ok(
        env,
        "contract",
        "set",
        "--units",
        str(units),
        "--start",
        now_of(env).strftime("%Y-%m"),
        "--months",
        "3",
    )


def test_send_then_worker_delivers_and_history_shows_it(env, tmp_path):
    contract(env)
    dry = ok(env, "send", str(SAMPLE), "--body", BODY, "--dry-run", "--json")
    assert dry["dry_run"] and dry["units"] > 0
    assert ok(env, "history", "--json") == []  # a dry run saves nothing
    sent = ok(env, "send", str(SAMPLE), "--body", BODY, "--key", "form-1", "--json")
    assert sent["created"] and sent["units"] == dry["units"]
    again = ok(env, "send", str(SAMPLE), "--body", BODY, "--key", "form-1", "--json")
    assert again["campaign"] == sent["campaign"] and not again["created"]

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = warm_cli.start(["worker"], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            history = ok(env, "history", "--json")
            # Finished means nothing left to send; receipts (polled) may still be coming.
            if history[0]["state"] == "finished" and "accepted" not in history[0]["messages"]:
                break
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, log.read_text(errors="replace")
    assert history[0]["messages"] == {"delivered": sent["messages"]}
    messages = ok(env, "history", "--campaign", str(sent["campaign"]), "--json")
    assert all(m["phone"].startswith("*******") for m in messages)  # masked but the last 4
    quota = ok(env, "quota", "--json")
    assert quota["used"] == sent["units"] and quota["reserved"] == 0


def test_r18_over_quota_is_refused_with_the_shortfall_and_exit_2(env):
    contract(env, units=10)
    done = run(env, "send", str(SAMPLE), "--body", BODY)
    assert done.returncode == 2
    assert "short" in done.stderr and "Nothing was sent" in done.stderr
    assert ok(env, "history", "--json") == []


def test_send_from_a_template_records_it_for_the_reports(env):
    """Issue 5: a campaign sent with --template remembers that template's name."""
    contract(env)
    ok(env, "templates", "save", "面接リマインド", "--body", BODY)
    done = run(env, "send", str(SAMPLE), "--template", "面接リマインド", "--body", "x")
    assert done.returncode == 2 and "not both" in done.stderr
    sent = ok(env, "send", str(SAMPLE), "--template", "面接リマインド", "--json")
    by_hand = ok(env, "send", str(SAMPLE), "--body", BODY, "--json")
    history = {c["campaign"]: c["template"] for c in ok(env, "history", "--json")}
    assert history == {sent["campaign"]: "面接リマインド", by_hand["campaign"]: ""}


def test_r16_without_a_contract_nothing_is_sent(env):
    done = run(env, "send", str(SAMPLE), "--body", BODY)
    assert done.returncode == 2 and "contract" in done.stderr


def test_r13_scheduled_send_can_be_cancelled_and_releases_its_units(env):
    """R13/R17: "tomorrow 10:00" from 23:59 on a month's last day is next month: its units
    are reserved in the month the send goes out in, and cancelling releases them there."""
    env = {**env, "SMS_NOW": "2026-11-30T23:59:00+09:00"}
    contract(env)
    at = (now_of(env) + timedelta(days=1)).replace(hour=10, minute=0)
    month = at.strftime("%Y-%m")
    assert month == "2026-12"
    sent = ok(
        env, "send", str(SAMPLE), "--body", BODY, "--at", at.strftime("%Y-%m-%d %H:%M"), "--json"
    )
    assert sent["state"] == "scheduled"
    assert ok(env, "quota", "--month", month, "--json")["reserved"] == sent["units"]
    assert ok(env, "quota", "--json")["reserved"] == 0  # this month (November): untouched
    ok(env, "worker", "--once")
    assert ok(env, "history", "--json")[0]["state"] == "scheduled"
    assert ok(env, "cancel", str(sent["campaign"]), "--json")["state"] == "cancelled"
    assert ok(env, "quota", "--month", month, "--json")["reserved"] == 0
    done = run(env, "cancel", str(sent["campaign"]))
    assert done.returncode == 2 and "cannot be cancelled" in done.stderr


def test_quiet_hours_refuse_or_defer(env):
    contract(env)
    env = {**env, "SMS_QUIET_HOURS": "21:00-08:00"}
    night = (now_of(env) + timedelta(days=1)).replace(hour=23, minute=0, second=0, microsecond=0)
    at = night.strftime("%Y-%m-%d %H:%M")
    done = run(env, "send", str(SAMPLE), "--body", BODY, "--at", at)
    assert done.returncode == 2 and "quiet hours" in done.stderr
    deferred = ok(
        env, "send", str(SAMPLE), "--body", BODY, "--at", at, "--quiet", "defer", "--json"
    )
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0)
    assert datetime.fromisoformat(deferred["scheduled_at"]) == morning


def test_users_erase_and_retention_from_the_command_line(env):
    """Issue 4: users add prints a one-time password that signs in; erase masks a number's
    messages and keeps the month's counts; retention runs on demand."""
    added = ok(env, "users", "add", "suzuki", "--role", "operator", "--json")
    assert added["role"] == "operator" and len(added["one_time_password"]) >= 16
    ok(env, "users", "add", "sato@example.co.jp", "--role", "analyst", "--oidc")
    listed = {u["name"]: (u["role"], u["oidc"]) for u in ok(env, "users", "list", "--json")}
    assert listed == {"suzuki": ("operator", False), "sato@example.co.jp": ("analyst", True)}
    done = run(env, "users", "add", "suzuki", "--role", "admin")
    assert done.returncode == 2 and "already exists" in done.stderr
    ok(env, "users", "disable", "suzuki")

    contract(env)
    sent = ok(env, "send", str(SAMPLE), "--body", BODY, "--json")
    ok(env, "worker", "--once")
    used = ok(env, "quota", "--json")["used"]
    first = ok(env, "history", "--campaign", str(sent["campaign"]), "--json")[0]
    assert first["row"] == 2 and first["phone"].endswith("6451")  # 090-9037-6451
    erased = ok(env, "erase", "--phone", "090-9037-6451", "--json")
    assert erased == {"phone_tail": "6451", "messages": 1, "kept_on_optout_list": False}
    assert ok(env, "quota", "--json")["used"] == used  # counts stay
    again = ok(env, "history", "--campaign", str(sent["campaign"]), "--json")[0]
    assert again["state"] == first["state"] and again["units"] == first["units"]
    assert ok(env, "retention", "--json") == {"masked": 0, "months": 13}


def test_send_until_records_the_deadline_and_settings_set_the_frequency_cap(env):
    """Issue 12: ``send --until "YYYY-MM-DD HH:MM"`` (Japan time) is the send's deadline
    (送信期限), refused unless after the start; ``settings set frequency_cap N``."""
    from sms_core.store.db import make_engine, transaction
    from sms_core.store.models import Campaign

    env = {**env, "SMS_NOW": "2026-11-30T09:00:00+09:00"}
    ok(env, "contract", "set", "--units", "1000", "--start", "2026-11", "--months", "3")
    late = run(env, "send", str(SAMPLE), "--body", BODY, "--until", "2026-11-30 08:59")
    assert late.returncode == 2 and "deadline" in late.stderr
    sent = ok(env, "send", str(SAMPLE), "--body", BODY, "--until", "2026-11-30 13:00", "--json")
    engine = make_engine(env["SMS_DATABASE_URL"])
    try:
        with transaction(engine) as s:
            deadline = s.get(Campaign, sent["campaign"]).deadline_at
    finally:
        engine.dispose()
    assert deadline.astimezone(JST).strftime("%Y-%m-%d %H:%M") == "2026-11-30 13:00"
    assert run(env, "settings", "set", "frequency_cap", "0").returncode == 2
    ok(env, "settings", "set", "frequency_cap", "5")
    shown = ok(env, "settings", "show", "--json")
    assert any("frequency_cap" in str(item) and "5" in str(item) for item in shown) or (
        "frequency_cap" in str(shown) and "'5'" in str(shown)
    )
