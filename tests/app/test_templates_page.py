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


def test_r12_saving_a_draft_updates_it_instead_of_making_a_new_one(with_contract, run_app):
    draft_id = with_contract.save_draft("案内（下書き）", "最初の文面")
    at = run_app("templates")
    at.text_area(key=f"draft:{draft_id}").set_value("直した文面").run()
    at.button(key=f"save:{draft_id}").click().run()
    assert not at.exception
    drafts = with_contract.drafts()
    assert [(d.id, d.title, d.body) for d in drafts] == [(draft_id, "案内（下書き）", "直した文面")]


def test_r12_a_draft_never_overwrites_a_template_unless_asked(with_contract, run_app):
    with_contract.save_template("説明会案内", "元のテンプレート", actor="test")
    draft_id = with_contract.save_draft("説明会案内", "下書きの文面")
    at = run_app("templates")
    at.button(key=f"promote:{draft_id}").click().run()
    assert not at.exception
    # Refused: the template is unchanged, the draft is kept, and the page asks.
    assert {t.name: t.body for t in with_contract.templates()} == {"説明会案内": "元のテンプレート"}
    assert [d.id for d in with_contract.drafts()] == [draft_id]
    assert any("すでにあります" in w.value for w in at.warning)
    at.button(key=f"keep:{draft_id}").click().run()
    assert {t.name: t.body for t in with_contract.templates()} == {"説明会案内": "元のテンプレート"}
    # Asked again, and this time the person chooses to overwrite.
    at.button(key=f"promote:{draft_id}").click().run()
    at.button(key=f"overwrite:{draft_id}").click().run()
    assert not at.exception
    assert {t.name: t.body for t in with_contract.templates()} == {"説明会案内": "下書きの文面"}
    assert with_contract.drafts() == []
