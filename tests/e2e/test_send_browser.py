"""End to end in a real browser: upload a roster, see its preview, send it, watch it finish."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from sms_core.rules.preview import preview

from .conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.browser
SAMPLE_EN = ROOT / "data" / "roster_sample_en.csv"


def wait_metric(page, label: str, value: str) -> None:
    """Wait until the metric ``label`` shows ``value`` (reruns are asynchronous)."""
    page.wait_for_function(
        """([label, want]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => {
                const l = m.querySelector('[data-testid="stMetricLabel"]');
                const v = m.querySelector('[data-testid="stMetricValue"]');
                return l && v && l.innerText.trim() === label && v.innerText.trim() === want;
            })""",
        arg=[label, value],
        timeout=30_000,
    )


NEW_PASSWORD = "e2e-chosen-password-42"
TEMPLATE = "E2E面接案内"


def metric(page, label: str) -> int:
    """The whole number a metric shows."""
    value = page.evaluate(
        """label => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .filter(m => m.querySelector('[data-testid="stMetricLabel"]')
                          ?.innerText.trim() === label)
            .map(m => m.querySelector('[data-testid="stMetricValue"]').innerText.trim())[0]""",
        label,
    )
    return int(value.replace(",", ""))


def wait_metric_present(page, label: str) -> None:
    """Wait until a metric ``label`` is drawn."""
    page.wait_for_function(
        """label => [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
            .some(l => l.innerText.trim() === label)""",
        arg=label,
        timeout=30_000,
    )


def sign_in(page, url: str, one_time: str) -> None:
    """Nothing is open: sign in as the first admin, then replace the one-time password."""
    page.goto(url, wait_until="networkidle")
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)
    page.get_by_label("ユーザー名").fill("admin")
    page.get_by_label("パスワード", exact=True).fill(one_time)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("現在のパスワード").fill(one_time)
    page.get_by_label("新しいパスワード（10文字以上）").fill(NEW_PASSWORD)
    page.get_by_label("新しいパスワード（確認）").fill(NEW_PASSWORD)
    page.get_by_role("button", name="パスワードを変更").click()


def test_upload_preview_send_and_follow_it(page, dashboard_url):
    url, one_time = dashboard_url
    sign_in(page, url, one_time)
    page.get_by_role("heading", name="概要").wait_for(timeout=30_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    page.get_by_role("link", name="新規送信").click()
    page.get_by_role("heading", name="新規送信").wait_for(timeout=30_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)

    page.locator('input[type="file"]').first.set_input_files(str(SAMPLE_EN))
    body = "{{name}}様 明日10時から面接です。"
    page.locator("textarea").first.fill(body)
    page.keyboard.press("Control+Enter")
    # Saved as a template here, so the templates page has something of ours to show.
    page.get_by_label("保存名").fill(TEMPLATE)
    page.get_by_label("保存名").press("Enter")
    page.get_by_role("button", name="テンプレート保存").click()
    expected = preview(SAMPLE_EN, body).summary
    wait_metric(page, "名簿の行数", f"{expected.rows:,}")
    wait_metric(page, "送信先", f"{expected.eligible:,}")
    wait_metric(page, "合計通数", f"{expected.total_units:,}")
    page.screenshot(path=str(ARTIFACTS / "new_send_preview.png"), full_page=True)

    page.get_by_role("button", name="内容を確認して送信").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"{expected.eligible:,}名").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "new_send_confirm.png"), full_page=True)
    dialog.get_by_role("button", name="送信する").click()

    page.get_by_text(re.compile(r"送信 #\d+: 完了")).wait_for(timeout=60_000)
    # Finished means nothing is left to hand over; delivery receipts may still follow.
    page.get_by_text(re.compile(rf"到達: {expected.eligible:,}")).wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "new_send_finished.png"), full_page=True)

    page.get_by_role("link", name="送信履歴").click()
    page.get_by_role("heading", name="送信履歴").wait_for(timeout=30_000)
    # st.dataframe draws on a canvas; the newest send is selected and its funnel (plotly
    # SVG text) shows every recipient delivered.
    page.locator(".js-plotly-plot", has_text="配信ファネル").filter(
        has_text=f"{expected.eligible}"
    ).first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "history.png"), full_page=True)
    page.get_by_role("link", name="テンプレート・下書き").click()
    page.get_by_role("heading", name="テンプレート・下書き").wait_for(timeout=30_000)
    # The template saved on New send is offered for editing, and loads with its body.
    page.locator('[data-testid="stSelectbox"]', has_text="編集するテンプレート").click()
    page.get_by_role("option", name=TEMPLATE).click()
    page.wait_for_function(
        "body => [...document.querySelectorAll('textarea')].some(t => t.value === body)",
        arg=body,
        timeout=30_000,
    )
    page.screenshot(path=str(ARTIFACTS / "templates.png"), full_page=True)

    page.get_by_role("link", name="設定").click()
    page.get_by_role("heading", name="配信停止リスト").wait_for(timeout=30_000)
    # R20: this month's ledger adds up, and it holds the units of the send just made.
    wait_metric_present(page, "残り")
    labels = ("上限", "送信済み", "予約中", "残り")
    cap, used, reserved, left = (metric(page, label) for label in labels)
    assert left == cap - used - reserved
    assert used + reserved >= expected.total_units
    page.screenshot(path=str(ARTIFACTS / "settings.png"), full_page=True)

    # Administration: a test send to one number goes out through the worker like any send.
    page.get_by_role("link", name="管理").click()
    page.get_by_role("heading", name="テスト送信").wait_for(timeout=30_000)
    page.get_by_label("送信先の携帯電話番号").fill("090-1234-5678")
    page.get_by_role("button", name="テスト送信する").click()
    page.get_by_text(re.compile(r"テスト送信 #\d+：完了")).wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)

    # The audit trail shows who did all this: its export holds our two confirmations.
    page.get_by_role("link", name="監査ログ").click()
    page.get_by_role("heading", name="監査ログ").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="CSVでエクスポート").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    confirms = [r for r in rows if "campaign.confirm" in r.values()]
    assert len(confirms) >= 2 and all("admin" in r.values() for r in confirms[:2])
