"""Issue 15 in a real browser: a reload keeps the user signed in, on the same page; signing
out ends it for good (the session cookie is HttpOnly, so page scripts never see it)."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser
PASSWORD = "reload-proof-password-7"


def sign_in_first_time(page, url: str, name: str, one_time: str) -> None:
    page.goto(url, wait_until="networkidle")
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    page.get_by_label("ユーザー名").fill(name)
    page.get_by_label("パスワード", exact=True).fill(one_time)
    page.get_by_role("button", name="ログイン").click()
    page.get_by_label("現在のパスワード").fill(one_time)
    page.get_by_label("新しいパスワード（10文字以上）").fill(PASSWORD)
    page.get_by_label("新しいパスワード（確認）").fill(PASSWORD)
    page.get_by_role("button", name="パスワードを変更").click()


def test_a_reload_keeps_the_user_signed_in_on_the_same_page(page, dashboard_url, account):
    url, _ = dashboard_url
    name, one_time = account("reload-operator", "operator")
    sign_in_first_time(page, url, name, one_time)
    page.get_by_role("heading", name="概要").wait_for(timeout=30_000)

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert "sms_session" in cookies, cookies.keys()
    cookie = cookies["sms_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("sms_session") == -1

    page.get_by_role("link", name="送信履歴").click()
    page.get_by_role("heading", name="送信履歴").wait_for(timeout=30_000)
    assert page.url.rstrip("/").endswith("/history")

    page.reload(wait_until="networkidle")
    page.get_by_role("heading", name="送信履歴").wait_for(timeout=30_000)
    assert page.url.rstrip("/").endswith("/history")
    assert page.get_by_role("heading", name="ログイン").count() == 0
    page.screenshot(path=str(ARTIFACTS / "reload_signed_in.png"), full_page=True)

    page.get_by_role("button", name="ログアウト").click()
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    page.reload(wait_until="networkidle")
    page.get_by_role("heading", name="ログイン").wait_for(timeout=30_000)
    assert "sms_session" not in {c["name"] for c in page.context.cookies()}
