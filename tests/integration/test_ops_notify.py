"""Team chat notifications (issue 16) against a local webhook on 127.0.0.1, both backends.

A campaign finished (with its counts), failures above the threshold, quota below the
threshold; each once, whatever number of notifiers; a broken webhook never breaks
dispatch and its URL (a secret) is never logged or stored.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sms_core import clock
from sms_core.sending import quota
from sms_core.sending.notify import MAX_ATTEMPTS, Notifier, webhook_hint, webhook_url
from sms_core.sending.workers import ProviderWorkers
from sms_core.store.app_settings import set_setting
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Notification
from tests.integration import warm_cli
from tests.integration.fakes.webhook_server import WebhookServer
from tests.integration.ops_helpers import NOON, confirm, contract, settle


@pytest.fixture(autouse=True)
def noon():
    with clock.frozen(NOON):
        yield


@pytest.fixture
def hook(monkeypatch):
    with WebhookServer() as server:
        monkeypatch.setenv("SMS_NOTIFY_WEBHOOK_URL", server.url)
        yield server


def finished(engine, outcomes, *phones):
    info = confirm(engine, "説明会", *phones)
    settle(engine, info.id, outcomes)
    with transaction(engine) as s:
        s.execute(update(Campaign).where(Campaign.id == info.id).values(finished_at=NOON))
    return info


def test_a_finished_campaign_is_posted_once_with_its_counts(engine, hook):
    contract(engine)
    info = finished(engine, {0: "delivered", 1: "delivered"}, "09011110001", "09011110002")
    first, second = Notifier(engine), Notifier(engine)  # two worker processes
    try:
        posted = first.run_once() + second.run_once() + first.run_once()
    finally:
        first.close()
        second.close()
    assert [(e.event, e.subject) for e in posted] == [("campaign_finished", str(info.id))]
    assert len(hook.posts) == 1
    text = hook.posts[0]["text"]
    assert f"#{info.id}" in text and "全2件" in text and "到達 2" in text
    assert "09011110001" not in text  # counts and names only, never a number


def test_failures_above_the_threshold_and_quota_below_it_are_posted(engine, hook):
    contract(engine, units=4)
    finished(engine, {0: "delivered", 1: "failed"}, "09011110001", "09011110002")
    with transaction(engine) as s:
        quota.commit_units(s, quota.current_month(), 1)  # the delivered one
        quota.reserve(s, quota.current_month(), 2)  # 1 used + 3 reserved: 0 remain
        set_setting(s, "notify_failure_ratio", "40%", actor="test")
    notifier = Notifier(engine)
    try:
        events = {e.event for e in notifier.run_once()}
    finally:
        notifier.close()
    assert events == {"campaign_finished", "failures_high", "quota_low"}
    texts = " ".join(p["text"] for p in hook.posts)
    assert "2件中 1件が失敗（50%、しきい値 40%）" in texts
    assert "残り 0通 / 上限 4通" in texts


def test_below_the_threshold_nothing_about_failures_is_posted(engine, hook):
    contract(engine)
    finished(engine, {0: "delivered", 1: "failed"}, "09011110001", "09011110002")
    with transaction(engine) as s:
        set_setting(s, "notify_failure_ratio", "0.5", actor="test")  # 50% is not above 50%
    notifier = Notifier(engine)
    try:
        events = {e.event for e in notifier.run_once()}
    finally:
        notifier.close()
    assert events == {"campaign_finished"}


def test_teams_gets_a_message_card(engine, hook):
    contract(engine)
    finished(engine, {0: "delivered"}, "09011110001")
    with transaction(engine) as s:
        set_setting(s, "notify_format", "teams", actor="test")
    notifier = Notifier(engine)
    try:
        notifier.run_once()
    finally:
        notifier.close()
    card = hook.posts[0]
    assert card["@type"] == "MessageCard" and "送信完了" in card["title"]


def test_history_before_the_window_is_not_replayed(engine, hook):
    contract(engine)
    info = finished(engine, {0: "delivered"}, "09011110001")
    with transaction(engine) as s:
        s.execute(
            update(Campaign)
            .where(Campaign.id == info.id)
            .values(finished_at=NOON - timedelta(days=2))
        )
    notifier = Notifier(engine)
    try:
        assert notifier.run_once() == []
    finally:
        notifier.close()


def test_a_failing_webhook_is_retried_a_few_times_and_its_url_never_logged(engine, caplog):
    contract(engine)
    finished(engine, {0: "delivered"}, "09011110001")
    caplog.set_level(logging.DEBUG)
    with WebhookServer(status=500) as broken:
        notifier = Notifier(engine, url=webhook_url_of(broken.url))
        try:
            for _ in range(MAX_ATTEMPTS + 2):
                assert notifier.run_once() == []
        finally:
            notifier.close()
    assert len(broken.posts) == MAX_ATTEMPTS
    with transaction(engine) as s:
        row = s.scalars(select(Notification)).one()
    assert (row.state, row.attempts, row.error) == ("failed", MAX_ATTEMPTS, "HTTP 500")
    assert "SECRET-TOKEN" not in caplog.text and "SECRET-TOKEN" not in row.text
    assert webhook_hint(webhook_url_of(broken.url)) == "http://127.0.0.1/…"


def test_notifications_never_break_dispatch_and_wait_for_a_url(engine, monkeypatch, tmp_path):
    """No URL: nothing is claimed. A dead URL: the worker's cycle goes on."""
    contract(engine)
    finished(engine, {0: "delivered"}, "09011110001")
    monkeypatch.delenv("SMS_NOTIFY_WEBHOOK_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    assert webhook_url() is None
    assert Notifier(engine).run_once() == []
    monkeypatch.setenv("SMS_NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/nobody-listens")
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    workers = ProviderWorkers(engine, refresh_interval=0)
    try:
        workers.run_once()  # kicks the notifier in its thread
        workers.notifier._thread.join(10)
        workers.run_once()
    finally:
        workers.close()
    with transaction(engine) as s:
        assert s.scalars(select(Notification.state)).all() == ["failed"]


def webhook_url_of(url: str):
    from sms_core.providers.settings import Secret

    return Secret(url)


def test_the_worker_process_posts_when_a_campaign_finishes(engine, database_url, tmp_path):
    """`python -m sms_core worker` sends a campaign, finishes it, then posts it once."""
    import os
    import signal
    import subprocess
    import time
    from pathlib import Path

    contract(engine)
    info = confirm(engine, "説明会", "09011110001", "08099990001")  # the second is rejected
    root = Path(__file__).resolve().parents[2]
    with WebhookServer() as hook:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SMS_")},
            "SMS_DATABASE_URL": database_url,
            "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
            "SMS_SANDBOX_DELIVERY_DELAY": "0",
            "SMS_PROVIDER": "sandbox",
            "SMS_WORKER_STATUS_POLL_AFTER": "0",
            "SMS_WORKER_SETTLE_DELAY": "0",
            "SMS_WORKER_IDLE_SLEEP": "0.05",
            "SMS_NOTIFY_WEBHOOK_URL": hook.url,
            "SMS_NOW": clock.now_utc().isoformat(),
            # At night Japan time the worker would hold the send until morning (issue 12).
            "SMS_QUIET_HOURS": "00:00-00:00",
        }
        log = tmp_path / "worker.log"
        with log.open("wb") as err_file:
            worker = warm_cli.start(
                ["worker"],
                cwd=tmp_path,
                env={**env, "PYTHONPATH": str(root)},
                stdout=subprocess.DEVNULL,
                stderr=err_file,
            )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any(
                "送信完了" in p["text"] for p in hook.posts
            ):
                time.sleep(0.2)
            time.sleep(1)  # anything posted twice would arrive by now
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            err = log.read_bytes()
    finished = [p for p in hook.posts if "送信完了" in p["text"]]
    assert len(finished) == 1, (hook.posts, err.decode(errors="replace")[-2000:])
    assert f"#{info.id}" in finished[0]["text"] and "失敗 1" in finished[0]["text"]
    assert "SECRET-TOKEN" not in err.decode(errors="replace")


def test_two_notifiers_at_once_post_an_event_once(engine, hook):
    """Both see the event as due; the unique (event, subject) row lets one claim it."""
    import threading

    contract(engine)
    finished(engine, {0: "delivered"}, "09011110001")
    notifiers = [Notifier(engine) for _ in range(4)]
    start = threading.Barrier(len(notifiers))
    results: list = []

    def run(n: Notifier) -> None:
        start.wait()
        results.extend(n.run_once())

    threads = [threading.Thread(target=run, args=(n,)) for n in notifiers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for n in notifiers:
            n.close()
    assert len(hook.posts) == 1 and len(results) == 1
