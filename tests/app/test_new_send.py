"""New send through AppTest: preview, compose, narrow, confirm once, over-quota refusal."""

from __future__ import annotations

from pathlib import Path

from sms_core.rules.preview import preview

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "roster_sample_cp932.csv"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_sample_roster_shows_the_right_counts(with_contract, run_app):
    at = run_app("new_send")
    assert not at.exception
    expected = preview(SAMPLE, at.text_area[0].value).summary
    shown = metrics(at)
    assert shown["名簿の行数"] == f"{expected.rows:,}"
    assert shown["送信先"] == f"{expected.eligible:,}"
    assert shown["合計通数"] == f"{expected.total_units:,}"
    assert number(shown["送信後の残り（今月）"]) == 1000 - expected.total_units


def test_composing_updates_counter_and_cost(with_contract, run_app):
    at = run_app("new_send")
    recipients = number(metrics(at)["送信先"])
    at.text_area[0].set_value("{{氏名}}様" + "あ" * 140).run()
    assert number(metrics(at)["合計通数"]) == 3 * recipients  # R7: 141+ characters
    assert any("141文字" in c.value for c in at.caption)  # the live counter, tags left out


def test_narrowing_by_a_column_changes_recipients_and_cost(with_contract, run_app):
    at = run_app("new_send")
    everyone = number(metrics(at)["送信先"])
    at.multiselect[0].set_value(["LINE登録"]).run()
    at.multiselect[1].set_value(["未"]).run()
    narrowed = number(metrics(at)["送信先"])
    assert 0 < narrowed < everyone


def test_confirm_creates_one_campaign_even_when_clicked_twice(with_contract, run_app):
    at = run_app("new_send")
    units = number(metrics(at)["合計通数"])
    review = next(b for b in at.button if b.label == "内容を確認して送信")
    review.click().run()
    send = next(b for b in at.button if b.label == "送信する")
    send.click().run()
    assert not at.exception
    # The same confirmation again (a double click, a rerun, a refresh): nothing new.
    review = next(b for b in at.button if b.label == "内容を確認して送信")
    assert review.disabled  # confirmed: "start a new send" first
    at.session_state["confirming"] = True  # as if a second click had reached the server
    at.run()
    assert not any(b.label == "送信する" for b in at.button)  # no second dialog
    at.run()
    status = with_contract.quota()
    assert status.reserved == units
    assert any("送信 #1" in h.value for h in at.subheader)
    # The units left are counted once: already reserved, not subtracted again.
    assert number(metrics(at)["送信後の残り（今月）"]) == 1000 - units


def test_r18_over_quota_is_refused_with_the_shortfall(database, run_app):
    from sms_core.sending.quota import current_month

    database.set_contract(10, current_month(), 3, "shared", None, actor="test")
    at = run_app("new_send")
    review = next(b for b in at.button if b.label == "内容を確認して送信")
    assert review.disabled
    assert any("足りません" in w.value for w in at.warning)


def test_unknown_tag_shows_the_available_tags(with_contract, run_app):
    at = run_app("new_send")
    at.text_area[0].set_value("{{名前}}様").run()
    assert not at.exception
    assert at.error and "{{氏名}}" in at.error[0].value


def test_a_send_loaded_from_a_template_records_the_template(with_contract, run_app):
    """Issue 5: loading a template names it on the page, and the campaign keeps it."""
    from sms_core import reports

    with_contract.save_template("説明会のご案内", "{{氏名}}様 説明会のご案内です。", actor="t")
    at = run_app("new_send")
    pick = next(s for s in at.selectbox if s.label == "読み込む本文")
    pick.set_value("[T] 説明会のご案内").run()
    next(b for b in at.button if b.label == "読み込む").click().run()
    assert at.text_area[0].value == "{{氏名}}様 説明会のご案内です。"
    assert any("説明会のご案内" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "内容を確認して送信").click().run()
    next(b for b in at.button if b.label == "送信する").click().run()
    assert not at.exception
    summary = reports.campaign_summary(with_contract.database_engine())
    assert summary["template_name"].tolist() == ["説明会のご案内"]


def test_unrecognised_headers_are_mapped_in_the_column_editor(with_contract, run_app):
    """Issue 6: a roster whose headers are not the ATS's shows the mapping open, with the
    missing fields named; choosing their columns previews it, row numbers and all."""
    roster = (
        "ID,お名前,採用区分,携帯TEL,TEL\n"
        "A1,佐藤,新卒,090-1234-5678,\n"
        "A2,鈴木,中途,,03-1234-5678\n"
        "A3,高橋,中途,,080-2345-6789\n"
    ).encode("cp932")
    at = run_app("new_send")
    at.file_uploader[0].set_value(("ats_export.csv", roster, "text/csv")).run()
    assert not at.exception
    assert any("採用区分" not in w.value and "kind" in w.value for w in at.warning)
    assert at.error  # the preview cannot run yet: no kind column
    by_label = {s.label: s for s in at.selectbox}
    by_label["区分 (kind)"].set_value("採用区分").run()
    by_label = {s.label: s for s in at.selectbox}
    by_label["携帯電話番号 (mobile)"].set_value("携帯TEL").run()
    by_label = {s.label: s for s in at.selectbox}
    by_label["電話番号1 (phone1)"].set_value("TEL").run()
    assert "{{氏名}}" in at.error[0].value  # the default body's tag needs the name column
    by_label = {s.label: s for s in at.selectbox}
    by_label["氏名 (name)"].set_value("お名前").run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["名簿の行数"] == "3"
    # 新卒 on a mobile; 中途 on 電話番号1 only if it is a mobile (R3/R4): 080 yes, 03 no.
    assert shown["送信先"] == "2"
