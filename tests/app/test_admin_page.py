"""Administration (issue 6): provider, quiet hours and short URL base are edited here and stored
for every process; a test send goes out as a campaign of one."""

from __future__ import annotations

from datetime import time


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_quiet_hours_and_short_url_base_are_saved_for_every_process(with_contract, run_app):
    at = run_app("admin")
    assert not at.exception
    assert with_contract.settings()["quiet_hours"].source == "environment"  # the fixture's
    start, end = (w for w in at.time_input if w.label.startswith("停止の"))
    start.set_value(time(20, 30))
    end.set_value(time(7, 45))
    next(b for b in at.button if b.label == "保存" and b.form_id == "quiet").click().run()
    assert not at.exception
    stored = with_contract.settings()["quiet_hours"]
    assert (stored.value, stored.source, stored.updated_by) == (
        "20:30-07:45",
        "database",
        "test-admin",
    )
    assert any("この画面で設定" in c.value for c in at.caption)

    url = next(w for w in at.text_input if w.label == "短縮URL")
    url.set_value("ftp://s.example.jp/")
    next(b for b in at.button if b.label == "保存" and b.form_id == "short_url").click().run()
    assert any("http" in e.value for e in at.error)
    assert with_contract.settings()["short_url_base"].source == "default"

    button(at, "初期値に戻す").click().run()  # issue 15: no environment variable names
    assert with_contract.settings()["quiet_hours"].source == "environment"


def test_a_provider_without_credentials_cannot_be_chosen(with_contract, run_app, monkeypatch):
    monkeypatch.delenv("SMS_TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("SMS_TWILIO_AUTH_TOKEN", raising=False)
    at = run_app("admin")
    next(s for s in at.selectbox if s.label == "送信プロバイダ").set_value("twilio")
    next(b for b in at.button if b.label == "保存" and b.form_id == "provider").click().run()
    assert any("認証情報がサーバーに設定されていない" in e.value for e in at.error)
    assert with_contract.provider_name == "sandbox"


def test_a_test_send_creates_one_campaign_and_shows_its_state(with_contract, run_app):
    at = run_app("admin")
    next(w for w in at.text_input if w.label == "送信先の携帯電話番号").set_value("090-1234-5678")
    send = button(at, "テスト送信する")
    send.click().run()
    assert not at.exception and not at.error
    assert any("テスト送信 #1" in i.value for i in at.info)
    assert with_contract.quota().reserved == 1
    # The form again, with a new number: a new campaign (the nonce was renewed).
    next(w for w in at.text_input if w.label == "送信先の携帯電話番号").set_value("03-1234-5678")
    button(at, "テスト送信する").click().run()
    assert any("テスト送信できません" in e.value for e in at.error)
    assert with_contract.quota().reserved == 1


def test_a_new_user_starts_least_privileged_and_the_list_follows_each_change(
    with_contract, run_app
):
    """Issue 15: the role picker starts on analyst; the users table shows an added user,
    then a disabled one, without a reload."""
    at = run_app("admin")
    role = next(s for s in at.selectbox if s.label == "役割")
    assert role.value == "analyst" and role.options[0] == "分析担当"
    next(w for w in at.text_input if w.label == "ユーザー名").set_value("sato")
    next(b for b in at.button if b.label == "ユーザーを追加").click().run()
    assert not at.exception
    assert any("初回パスワード" in s.value for s in at.success)  # shown once, after the rerun
    users = next(d.value for d in at.dataframe if "最終ログイン" in d.value.columns)
    row = users[users["ユーザー名"] == "sato"]
    assert list(row["役割"]) == ["分析担当"] and list(row["状態"]) == [""]
    next(s for s in at.selectbox if s.label == "ユーザー" and "sato" in s.options).set_value("sato")
    next(b for b in at.button if b.label == "無効にする").click().run()
    users = next(d.value for d in at.dataframe if "最終ログイン" in d.value.columns)
    assert list(users[users["ユーザー名"] == "sato"]["状態"]) == ["無効"]


def test_an_admin_sets_and_clears_another_users_test_number(with_contract, run_app):
    """Issue 16: an admin sets where a user's own test sends go, on the page (not only with
    the CLI's user-phone); a number that cannot receive an SMS is refused in Japanese."""
    with_contract.add_user("sato", "operator")

    def submit(at, number: str):
        next(
            s for s in at.selectbox if s.label == "ユーザー" and s.form_id == "user_phone"
        ).set_value("sato")
        label = "本人の携帯電話番号（テスト送信用）"
        next(w for w in at.text_input if w.label == label).set_value(number)
        return next(b for b in at.button if b.form_id == "user_phone").click().run()

    at = submit(run_app("admin"), "090-2222-3333")
    assert not at.exception
    assert any("末尾3333" in s.value for s in at.success), [s.value for s in at.success]
    assert with_contract.user_phone("sato") == "09022223333"

    at = submit(at, "03-1234-5678")
    assert any("携帯電話番号ではありません" in e.value for e in at.error), at.error
    assert with_contract.user_phone("sato") == "09022223333"  # nothing half-saved

    at = submit(at, "")
    assert any("消去しました" in s.value for s in at.success)
    assert with_contract.user_phone("sato") is None


def test_admins_are_warned_while_opt_outs_use_the_development_key(
    with_contract, run_app, monkeypatch
):
    """Without SMS_OPTOUT_KEY the published key protects nothing: admins are told so."""
    monkeypatch.delenv("SMS_OPTOUT_KEY", raising=False)
    at = run_app("admin")
    assert not at.exception
    assert any("SMS_OPTOUT_KEY" in w.value for w in at.warning)
    monkeypatch.setenv("SMS_OPTOUT_KEY", "a-team-secret")
    at = run_app("admin")
    assert not at.exception
    assert not any("SMS_OPTOUT_KEY" in w.value for w in at.warning)
