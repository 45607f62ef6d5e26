"""R16: without a contract only Settings is shown; setting one up reveals the SMS pages."""

from __future__ import annotations


def test_r16_without_a_contract_only_settings(database, run_app):
    at = run_app()
    assert not at.exception
    assert at.title[0].value == "設定（SMS連携）"
    assert any("契約が必要" in i.value for i in at.info)


def test_r16_setting_up_a_contract_shows_the_sms_pages(database, run_app):
    at = run_app()
    assert at.number_input[1].min == 3  # the form cannot even ask for less (R16)
    at.number_input[0].set_value(2000)
    at.number_input[1].set_value(6)
    at.button[0].click().run()
    assert not at.exception
    contract = database.contract()
    assert contract is not None and contract.monthly_units == 2000 and contract.months == 6
    at = run_app()
    assert at.title[0].value == "概要"


def test_settings_offers_the_contracts_own_start_month(database, run_app):
    from sms_core.sending.quota import add_months, current_month

    start = add_months(current_month(), -5)
    database.set_contract(1000, start, 12, "shared", None, actor="test")
    at = run_app("settings")
    assert not at.exception
    # Saving the form unchanged keeps the contract.
    assert at.selectbox(key="contract_start").value == start


def test_settings_lists_optouts_by_last_4_digits_and_removes_one(with_contract, run_app):
    """Issue 13: the list holds keyed hashes; it shows the last 4 digits, removes by pick."""
    with_contract.add_optout("090-1234-5678", "asked", actor="test")
    with_contract.add_optout("080-2222-3333", None, actor="test")
    at = run_app("settings")
    assert not at.exception
    shown = at.dataframe[0].value.to_string()
    assert "*******5678" in shown and "09012345678" not in shown
    remove = next(s for s in at.selectbox if s.label == "削除する番号")
    gone = next(e for e in with_contract.optouts() if e.phone_tail == "5678")
    remove.select(gone.phone_hash)
    next(b for b in at.button if b.label == "削除").click().run()
    assert not at.exception
    assert [e.phone_tail for e in with_contract.optouts()] == ["3333"]
