"""End to end in a real browser: upload a roster, see the preview's numbers (issue 2)."""

from __future__ import annotations

import re

import pytest

from sms_core.preview import preview

from .conftest import ARTIFACTS, ROOT

pytestmark = pytest.mark.browser
SAMPLE_EN = ROOT / "data" / "roster_sample_en.csv"


def wait_metric(page, label: str, value: str) -> None:
    """Wait until the metric ``label`` shows ``value`` (the rerun is asynchronous)."""
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


def test_upload_a_roster_and_see_its_preview(page, dashboard_url):
    page.goto(dashboard_url, wait_until="networkidle")
    page.get_by_text("宛先プレビュー").first.wait_for(timeout=30_000)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "preview_sample.png"), full_page=True)

    page.locator('input[type="file"]').set_input_files(str(SAMPLE_EN))
    page.get_by_text(re.compile(r"読み込み: roster_sample_en\.csv")).first.wait_for(timeout=30_000)
    body = page.locator("textarea").first.input_value()
    expected = preview(SAMPLE_EN, body).summary
    wait_metric(page, "名簿の行数", f"{expected.rows:,}")
    wait_metric(page, "送信可能", f"{expected.eligible:,}")
    wait_metric(page, "合計通数", f"{expected.total_units:,}")

    page.locator("textarea").first.fill("{{name}}様" + "あ" * 140)
    page.keyboard.press("Control+Enter")
    expected = preview(SAMPLE_EN, "{{name}}様" + "あ" * 140).summary
    wait_metric(page, "合計通数", f"{expected.total_units:,}")
    page.screenshot(path=str(ARTIFACTS / "preview_uploaded.png"), full_page=True)
