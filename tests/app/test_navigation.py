"""R16: without a contract in force (none, or one that has ended) only Settings is
registered in the navigation; setting one up registers the SMS pages.

Registration is checked through AppTest.switch_page, which refuses a page the navigation
did not register: a page that is merely not the default would still be found."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sms_core import clock

SMS_PAGES = ("overview", "new_send", "history", "templates", "admin", "audit")


def registered(at, page: str) -> bool:
    """Whether the dashboard's navigation registered pages/<page>.py in this session."""
    try:
        at.switch_page(f"pages/{page}.py")
    except ValueError:  # "Could not find a navigation page …"
        return False
    return True


def only_settings(at) -> None:
    assert not at.exception
    assert registered(at, "settings")
    assert [p for p in SMS_PAGES if registered(at, p)] == []


@pytest.mark.parametrize("role", ["admin", "operator", "analyst"])
def test_r16_without_a_contract_only_settings(database, run_app, role):
    at = run_app(role=role)
    assert at.title[0].value == "設定（SMS連携）"
    assert any("契約が必要" in i.value for i in at.info)
    only_settings(at)


def test_r16_an_ended_contract_counts_as_none(database, run_app):
    """A 3-month contract from August 2026 ended with October: at 23:59 Japan time on 30
    November only Settings is registered, with the end month shown."""
    with clock.frozen(datetime(2026, 8, 1, tzinfo=UTC)):
        database.set_contract(1000, date(2026, 8, 1), 3, "shared", None, actor="test")
    with clock.frozen(datetime(2026, 11, 30, 14, 59, tzinfo=UTC)):
        at = run_app()
        only_settings(at)
        assert any("2026-10" in w.value for w in at.warning)


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
    assert [p for p in SMS_PAGES if registered(at, p)] == list(SMS_PAGES)
    analyst = run_app(role="analyst")
    shown = [p for p in SMS_PAGES if registered(analyst, p)]
    assert shown == ["overview", "history"]


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
