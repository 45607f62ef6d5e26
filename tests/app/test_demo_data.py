"""Issue 15: demo data is labelled as demo on every page, and an admin can clear it."""

from __future__ import annotations

import pytest

from sms_core.demo.showcase import seed_demo
from sms_core.errors import AccessError
from sms_core.roles import Principal


def test_demo_data_is_labelled_and_an_admin_clears_it(database, run_app):
    assert seed_demo(database.database_engine())
    at = run_app()  # the first page (AppTest keeps the sidebar of the first run only)
    assert not at.exception
    assert any("デモデータ" in w.value for w in at.sidebar.warning)

    at = run_app("admin")
    clear = next(b for b in at.button if b.label == "デモデータを削除")
    assert clear.disabled  # asks first
    next(c for c in at.checkbox if c.label.startswith("デモデータを削除")).check().run()
    next(b for b in at.button if b.label == "デモデータを削除").click().run()
    assert not at.exception
    assert any("削除しました" in s.value for s in at.success)
    assert not database.demo_present()

    at = run_app()  # the demo contract went too: only Settings is left
    assert not at.exception and at.title[0].value.startswith("設定")
    assert not any("デモデータ" in w.value for w in at.sidebar.warning)


def test_an_operator_sees_the_label_but_not_the_clear_button(database, run_app):
    seed_demo(database.database_engine())
    at = run_app(role="operator")
    assert any("デモデータ" in w.value for w in at.sidebar.warning)
    # Administration is not theirs: navigation leaves it out and the service refuses.
    with pytest.raises(AccessError):
        database.for_user(Principal("op", "operator")).clear_demo()
    assert database.demo_present()
