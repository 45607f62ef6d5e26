"""Templates & drafts (R12): save a template with its cost shown, promote a draft."""

from __future__ import annotations


def test_save_a_template_and_see_its_cost(with_contract, run_app):
    at = run_app("templates")
    assert not at.exception
    at.text_input[0].set_value("面接リマインド")
    at.text_area[0].set_value("{{氏名}}様\n" + "あ" * 70)
    next(b for b in at.button if b.label == "保存").click().run()
    assert not at.exception
    saved = {t.name: t.body for t in with_contract.templates()}
    assert saved == {"面接リマインド": "{{氏名}}様\n" + "あ" * 70}
    table = at.dataframe[0].value
    assert table["文字数（タグ除く）"].tolist() == [72] and table["合計通数"].tolist() == [2]


def test_a_draft_becomes_a_template(with_contract, run_app):
    with_contract.save_draft("説明会案内（下書き）", "説明会のご案内です。")
    at = run_app("templates")
    next(b for b in at.button if b.label == "テンプレートにする").click().run()
    assert not at.exception
    assert [t.name for t in with_contract.templates()] == ["説明会案内（下書き）"]
    assert with_contract.drafts() == []
