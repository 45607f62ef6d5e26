"""Issue 16's page parts with AppTest: candidate lookup, pause/resume, resend, edit a
scheduled send, Excel download, yen on Overview and Settings, own-number test sends."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message
from sms_core.store.users import add_user

ROOT = Path(__file__).resolve().parents[2]


def roster(*phones: str) -> bytes:
    lines = "".join(f"C{i},候補者{i},新卒,{p}\n" for i, p in enumerate(phones, start=1))
    return ("応募者ID,氏名,区分,携帯電話番号\n" + lines).encode()


def scheduled(svc, *phones: str, key: str = "k", later: bool = True):
    """A campaign to ``phones``, drafted and confirmed through the one send use case."""
    draft = svc.draft_send(
        roster(*phones),
        "r.csv",
        body="{{氏名}}様 説明会のご案内です。",
        name="説明会",
        key=key,
        send_at=svc.now() + timedelta(days=1) if later else None,
    )
    return svc.confirm_send(draft, actor="test")


def finish(svc, campaign_id: int, states: dict[int, str]) -> None:
    with transaction(svc.database_engine()) as s:
        for row, state in states.items():
            s.execute(
                update(Message)
                .where(Message.campaign_id == campaign_id, Message.recipient_row == row)
                .values(state=state)
            )
        s.execute(update(Campaign).where(Campaign.id == campaign_id).values(state="finished"))


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_an_analyst_looks_a_candidate_up_by_phone_and_sees_it_masked(with_contract, run_app):
    info = scheduled(with_contract, "09011112222")
    at = run_app("lookup", role="analyst")
    assert not at.exception
    at.radio[0].set_value("phone")
    at.text_input(key="lookup_query").input("090-1111-2222")
    at.button[-1].click().run()  # the form's submit
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["送信ID"]) == [info.id]
    assert list(table["電話番号"]) == ["*******2222"]
    assert list(table["状態"]) == ["送信待ち"]


def test_lookup_and_history_edit_say_what_is_wrong_in_japanese(with_contract, run_app):
    """Both showed the error's English text; they show its Japanese text now."""
    info = scheduled(with_contract, "09011112222")
    at = run_app("lookup", role="analyst")
    at.radio[0].set_value("phone")
    at.text_input(key="lookup_query").input("山田")
    at.button[-1].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["「山田」は検索できる電話番号ではありません。"]
    at = run_app("history", role="operator")
    next(x for x in at.text_input if x.label == "送信名").input(" ")
    button(at, "変更を保存").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "送信名を入力してください（送信履歴で探すときに使います）。"
    ]
    assert with_contract.editable_send(info.id).name == "説明会"


def test_history_pauses_resumes_and_edits_a_scheduled_send(with_contract, run_app):
    info = scheduled(with_contract, "09011112222")
    at = run_app("history", role="operator")
    assert not at.exception
    button(at, f"送信 #{info.id} を一時停止").click().run()
    assert with_contract.progress(info.id).state == "paused"
    button(at, f"送信 #{info.id} を再開").click().run()
    assert with_contract.progress(info.id).state == "scheduled"
    at = run_app("history", role="operator")
    name = next(x for x in at.text_input if x.label == "送信名")
    name.input("説明会（日程変更）")
    button(at, "変更を保存").click().run()
    assert not at.exception, at.exception
    assert with_contract.editable_send(info.id).name == "説明会（日程変更）"


def test_history_resends_to_the_failed_recipients(with_contract, run_app):
    info = scheduled(with_contract, "09011112222", "08011113333")
    finish(with_contract, info.id, {0: "delivered", 1: "failed"})
    at = run_app("history", role="operator")
    assert not at.exception
    button(at, "再送する").click().run()
    assert not at.exception
    with transaction(with_contract.database_engine()) as s:
        resend = s.scalars(select(Campaign).where(Campaign.resend_of == info.id)).one()
        phones = s.scalars(select(Message.phone).where(Message.campaign_id == resend.id)).all()
    assert phones == ["08011113333"]
    assert any(f"再送 #{resend.id}" in s.value for s in at.success)


