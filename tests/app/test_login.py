"""Issue 4 through the dashboard: nothing is open before sign-in, each role sees its pages."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from sms_core.demo.showcase import seed_demo
from sms_core.roles import Principal
from sms_core.store.db import transaction
from sms_core.store.models import User

PAGES = {
    "overview": "概要",
    "new_send": "新規送信",
    "history": "送信履歴",
    "templates": "テンプレート・下書き",
    "settings": "設定（SMS連携）",
    "admin": "管理",
    "audit": "監査ログ",
}
SEES = {
    "admin": set(PAGES),
    "operator": {"overview", "new_send", "history", "templates", "settings"},
    "analyst": {"overview", "history", "settings"},
}


def sign_in(at, name: str, password: str):
    at.text_input[0].set_value(name)
    at.text_input[1].set_value(password)
    next(b for b in at.button if b.label == "ログイン").click().run()
    return at


def test_a_session_without_sign_in_sees_only_the_login(with_contract, run_app):
    at = run_app(role=None)
    assert not at.exception
    assert [t.value for t in at.title] == ["ログイン"]
    assert not at.metric and not at.dataframe
    for page in PAGES:  # no other page is even registered for this session
        with pytest.raises(ValueError, match=r"Known pages: \['[^']*login.py'\]"):
            at.switch_page(f"pages/{page}.py")


def test_sign_in_with_a_one_time_password_then_a_new_one(with_contract, run_app):
    one_time = with_contract.add_user("yamada", "operator")
    at = sign_in(run_app(role=None), "yamada", "wrong password")
    assert "ユーザー名またはパスワードが正しくない" in at.error[0].value  # issue 15: in Japanese
    at = sign_in(at, "yamada", one_time)
    assert any("新しいパスワード" in i.value for i in at.info)  # must change it first
    current, new, again = at.text_input[0], at.text_input[1], at.text_input[2]
    current.set_value(one_time)
    new.set_value("yamada-new-pass")
    again.set_value("yamada-new-pass")
    next(b for b in at.button if b.label == "パスワードを変更").click().run()
    assert not at.exception
    # Signed in: the session's navigation now holds the operator's pages.
    at.switch_page("pages/overview.py").run()
    assert at.title[0].value == "概要"
    assert at.session_state["principal"] == Principal("yamada", "operator")
    at = sign_in(run_app(role=None), "yamada", "yamada-new-pass")
    assert at.switch_page("pages/new_send.py").run().title[0].value == "新規送信"


def test_guessing_is_slowed_and_shown(with_contract, run_app):
    with_contract.add_user("kato", "analyst")
    at = run_app(role=None)
    for _ in range(3):
        sign_in(at, "kato", "not it")
    sign_in(at, "kato", "not it either")
    # Issue 15: a locked account reads like a wrong password (no hint which names exist).
    assert "ログインが一時的に制限されています" in at.error[0].value
    assert len(with_contract.audit_events(action="login.failure")) == 4


@pytest.mark.parametrize("role", list(SEES))
def test_each_role_sees_exactly_its_pages(with_contract, run_app, role):
    seed_demo(with_contract.database_engine())
    at = run_app(role=role)
    for page, title in PAGES.items():
        try:
            at.switch_page(f"pages/{page}.py").run()
        except ValueError:  # AppTest knows no such page in this session at all
            shown = None
        else:
            assert not at.exception, (role, page)
            # A page outside the role's navigation falls back to its first page, or (a
            # forged address) stops with a message before showing anything.
            forbidden = any("権限がありません" in e.value for e in at.error)
            shown = None if forbidden else at.title[0].value
        assert (shown == title) == (page in SEES[role]), (role, page, shown)


def test_an_analyst_reads_history_masked_and_cannot_cancel(with_contract, run_app, data_dir):
    from datetime import timedelta

    draft = with_contract.draft_send(
        data_dir / "roster_sample_cp932.csv",
        body="明日のご案内です。",
        name="予約",
        key="k",
        send_at=with_contract.now() + timedelta(days=1),
        quiet_policy="defer",
    )
    with_contract.confirm_send(draft, actor="t")
    at = run_app("history", role="analyst")
    assert not at.exception
    assert not any("取り消す" in b.label for b in at.button)
    messages = at.dataframe[-1].value
    assert len(messages) and all(str(p).startswith("*******") for p in messages["電話番号"])


AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32}


def oidc_app(user: dict | None):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.secrets["auth"] = AUTH
    if user is not None:
        at.user = user
    return at.run()


def test_with_auth_configured_sign_in_goes_through_the_identity_provider(with_contract):
    """[auth] in secrets.toml: st.login's button, then the identity maps to a user added
    with --oidc (its role), and an unknown identity is refused and audited."""
    at = oidc_app({"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.main.button] == ["組織のアカウントでログイン"]  # sidebar: languages
    assert not at.text_input  # no password form when an identity provider is configured

    with_contract.add_user("ito@example.co.jp", "analyst", oidc=True)
    at = oidc_app({"is_logged_in": True, "email": "ito@example.co.jp"})
    assert not at.exception
    assert at.session_state["principal"] == Principal("ito@example.co.jp", "analyst")

    at = oidc_app({"is_logged_in": True, "email": "stranger@example.co.jp"})
    assert "まだ登録されていません" in at.error[0].value
    assert "principal" not in at.session_state
    refused = with_contract.audit_events(action="login.failure")
    assert refused[0].actor == "stranger@example.co.jp"


def test_a_disabled_user_is_signed_out_and_a_demoted_one_loses_pages_at_the_next_run(
    with_contract, run_app
):
    """Issue 13: the dashboard re-reads the account on every run, not only at sign-in."""
    with_contract.add_user("test-operator", "operator")
    at = run_app("templates", role="operator")
    assert not at.exception and at.session_state["principal"].role == "operator"
    with transaction(with_contract.database_engine()) as s:
        s.execute(update(User).where(User.name == "test-operator").values(role="analyst"))
    at.run()
    assert at.session_state["principal"] == Principal("test-operator", "analyst")
    with_contract.set_user_disabled("test-operator", True)
    at.run()
    assert "principal" not in at.session_state
    # Signed out: the templates page is no longer shown to this browser session.
    assert not at.exception and "テンプレート" not in " ".join(t.value for t in at.title)
