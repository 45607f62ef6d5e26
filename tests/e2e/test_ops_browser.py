"""Issue 16 end to end in a real browser: look a candidate up, resend to the failed
recipients of a campaign, edit a scheduled send.

Sends are confirmed with the CLI against the product's own database (as a second
operator at a terminal would); the sandbox rejects 080-9999-0001, which gives a failed
recipient once the product's worker has sent it.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from sms_core.clock import now_utc
from sms_core.rules.schedule import JST
from sms_core.store.db import make_engine, transaction
from sms_core.store.models import Campaign

from .conftest import ARTIFACTS, ROOT
from .test_send_browser import NEW_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def product_db(dashboard_url, tmp_path_factory) -> str:
    """The URL of the database the product of ``dashboard_url`` runs on."""
    found = sorted(tmp_path_factory.getbasetemp().glob("product*/sms.db"))
    assert found, "the product's database was not found"
    return f"sqlite:///{found[-1]}"


def cli(database_url: str, *args: str) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMS_")},
        "SMS_DATABASE_URL": database_url,
        "SMS_QUIET_HOURS": "00:00-00:00",
    }
    done = subprocess.run(
        [sys.executable, "-m", "sms_core", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


OPERATORS = itertools.count(1)
TRIES = itertools.count(1)


def sign_in_as_operator(page, url: str, database_url: str) -> None:
    """An operator of its own (the admin's first sign-in belongs to the other browser
    test): added with the CLI, signed in with its one-time password, which it replaces."""
    # A rerun (one retry on a busy machine) finds the first try's account: a fresh name.
    name = f"e2e-ops-{next(OPERATORS)}"
    one_time = json.loads(cli(database_url, "users", "add", name, "--role", "operator", "--json"))[
        "one_time_password"
    ]
    page.goto(url, wait_until="networkidle")
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード", exact=True).fill(one_time)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("現在のパスワード").fill(one_time)
    page.get_by_label("新しいパスワード（10文字以上）").fill(NEW_PASSWORD)
    page.get_by_label("新しいパスワード（確認）").fill(NEW_PASSWORD)
    page.get_by_role("button", name="パスワードを変更").click()
    page.get_by_role("heading", name="概要").wait_for(timeout=30_000)


def wait_finished(database_url: str, name: str) -> int:
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with transaction(engine) as s:
                campaign = s.scalars(select(Campaign).where(Campaign.name == name)).first()
                if campaign is not None and campaign.state == "finished":
                    return campaign.id
            time.sleep(0.5)
    finally:
        engine.dispose()
    pytest.fail(f"campaign {name} did not finish")


def test_lookup_resend_to_the_failed_and_edit_a_scheduled_send(
    page, dashboard_url, product_db, tmp_path
):
    url, _ = dashboard_url
    # A rerun (one retry on a busy machine) shares the product with the first try: its own
    # numbers and names, so that nothing of the first try is counted.
    n = next(TRIES)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "応募者ID,氏名,区分,携帯電話番号\n"
        f"E2E-1,山田,新卒,090-1111-000{n}\nE2E-2,佐藤,新卒,080-9999-000{n}\n",
        encoding="utf-8",
    )
    body = "{{氏名}}様 説明会のご案内"
    cli(product_db, "send", str(roster), "--body", body, "--name", f"E2E再送元{n}")
    failed_campaign = wait_finished(product_db, f"E2E再送元{n}")

    sign_in_as_operator(page, url, product_db)

    # Resend to the failed recipient from History (the newest campaign is selected).
    page.get_by_role("link", name="送信履歴").click()
    page.get_by_role("heading", name="送信履歴").wait_for(timeout=30_000)
    page.get_by_text("未達の宛先に再送").click()
    page.get_by_text(re.compile(r"未達 1人・1通")).wait_for(timeout=30_000)
    page.get_by_role("button", name="再送する").click()
    page.get_by_text(re.compile(r"再送 #\d+ を作成しました。")).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "history_resend.png"), full_page=True)
    engine = make_engine(product_db)
    try:
        with transaction(engine) as s:
            resends = s.scalars(select(Campaign.id).where(Campaign.resend_of == failed_campaign))
            assert len(list(resends)) == 1
    finally:
        engine.dispose()

    # Look the candidate up by number: the failed message and its resend.
    page.get_by_role("link", name="応募者検索").click()
    page.get_by_role("heading", name="応募者検索").wait_for(timeout=30_000)
    page.get_by_text("電話番号", exact=True).click()
    page.get_by_label("応募者IDまたは電話番号").fill(f"080-9999-000{n}")
    page.get_by_role("button", name="検索").click()
    page.get_by_text("2件のメッセージ").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "lookup.png"), full_page=True)

    # Edit a scheduled send: tomorrow at 10:00 Japan time, renamed.
    tomorrow = (now_utc().astimezone(JST) + timedelta(days=1)).strftime("%Y-%m-%d")
    cli(
        product_db,
        "send",
        str(roster),
        "--body",
        "{{氏名}}様 面接のご案内",
        "--name",
        f"E2E予約{n}",
        "--at",
        f"{tomorrow} 10:00",
    )
    page.get_by_role("link", name="送信履歴").click()
    page.get_by_role("heading", name="送信履歴").wait_for(timeout=30_000)
    page.get_by_text("予約送信を編集").click()
    name = page.get_by_label("送信名")
    name.fill(f"E2E予約{n}（変更）")
    page.get_by_role("button", name="変更を保存").click()
    page.get_by_text(re.compile(r"送信 #\d+ を変更しました。")).wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "history_edit.png"), full_page=True)
    engine = make_engine(product_db)
    try:
        with transaction(engine) as s:
            names = set(s.scalars(select(Campaign.name)))
    finally:
        engine.dispose()
    assert f"E2E予約{n}（変更）" in names and f"E2E予約{n}" not in names
