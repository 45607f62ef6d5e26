"""Edit a scheduled send, pause/resume, yen, own-number test sends, Excel downloads (issue 16).

On SQLite and PostgreSQL. Rules: R9 (re-costed per recipient), R13 (Japan time), R17
(the month a send goes out in), R18/R19 (released and re-reserved in one transaction,
refused with the shortfall leaving everything as it was).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sms_core import clock
from sms_core.errors import AccessError, InputError, QuotaError, StateError, TemplateError
from sms_core.rules.schedule import JST
from sms_core.sending import quota
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, Campaign, Message, User
from sms_core.store.users import add_user
from tests.integration.ops_helpers import NOON, as_role, confirm, contract, settle

LATER = datetime(2026, 12, 3, 10, 0, tzinfo=JST)


@pytest.fixture(autouse=True)
def noon():
    with clock.frozen(NOON):
        yield


def _messages(engine, campaign_id):
    with transaction(engine) as s:
        return s.execute(
            select(
                Message.recipient_row,
                Message.part_index,
                Message.body,
                Message.units,
                Message.next_attempt_at,
            )
            .where(Message.campaign_id == campaign_id)
            .order_by(Message.recipient_row, Message.part_index)
        ).all()


def _month_ledger(engine, month):
    with transaction(engine) as s:
        return quota.remaining(s, month)


def test_edit_time_name_and_body_re_costs_per_recipient_r9_r13(engine):
    contract(engine)
    info = confirm(engine, "{{氏名}}様 説明会", "09011110001", "09011110002", send_at=LATER)
    svc = as_role(engine, "operator")
    body = "{{氏名}}様（{{応募者ID}}）" + "あ" * 70  # 2 units each now
    edited = svc.reschedule(
        info.id, send_at=datetime(2026, 12, 4, 9, 30, tzinfo=JST), name="変更後", body=body
    )
    assert (edited.name, edited.units, edited.messages) == ("変更後", 4, 2)
    rows = _messages(engine, info.id)
    assert rows[0].body.startswith("候補者1様（C1）") and rows[1].body.startswith("候補者2様（C2）")
    assert {r.next_attempt_at for r in rows} == {datetime(2026, 12, 4, 0, 30, tzinfo=UTC)}
    assert _month_ledger(engine, quota.current_month()).reserved == 4
    with transaction(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.edit")).one()
    assert event.details["old"]["send_at"] == "2026-12-03 10:00"
    assert event.details["new"]["units"] == 4


def test_edit_moves_the_units_to_the_month_it_now_goes_out_in_r17(engine):
    contract(engine)
    info = confirm(engine, "説明会", "09011110001", send_at=LATER)
    december = quota.current_month()
    january = quota.add_months(december, 1)
    as_role(engine, "operator").reschedule(info.id, send_at=datetime(2027, 1, 5, 10, 0, tzinfo=JST))
    assert _month_ledger(engine, december).reserved == 0
    assert _month_ledger(engine, january).reserved == 1


def test_an_edit_over_the_quota_is_refused_and_changes_nothing_r18(engine):
    contract(engine, units=3)
    info = confirm(engine, "説明会", "09011110001", "09011110002", send_at=LATER)
    before = _messages(engine, info.id)
    svc = as_role(engine, "operator")
    with pytest.raises(QuotaError, match="1 short") as refused:
        svc.reschedule(info.id, name="長文", body="あ" * 100)  # 2 × 2 units > 3
    assert refused.value.shortfall == 1
    assert _messages(engine, info.id) == before
    with transaction(engine) as s:
        campaign = s.get(Campaign, info.id)
        assert (campaign.name, campaign.units_reserved) == ("説明会のご案内", 2)
    assert _month_ledger(engine, quota.current_month()).reserved == 2


def test_body_edits_fill_only_stored_tags_and_keep_out_url_tags(engine):
    contract(engine)
    info = confirm(engine, "説明会", "09011110001", send_at=LATER)
    svc = as_role(engine, "operator")
    with pytest.raises(TemplateError, match="available"):
        svc.reschedule(info.id, body="{{面接日時}}に来てください")
    with pytest.raises(TemplateError, match="URL"):
        svc.reschedule(info.id, body="{{url:https://example.jp}}")


def test_a_started_send_cannot_be_edited_and_analysts_cannot_edit(engine):
    contract(engine)
    info = confirm(engine, "説明会", "09011110001", send_at=LATER)
    with pytest.raises(AccessError):
        as_role(engine, "analyst").reschedule(info.id, name="x")
    settle(engine, info.id, {0: "accepted"}, state="sending")
    with pytest.raises(StateError, match="only a scheduled send"):
        as_role(engine, "operator").reschedule(info.id, name="x")


def test_pause_and_resume_are_for_operators(engine):
    contract(engine)
    info = confirm(engine, "説明会", "09011110001", send_at=LATER)
    with pytest.raises(AccessError):
        as_role(engine, "analyst").pause(info.id)
    svc = as_role(engine, "operator")
    assert svc.pause(info.id).state == "paused"
    assert svc.resume(info.id).state == "scheduled"
    with pytest.raises(StateError):
        svc.resume(info.id)


def test_cost_and_this_months_spend_in_yen(engine):
    contract(engine)
    svc = as_role(engine, "admin")
    assert svc.unit_price_yen() == Decimal(0)
    svc.set_unit_price_yen("7.5")
    assert svc.cost_yen(3) == Decimal("22.50")
    confirm(engine, "あ" * 80, "09011110001")  # 2 units reserved
    with transaction(engine) as s:
        quota.commit_units(s, quota.current_month(), 1)
    spend = as_role(engine, "analyst").month_spend()
    assert (spend.used_yen, spend.reserved_yen) == (Decimal("7.50"), Decimal("7.50"))
    with pytest.raises(AccessError):
        as_role(engine, "operator").set_unit_price_yen("8")
    with pytest.raises(InputError):
        svc.set_unit_price_yen("-1")


def test_operators_test_send_only_to_their_own_number(engine):
    contract(engine)
    with transaction(engine) as s:
        add_user(s, "test-operator", "operator", actor="test")
    operator = as_role(engine, "operator")
    with pytest.raises(InputError, match="own mobile number"):
        operator.test_send_own("テスト", key="t1")
    with pytest.raises(AccessError):
        operator.test_send("090-1111-0009", "テスト", key="t0", actor="x")  # any number: admins
    with pytest.raises(InputError, match="not a Japanese mobile"):
        operator.set_my_phone("03-1234-5678")
    assert operator.set_my_phone("090-2222-3333") == "09022223333"
    info = operator.test_send_own("テスト", key="t1")
    with transaction(engine) as s:
        phones = s.scalars(select(Message.phone).where(Message.campaign_id == info.id)).all()
        assert s.scalars(select(User.phone)).one() == "09022223333"
    assert phones == ["09022223333"]
    with pytest.raises(AccessError):
        as_role(engine, "analyst").set_my_phone("090-2222-3333")


def test_history_excel_download_neutralises_formulas_with_japanese_headers(engine):
    contract(engine)
    info = confirm(engine, "{{氏名}}様", "09011110001", "09011110002", ids=("=1+1", "C2"))
    data = as_role(engine, "analyst").export_messages_xlsx(info.id)
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.values)
    assert "応募者ID" in rows[0] and "電話番号" in rows[0]
    column = rows[0].index("応募者ID")
    assert rows[1][column] == "'=1+1"
    assert rows[1][rows[0].index("電話番号")] == "*******0001"  # masked as the CSV
    cell = sheet.cell(row=2, column=column + 1)
    assert cell.data_type == "s"  # text, never a formula


def test_erasing_a_number_also_clears_it_as_a_users_own_number(engine):
    """Issue 16 stores users' own numbers: erasure (issue 4) reaches them too."""
    with transaction(engine) as s:
        add_user(s, "test-operator", "operator", actor="test")
    as_role(engine, "operator").set_my_phone("090-2222-3333")
    as_role(engine, "admin").erase_phone("090-2222-3333")
    with transaction(engine) as s:
        assert s.scalars(select(User.phone)).one() is None
