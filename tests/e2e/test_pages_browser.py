"""Issue 15 in a real browser: every page an admin sees, in Japanese and then in English
(chosen in the sidebar), saved as ``artifacts/{page}_{lang}.png`` for people to look at.

The product runs as `make run` starts it (demo history present). Each page must come up
with its own title and without an error box or a Python trace.
"""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS
from .test_session_browser import PASSWORD, sign_in_first_time

pytestmark = pytest.mark.browser

# (page, its title in Japanese, in English), in the sidebar's order for an admin.
PAGES = [
    ("overview", "概要", "Overview"),
    ("new_send", "新規送信", "New send"),
    ("history", "送信履歴", "History"),
    ("lookup", "応募者検索", "Candidate lookup"),
    ("templates", "テンプレート・下書き", "Templates & drafts"),
    ("settings", "設定", "Settings"),
    ("admin", "管理", "Administration"),
    ("audit", "監査ログ", "Audit trail"),
]
HEADINGS = {"settings": ("設定（SMS連携）", "Settings (SMS)")}


def settle(page) -> None:
    """Wait until Streamlit has finished the run (charts drawn, no spinner)."""
    page.wait_for_load_state("networkidle")
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=30_000
    )
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=30_000)
    # Plotly draws after the run ends: wait until every chart has its SVG, rather than a
    # fixed pause per page.
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
            .every(c => c.querySelector('.main-svg'))""",
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # the last paint before the screenshot


def choose_language(page, name: str) -> None:
    page.locator('[data-testid="stSidebar"]').get_by_role("button", name=name).click()
    settle(page)


def shoot(page, name: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, name
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def walk(page, lang: str) -> None:
    index = 1 if lang == "ja" else 2
    for key, *titles in PAGES:
        title = titles[index - 1]
        page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
        heading = HEADINGS.get(key, titles)[index - 1]
        page.get_by_role("heading", name=heading).first.wait_for(timeout=30_000)
        settle(page)
        shoot(page, f"{key}_{lang}")


def test_every_page_in_japanese_then_english(page, dashboard_url, account):
    """Issue 15: sign in, walk every page in Japanese, switch the sidebar language to
    English and walk them again; the sign-in page in both languages too."""
    url, _ = dashboard_url
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(url, wait_until="networkidle")
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    settle(page)
    shoot(page, "login_ja")
    choose_language(page, "English")
    page.get_by_role("heading", name="Sign in").wait_for(timeout=30_000)
    shoot(page, "login_en")
    choose_language(page, "日本語")

    name, one_time = account("pages-admin", "admin")
    sign_in_first_time(page, url, name, one_time)
    page.get_by_role("heading", name="概要").wait_for(timeout=30_000)
    assert PASSWORD
    walk(page, "ja")
    choose_language(page, "English")
    walk(page, "en")