def test_history_offers_excel_beside_csv_and_analysts_get_no_action_buttons(with_contract, run_app):
    info = scheduled(with_contract, "09011112222")
    at = run_app("history", role="analyst")
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CSVでエクスポート", "Excelでエクスポート"]
    assert not any(f"#{info.id}" in b.label for b in at.button)


def test_overview_and_settings_show_yen(with_contract, run_app):
    with_contract.set_unit_price_yen("8")
    scheduled(with_contract, "09011112222", later=False)  # 1 unit reserved this month
    at = run_app()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["予約分の金額"] == "8円"
    at = run_app("settings", role="operator")
    assert not at.exception
    assert any("8" in m.value for m in at.markdown if "円" in m.value)


def test_overview_says_when_no_unit_price_is_set(with_contract, run_app):
    """0円 alone reads as "free": until an admin sets a price, Overview says why."""
    unset = "単価が未設定"
    at = run_app()
    assert not at.exception
    assert any(unset in c.value for c in at.caption)
    with_contract.set_unit_price_yen("8")
    at = run_app()
    assert not any(unset in c.value for c in at.caption)


def test_an_operator_saves_their_number_and_test_sends_to_it(with_contract, run_app):
    with transaction(with_contract.database_engine()) as s:
        add_user(s, "test-operator", "operator", actor="test")
    at = run_app("settings", role="operator")
    assert not at.exception
    next(x for x in at.text_input if x.label == "自分の携帯電話番号").input("090-2222-3333")
    button(at, "番号を保存").click().run()
    assert not at.exception
    button(at, "テスト送信する").click().run()
    assert not at.exception, at.exception
    with transaction(with_contract.database_engine()) as s:
        phones = s.scalars(select(Message.phone)).all()
    assert phones == ["09022223333"]


def test_new_send_shows_the_cost_in_yen_and_offers_the_preview_as_excel(with_contract, run_app):
    with_contract.set_unit_price_yen("8")
    at = run_app("new_send")
    roster = ROOT / "data" / "roster_sample_cp932.csv"
    at.file_uploader[0].set_value((roster.name, roster.read_bytes(), "text/csv")).run()
    assert not at.exception
    units = int(next(m.value for m in at.metric if m.label == "合計通数").replace(",", ""))
    assert any(f"費用（概算）: {units * 8:,}円" in c.value for c in at.caption)
    labels = [b.label for b in at.get("download_button")]
    assert "プレビューをExcelでダウンロード" in labels
    next(b for b in at.button if b.label == "内容を確認して送信").click().run()
    assert any(f"{units * 8:,}円" in m.value for m in at.markdown)


def test_history_says_why_a_held_send_waits(with_contract, run_app):
    """Issue 12's hold at hand-over, in words: the reason and that it resumes by itself."""
    info = scheduled(with_contract, "09011112222")
    reasons = {
        "no_contract": "契約がありません",
        "quota": "上限に残りを送る空きがありません",
        "new_month": "新しい月の上限へ移しています",
    }
    for reason, words in reasons.items():
        with transaction(with_contract.database_engine()) as s:
            s.execute(
                update(Campaign)
                .where(Campaign.id == info.id)
                .values(state="held", hold_reason=reason)
            )
        at = run_app("history", role="analyst")
        assert not at.exception
        shown = [w.value for w in at.warning]
        assert any(f"送信 #{info.id} は保留中です" in w and words in w for w in shown), shown
    assert with_contract.hold_reason(info.id) == "new_month"
    with transaction(with_contract.database_engine()) as s:
        s.execute(update(Campaign).where(Campaign.id == info.id).values(state="scheduled"))
    assert with_contract.hold_reason(info.id) is None


def test_an_empty_opt_out_list_says_what_is_empty(with_contract, run_app):
    at = run_app("settings", role="operator")
    assert not at.exception
    assert any(c.value == "配信停止に登録された番号はありません。" for c in at.caption)
