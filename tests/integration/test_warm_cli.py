"""The warm CLI starts of the integration tests (tests/integration/warm_cli.py) behave as
cold ``python -m sms_core`` processes do: the same output, exit codes, environment,
folder, signals, and a cold start where a fork cannot give what is asked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(migrated_sqlite_url):
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMS_")},
        "SMS_DATABASE_URL": migrated_sqlite_url,
        "SMS_NOW": "2026-11-30T23:59:00+09:00",
    }


def cold(args, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sms_core", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["quota", "--json"],  # SMS_NOW decides the month: 2026-11
        ["contract", "set", "--units", "0", "--start", "2026-11", "--months", "1"],  # exit 2
        ["no-such-command"],  # argparse: exit 2, usage on stderr
        ["--help"],
    ],
)
def test_warm_and_cold_starts_answer_alike(env, args):
    warm = warm_cli.run(args, env=env, timeout=120)
    assert isinstance(warm, subprocess.CompletedProcess)
    control = cold(args, env)
    assert (warm.returncode, warm.stdout, warm.stderr) == (
        control.returncode,
        control.stdout,
        control.stderr,
    )


def test_a_warm_start_follows_its_own_environment(env):
    """Each start reads the environment it was given, not the one before it."""
    first = json.loads(warm_cli.run(["quota", "--json"], env=env).stdout)
    later = {**env, "SMS_NOW": "2027-01-15T10:00:00+09:00", "SMS_LANG": "ja"}
    second = warm_cli.run(["quota", "--json"], env=later)
    assert (first["month"], json.loads(second.stdout)["month"]) == ("2026-11", "2027-01")
    refused = warm_cli.run(["contract", "show"], env={**later, "SMS_DATABASE_URL": "nope://"})
    assert refused.returncode != 0 and refused.stderr


def test_input_folder_and_stdout_file(env, tmp_path):
    out = tmp_path / "out.txt"
    with out.open("wb") as handle:
        proc = warm_cli.start(["quota", "--json"], env=env, cwd=ROOT, stdout=handle)
    assert proc.wait(60) == 0
    assert json.loads(out.read_text())["month"] == "2026-11"


def test_signals_reach_a_warm_worker(env, tmp_path):
    """SIGTERM reaches the worker's handler (exit 0); SIGKILL kills it (-9)."""
    env = {**env, "PYTHONUNBUFFERED": "1", "SMS_PROVIDER": "sandbox"}
    env["SMS_SANDBOX_PATH"] = str(tmp_path / "outbox.db")
    for sig, expected in ((signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)):
        log = tmp_path / f"worker-{sig}.log"
        with log.open("wb") as handle:
            proc = warm_cli.start(["worker"], env=env, stdout=handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "Ctrl-C stops it" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.02)
        assert proc.poll() is None
        proc.send_signal(sig)
        assert proc.wait(60) == expected, log.read_text()


@pytest.mark.parametrize(
    "change",
    [{"FAKETIME": "+1d"}, {"PYTHONIOENCODING": "utf-8"}, {"LC_ALL": "C"}],
)
def test_what_a_fork_cannot_give_starts_cold(env, change, monkeypatch):
    started = []
    real = subprocess.run

    def spy(*args, **kw):
        started.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(warm_cli.subprocess, "run", spy)
    done = warm_cli.run(["--help"], env={**env, **change})
    assert done.returncode == 0
    assert started and started[0][:3] == [sys.executable, "-m", "sms_core"]
    started.clear()
    warm_cli.run(["--help"], env=env)
    assert started == []  # the same environment without the change: warm
