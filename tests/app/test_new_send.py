"""New send through AppTest: preview, compose, narrow, confirm once, quota of the right month.

The product clock is set (sms_core.clock), so these pass at any date and hour: the page
shows what the one send draft holds (issue 11), never the wall clock's month.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import pytest

from sms_core import clock
from sms_core.roles import Principal
from sms_core.rules.preview import preview
from sms_core.rules.schedule import JST
from sms_core.sending import quota
from sms_core.store.db import transaction
from sms_core.store.models import Campaign

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "roster_sample_cp932.csv"
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=JST)  # a month's last day
NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
LEFT_NOV = "送信後の残り（2026-11）"
LEFT_DEC = "送信後の残り（2026-12）"
# C3 repeats C1's number (R3); two units and three carrier segments each for 136 chars.
FOUR = (
    "応募者ID,氏名,区分,携帯電話番号,LINE登録\n"
    "C1,佐藤,新卒,090-1111-2222,済\n"
    "C2,鈴木,新卒,090-3333-4444,未\n"
    "C3,高橋,新卒,090-1111-2222,未\n"
    "C4,田中,新卒,080-5555-6666,未\n"
).encode()


@pytest.fixture(autouse=True)
def set_clock():
    """Noon on 30 November 2026 (Japan time) unless a test moves it."""
    with clock.frozen(NOON):
        yield


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def composer(run_app):
    """New send with the sample roster's file uploaded as one's own roster (the sample
    toggle itself is off by default and never sendable)."""
    at = run_app("new_send")
    at.file_uploader[0].set_value((SAMPLE.name, SAMPLE.read_bytes(), "text/csv")).run()
    assert not at.exception
    return at


def campaigns(svc) -> list[Campaign]:
    with transaction(svc.database_engine()) as s:
        return list(s.query(Campaign).all())


def test_sample_roster_shows_the_right_counts(with_contract, run_app):
    at = composer(run_app)
    assert not at.exception
    expected = preview(SAMPLE, at.text_area[0].value).summary
    shown = metrics(at)
    assert shown["名簿の行数"] == f"{expected.rows:,}"
    assert shown["送信先"] == f"{expected.eligible:,}"
    assert shown["合計通数"] == f"{expected.total_units:,}"
    assert number(shown[LEFT_NOV]) == 1000 - expected.total_units


def test_r7_r9_composing_shows_units_and_segments_where_they_differ(with_contract, run_app):
    """R7/R9: 136 characters are 2 units (71–140) but 3 carrier segments (135–201)."""
    at = composer(run_app)
    recipients = number(metrics(at)["送信先"])
    at.text_area[0].set_value("あ" * 136).run()
    shown = metrics(at)
    assert number(shown["合計通数"]) == 2 * recipients
    assert number(shown["キャリア分割数"]) == 3 * recipients
    assert any("136文字 ・ 2通 ・ キャリア分割 3" in c.value for c in at.caption)
    at.text_area[0].set_value("{{氏名}}様" + "あ" * 140).run()
    assert any("141文字" in c.value for c in at.caption)  # the live counter, tags left out


def test_narrowing_by_a_column_changes_recipients_and_cost(with_contract, run_app):
    at = composer(run_app)
    everyone = number(metrics(at)["送信先"])
    at.multiselect[0].set_value(["LINE登録"]).run()
    at.multiselect[1].set_value(["未"]).run()
    narrowed = number(metrics(at)["送信先"])
    assert 0 < narrowed < everyone


def test_r3_a_repeat_of_a_narrowed_away_row_is_a_recipient(with_contract, run_app):
    """R3: narrowing C1 away makes C3 (same number) a recipient: 3 of 4, not 2."""
    at = run_app("new_send")
    at.file_uploader[0].set_value(("four.csv", FOUR, "text/csv")).run()
    assert metrics(at)["送信先"] == "3"  # C3 repeats C1
    at.multiselect[0].set_value(["LINE登録"]).run()
    at.multiselect[1].set_value(["未"]).run()
    assert not at.exception
    assert metrics(at)["送信先"] == "3"


def test_confirm_creates_one_campaign_even_when_clicked_twice(with_contract, run_app):
    """The confirm button reached twice (a double click, or a rerun lost after the commit)
    creates one campaign and reserves its units once."""
    at = composer(run_app)
    units = number(metrics(at)["合計通数"])
    button(at, "内容を確認して送信").click().run()
    button(at, "送信する").click().run()
    assert not at.exception
    first = campaigns(with_contract)
    assert len(first) == 1
    # The page forgets it ever confirmed (the rerun after the commit never arrived), and
    # the same dialog's button is pressed again.
    del at.session_state["campaign_id"]
    at.session_state["confirming"] = True
    at.run()
    button(at, "送信する").click().run()
    assert not at.exception
    again = campaigns(with_contract)
    assert [c.id for c in again] == [first[0].id]
    status = with_contract.quota()
    assert status.reserved == units
    assert any(f"送信 #{first[0].id}" in h.value for h in at.subheader)
    # The units left are counted once: already reserved, not subtracted again.
    assert number(metrics(at)[LEFT_NOV]) == 1000 - units
    assert button(at, "内容を確認して送信").disabled  # confirmed: "start a new send" first


def test_r18_over_quota_shows_the_month_and_shortfall_and_cannot_confirm(database, run_app):
    database.set_contract(10, NOV, 3, "shared", None, actor="test")
    at = composer(run_app)
    units = number(metrics(at)["合計通数"])
    assert units > 10
    assert number(metrics(at)[LEFT_NOV]) == 10 - units
    assert any(
        "2026-11" in w.value and f"{units - 10:,}通足りません" in w.value for w in at.warning
    )
    assert button(at, "内容を確認して送信").disabled
    at.session_state["confirming"] = True  # as if a click had reached the server anyway
    at.run()
    assert not any(b.label == "送信する" for b in at.button)
    assert campaigns(database) == [] and database.quota(NOV).reserved == 0


def test_r18_deferred_past_midnight_shows_and_reserves_next_month(
    with_contract, run_app, monkeypatch
):
    """R18: at 23:59 on 30 Nov, deferred out of quiet hours to 08:00 on 1 Dec, the page
    and the dialog show December's quota, and December's units are reserved."""
    monkeypatch.setenv("SMS_QUIET_HOURS", "21:00-08:00")
    with transaction(with_contract.database_engine()) as s:
        quota.reserve(s, NOV, 1000)  # November is spent
    with clock.frozen(datetime(2026, 11, 30, 23, 59, tzinfo=JST)):
        at = composer(run_app)
        assert button(at, "内容を確認して送信").disabled  # refused: inside quiet hours
        next(r for r in at.radio if r.label == "送信停止時間帯にかかる場合").set_value(
            "defer"
        ).run()
        units = number(metrics(at)["合計通数"])
        assert number(metrics(at)[LEFT_DEC]) == 1000 - units
        assert any("2026/12/01 08:00" in w.value for w in at.warning)
        button(at, "内容を確認して送信").click().run()
        dialog = " ".join(m.value for m in at.markdown)
        assert "対象月: **2026-12**" in dialog and f"**{1000 - units:,}通**" in dialog
        button(at, "送信する").click().run()
        assert not at.exception
    (campaign,) = campaigns(with_contract)
    assert campaign.quota_month == DEC
    assert with_contract.quota(DEC).reserved == units
    assert with_contract.quota(NOV).reserved == 1000


def test_r18_scheduling_into_next_month_shows_next_month(with_contract, run_app):
    with transaction(with_contract.database_engine()) as s:
        quota.reserve(s, NOV, 1000)
    at = composer(run_app)
    assert button(at, "内容を確認して送信").disabled  # nothing left this month
    next(r for r in at.radio if r.label == "送信日時").set_value("later").run()
    assert at.date_input[0].value == DEC  # tomorrow, Japan time, by the product clock
    units = number(metrics(at)["合計通数"])
    assert number(metrics(at)[LEFT_DEC]) == 1000 - units
    assert not button(at, "内容を確認して送信").disabled


def test_a_send_time_already_passed_is_said_in_japanese(with_contract, run_app):
    """The reason a scheduled time is refused reads in Japanese, with the time as the page
    writes it (it was the error's English text)."""
    at = composer(run_app)
    next(r for r in at.radio if r.label == "送信日時").set_value("later").run()
    at.date_input(key="send_date").set_value(date(2026, 11, 30))
    at.time_input(key="send_time").set_value(time(9, 0)).run()
    assert not at.exception
    assert button(at, "内容を確認して送信").disabled
    assert [w.value for w in at.warning if "09:00" in w.value] == [
        "2026/11/30 09:00（日本時間）はすでに過ぎています。これから先の日時を指定してください。"
    ]


def test_r14_the_dialog_shows_the_sender_the_provider_will_use(database, run_app, monkeypatch):
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    monkeypatch.setenv("SMS_TWILIO_FROM", "+15005550006")
    database.set_contract(1000, NOV, 3, "shared", None, actor="test")
    at = composer(run_app)
    button(at, "内容を確認して送信").click().run()
    assert any("送信元番号: **+15005550006**" in m.value for m in at.markdown)
    database.set_contract(1000, NOV, 3, "dedicated", "090-9876-5432", actor="test")
    at.run()
    assert any("送信元番号: **090-9876-5432**" in m.value for m in at.markdown)


def test_unknown_tag_shows_the_available_tags(with_contract, run_app):
    at = composer(run_app)
    at.text_area[0].set_value("{{名前}}様").run()
    assert not at.exception
    assert at.error and "{{氏名}}" in at.error[0].value


def test_a_send_loaded_from_a_template_records_the_template(with_contract, run_app):
    """Issue 5: loading a template names it on the page, and the campaign keeps it."""
    with_contract.save_template("説明会のご案内", "{{氏名}}様 説明会のご案内です。", actor="t")
    at = composer(run_app)
    pick = next(s for s in at.selectbox if s.label == "読み込む本文")
    pick.set_value("[T] 説明会のご案内").run()
    button(at, "読み込む").click().run()
    assert at.text_area[0].value == "{{氏名}}様 説明会のご案内です。"
    assert any("説明会のご案内" in c.value for c in at.caption)
    button(at, "内容を確認して送信").click().run()
    button(at, "送信する").click().run()
    assert not at.exception
    assert [c.template_name for c in campaigns(with_contract)] == ["説明会のご案内"]


def test_unrecognised_headers_are_mapped_in_the_column_editor(with_contract, run_app):
    """Issue 6: a roster whose headers are not the ATS's shows the mapping open, with the
    missing fields named; choosing their columns previews it, row numbers and all."""
    roster = (
        "ID,呼び名,選考区分,携帯連絡先,TEL\n"
        "A1,佐藤,新卒,090-1234-5678,\n"
        "A2,鈴木,中途,,03-1234-5678\n"
        "A3,高橋,中途,,080-2345-6789\n"
    ).encode("cp932")
    at = run_app("new_send")
    at.file_uploader[0].set_value(("ats_export.csv", roster, "text/csv")).run()
    assert not at.exception
    assert any("区分、携帯電話番号、電話番号1" in w.value for w in at.warning)
    assert not any("kind" in w.value for w in at.warning)  # field names, never their ids
    assert at.error  # the preview cannot run yet: no kind column
    by_label = {s.label: s for s in at.selectbox}
    by_label["区分 (kind)"].set_value("選考区分").run()
    by_label = {s.label: s for s in at.selectbox}
    by_label["携帯電話番号 (mobile)"].set_value("携帯連絡先").run()
    by_label = {s.label: s for s in at.selectbox}
    by_label["電話番号1 (phone1)"].set_value("TEL").run()
    assert "{{氏名}}" in at.error[0].value  # the default body's tag needs the name column
    by_label = {s.label: s for s in at.selectbox}
    by_label["氏名 (name)"].set_value("呼び名").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["名簿の行数"] == "3"
    # 新卒 on a mobile; 中途 on 電話番号1 only if it is a mobile (R3/R4): 080 yes, 03 no.
    assert shown["送信先"] == "2"


# ---- issue 15: a composer that keeps work, a confirmation that shows everything ---------

LINE_NOT = ["未"]


def compose_four(run_app):
    """four.csv uploaded, a body of our own, narrowed to LINE 未登録, scheduled, named."""
    at = run_app("new_send")
    at.file_uploader[0].set_value(("four.csv", FOUR, "text/csv")).run()
    at.text_area[0].set_value("{{氏名}}様 明日の面接のご案内です。").run()
    at.multiselect[0].set_value(["LINE登録"]).run()
    at.multiselect[1].set_value(LINE_NOT).run()
    next(r for r in at.radio if r.label == "送信日時").set_value("later").run()
    next(i for i in at.text_input if i.label == "送信名（履歴に表示）").set_value("一次面接").run()
    assert not at.exception
    return at


def assert_the_work_is_there(at, name: str = "一次面接") -> None:
    assert not at.exception
    assert at.text_area[0].value == "{{氏名}}様 明日の面接のご案内です。"
    assert any("使用中の名簿: four.csv" in c.value for c in at.caption)
    assert at.multiselect[0].value == ["LINE登録"] and at.multiselect[1].value == LINE_NOT
    assert next(r for r in at.radio if r.label == "送信日時").value == "later"
    assert at.date_input[0].value == DEC
    assert next(i for i in at.text_input if i.label == "送信名（履歴に表示）").value == name
    assert metrics(at)["送信先"] == "3"  # C2, C3, C4: the narrowing still applies


def test_the_composer_keeps_its_work_when_the_page_is_left(with_contract, run_app):
    """Issue 15: leaving New send drops its widgets' state; roster, body, mapping,
    narrowing, schedule and name come back when the page is opened again."""
    at = compose_four(run_app)
    next(i for i in at.text_input if i.label == "送信名（履歴に表示）").set_value("二次面接").run()
    at.switch_page("pages/history.py").run()
    assert not at.exception
    at.run()  # another run of History: the composer's widgets are gone by now
    at.switch_page("pages/new_send.py").run()
    assert_the_work_is_there(at, name="二次面接")


def test_the_composer_survives_a_reload(with_contract, run_app):
    """Issue 15: a reload is a new browser session; the work comes back from the server's
    autosave, and is offered for 24 hours at most (the roster is personal data)."""
    compose_four(run_app)
    again = run_app("new_send")  # a fresh session of the same user
    assert_the_work_is_there(again)
    assert any("前回の作業を復元しました" in i.value for i in again.info)
    clock.advance(24 * 3600)
    later = run_app("new_send")
    assert not later.exception
    assert any("名簿ファイルをアップロードしてください" in i.value for i in later.info)
    assert not later.metric


def test_an_upload_error_keeps_the_last_good_roster_and_the_work(with_contract, run_app):
    at = compose_four(run_app)
    at.file_uploader[0].set_value(("broken.csv", b"", "text/csv")).run()
    assert not at.exception
    assert at.error and "four.csv" in " ".join(i.value for i in at.info)
    assert_the_work_is_there(at)


def test_the_sample_roster_is_off_by_default_and_cannot_be_sent(with_contract, run_app):
    """Issue 15: nothing is drafted until a roster is chosen; the sample can be tried
    (preview and counts) but neither the button nor a forged click confirms it."""
    at = run_app("new_send")
    sample = next(s for s in at.toggle if s.label == "サンプル名簿で試す")
    assert sample.value is False and not at.metric
    sample.set_value(True).run()
    assert number(metrics(at)["送信先"]) > 0
    assert any("サンプル名簿には送信できません" in w.value for w in at.warning)
    assert button(at, "内容を確認して送信").disabled
    at.session_state["confirming"] = True  # as if a click had reached the server anyway
    at.run()
    assert not any(b.label == "送信する" for b in at.button)
    assert campaigns(with_contract) == []


def test_the_composer_states_that_sms_is_send_only(with_contract, run_app):
    at = run_app("new_send")
    assert any("送信専用・返信不可" in i.value for i in at.info)


def test_after_a_send_a_new_one_is_one_click(with_contract, run_app):
    """Issue 15: once confirmed, "新しい送信を作成" gives a clean composer (and forgets the
    autosave); the next roster and body can be sent as a second campaign."""
    at = compose_four(run_app)
    next(r for r in at.radio if r.label == "送信日時").set_value("now").run()
    button(at, "内容を確認して送信").click().run()
    button(at, "送信する").click().run()
    assert button(at, "内容を確認して送信").disabled
    assert with_contract.for_user(Principal("test-admin", "admin")).composer_autosave() is None
    button(at, "新しい送信を作成").click().run()
    assert not at.exception
    kept = with_contract.for_user(Principal("test-admin", "admin")).composer_autosave()
    assert kept is None or kept.roster is None  # the old roster is not offered again
    assert campaigns(with_contract)[0].name == "一次面接"
    assert any("名簿ファイルをアップロードしてください" in i.value for i in at.info)
    at.file_uploader[0].set_value((SAMPLE.name, SAMPLE.read_bytes(), "text/csv")).run()
    assert at.text_area[0].value != "{{氏名}}様 明日の面接のご案内です。"  # a clean body
    assert not at.multiselect[0].value  # and no narrowing
    assert not button(at, "内容を確認して送信").disabled
    button(at, "内容を確認して送信").click().run()
    button(at, "送信する").click().run()
    assert not at.exception
    assert len(campaigns(with_contract)) == 2


def test_the_confirmation_shows_everything_and_cancel_sends_nothing(database, run_app, monkeypatch):
    """Issue 15 (R7, R9, R14, R18): the dialog shows a rendered sample and the longest
    message, units per recipient and in total, segments, which figure is billed, the cost
    in yen, the month's quota, the filters, name, file and the sender formatted."""
    monkeypatch.setenv("SMS_UNIT_PRICE_YEN", "9")
    database.set_contract(1000, NOV, 3, "dedicated", "05012345678", actor="test")
    at = compose_four(run_app)
    next(r for r in at.radio if r.label == "送信日時").set_value("now").run()
    at.text_area[0].set_value("{{氏名}}様 " + "あ" * 66).run()  # 佐藤 70 chars: 1 unit
    button(at, "内容を確認して送信").click().run()
    texts = [t.value for t in at.text]
    # C2 鈴木 is the first recipient; every name here has two characters.
    assert "鈴木様 " + "あ" * 66 in texts
    assert any("全員が同じ長さ" in c.value for c in at.caption)
    facts = " ".join(m.value for m in at.markdown)
    for expected in (
        "送信名: **一次面接**",
        "名簿ファイル: **four.csv**",
        "絞り込み: **LINE登録: 未**",
        "送信先: **3名**",
        "1名あたり **1通**、合計 **3通**",
        "請求・契約の対象: **通数**",
        "概算費用: **27円**",
        "対象月: **2026-11**",
        "**997通**",
        "月の上限 1,000通",
        "送信元番号: **050-1234-5678**",
    ):
        assert expected in facts, expected
    button(at, "キャンセル").click().run()
    assert not at.exception
    assert not any(b.label == "送信する" for b in at.button)  # the dialog is closed
    assert campaigns(database) == [] and database.quota(NOV).reserved == 0


def test_the_confirmation_shows_the_longest_message_when_lengths_differ(with_contract, run_app):
    roster = FOUR.replace("田中".encode(), "長谷川太郎".encode())
    at = run_app("new_send")
    at.file_uploader[0].set_value(("four.csv", roster, "text/csv")).run()
    at.text_area[0].set_value("{{氏名}}様 " + "あ" * 66).run()
    button(at, "内容を確認して送信").click().run()
    captions = " ".join(c.value for c in at.caption)
    assert "最長のメッセージ（5行目の宛先：73文字・2通・キャリア分割 2）" in captions
    assert "長谷川太郎様 " + "あ" * 66 in [t.value for t in at.text]
    assert "1名あたり **1〜2通**" in " ".join(m.value for m in at.markdown)


def test_a_bad_roster_is_explained_in_japanese_naming_row_column_and_reason(with_contract, run_app):
    """R22: the operator reads what is wrong and where, in Japanese, not only that the
    file cannot be read."""
    at = run_app("new_send")
    ragged = "応募者ID,氏名,区分,携帯電話番号\nC1,山田,新卒,09011112222\nC2,佐藤,正社員,090\n"
    at.file_uploader[0].set_value(("ats.csv", ragged.encode("cp932"), "text/csv")).run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "3行目・「区分」列: 候補者区分が「正社員」です。" in shown, shown
    assert "名簿ファイルを読み込めません" not in shown
