"""`make run`'s launcher and its demo data: both processes up, both stopped by one signal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import func, select

from sms_core.demo.showcase import seed_demo
from sms_core.sending import quota
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message, QuotaMonth

ROOT = Path(__file__).resolve().parents[2]


def test_r19_demo_history_is_consistent_with_the_ledger(engine):
    assert seed_demo(engine)
    assert not seed_demo(engine)  # never twice, never over real data
    with transaction(engine) as s:
        for ledger in s.scalars(select(QuotaMonth)):
            accepted = s.scalar(
                select(func.coalesce(func.sum(Message.units), 0))
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(Campaign.quota_month == ledger.month, Message.accepted_at.is_not(None))
            )
            assert ledger.used == accepted and ledger.reserved == 0
            assert ledger.used <= ledger.cap
        assert s.scalar(select(func.count()).select_from(Campaign)) == 7
        assert quota.remaining(s, quota.current_month()).remaining > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_starts_dashboard_worker_and_link_service_and_ctrl_c_stops_all(tmp_path):
    port = _free_port()
    links_port = _free_port()
    env = {
        **os.environ,
        "SMS_DATABASE_URL": f"sqlite:///{tmp_path / 'sms.db'}",
        "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
    }
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sms_core",
            "run",
            "--port",
            str(port),
            "--links-port",
            str(links_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert launcher.poll() is None, launcher.stdout.read()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
        children = subprocess.run(
            ["pgrep", "-P", str(launcher.pid), "-a"], capture_output=True, text=True
        ).stdout
        assert "sms_core worker" in children and "streamlit run" in children
        assert f"sms_core serve --host 127.0.0.1 --port {links_port}" in children
        deadline = time.monotonic() + 30
        while True:  # the link service (issue 3) answers beside the dashboard
            try:
                url = f"http://127.0.0.1:{links_port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.read().strip() == b"ok"
                break
            except OSError:
                assert time.monotonic() < deadline, "the link service did not start"
                time.sleep(0.3)
        history = subprocess.run(
            [sys.executable, "-m", "sms_core", "history", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert '"state": "finished"' in history.stdout  # the demo campaigns
    finally:
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=30) == 0
    left = subprocess.run(["pgrep", "-f", f"server.port {port}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""
    left = subprocess.run(
        ["pgrep", "-f", f"sms_core serve .*--port {links_port}"], capture_output=True, text=True
    )
    assert left.stdout.strip() == ""
    # Nothing is open by default: the first start created one admin, its password printed
    # once; it signs in (and must choose a new password).
    printed = launcher.stdout.read()
    found = re.search(r"sign in as 'admin' with the one-time password (\S+)", printed)
    assert found, printed
    from sms_core.service import SmsService
    from sms_core.store.db import make_engine

    engine = make_engine(env["SMS_DATABASE_URL"])
    try:
        signed, must_change = SmsService(engine).login("admin", found.group(1))
        assert signed.principal.role == "admin" and must_change
    finally:
        engine.dispose()
