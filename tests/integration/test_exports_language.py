"""Issue 15: History's and the audit trail's CSV exports in the UI language, on SQLite
and PostgreSQL: catalogue headers and words (R3 codes stay in the stable export), Japan
times as ``2026/12/01 10:00`` that Excel reads as dates, UTF-8 with BOM, formulas still
neutralised."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from sms_core import clock
from sms_core.demo.showcase import seed_demo
from sms_core.roles import Principal
from sms_core.rules.export import BOM
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Message

# 12:00 on 10 December 2026 in Japan.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
JAPAN_TIME = r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}$"


def rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


@pytest.fixture
def history(engine):
    """The demo history as of NOW, one failed message's body a formula."""
    with clock.frozen(NOW):
        seed_demo(engine, now=NOW)
    svc = SmsService(engine).for_user(Principal("admin-1", "admin"))
    campaign = int(svc.campaign_page(50).query("failed > 0")["campaign_id"].iloc[0])
    with transaction(engine) as s:
        first = s.scalar(
            Message.__table__.select()
            .with_only_columns(Message.id)
            .where(Message.campaign_id == campaign, Message.state == "failed")
            .order_by(Message.id)
            .limit(1)
        )
        s.execute(update(Message).where(Message.id == first).values(body="=HYPERLINK(1)"))
    return svc, campaign


def test_the_japanese_message_export_has_words_and_japan_times(history):
    svc, campaign = history
    with clock.frozen(NOW):
        ja = rows(svc.export_messages(campaign, lang="ja"))
    assert {"状態", "区分", "失敗理由", "事業者の理由（原文）", "作成日時"} <= set(ja[0])
    assert not any("_" in header for header in ja[0])  # no campaign_id, recipient_row…
    assert {r["状態"] for r in ja} <= {"到達", "失敗"}
    assert {r["区分"] for r in ja} <= {"新卒", "中途"}
    failed = [r for r in ja if r["状態"] == "失敗"]
    assert {r["失敗理由"] for r in failed} <= {"宛先不明", "圏外・電源オフ", "受信拒否"}
    assert all(r["事業者の理由（原文）"] for r in failed)  # the provider's own text kept
    assert all(r["失敗理由"] == "" for r in ja if r["状態"] == "到達")  # empty, not None
    assert all(re.match(JAPAN_TIME, r["作成日時"]) for r in ja)
    assert all(r["到達日時"] == "" for r in failed)
    assert "'=HYPERLINK(1)" in {r["本文"] for r in ja}  # still neutralised


def test_the_english_export_speaks_english_and_the_stable_one_keeps_codes(history):
    svc, campaign = history
    with clock.frozen(NOW):
        en = rows(svc.export_messages(campaign, lang="en"))
        stable = rows(svc.export_messages(campaign))
    assert {"State", "Kind", "Failure reason"} <= set(en[0])
    assert {r["State"] for r in en} <= {"Delivered", "Failed"}
    assert {r["state"] for r in stable} <= {"delivered", "failed"}  # R3: codes in data
    assert len(en) == len(stable)


def test_the_audit_export_names_events_in_the_ui_language(history):
    svc, _ = history
    svc.save_template("面接案内", "面接のご案内です。", actor="admin-1")
    with clock.frozen(NOW):
        ja = rows(svc.audit_csv(lang="ja"))
        en = rows(svc.audit_csv(lang="en"))
        stable = rows(svc.audit_csv())
    assert list(ja[0]) == ["日時（日本時間）", "操作した人", "操作", "詳細"]
    assert all(re.match(JAPAN_TIME, r["日時（日本時間）"]) for r in ja)
    assert "テンプレートを保存" in {r["操作"] for r in ja}
    assert "名前: 面接案内" in {r["詳細"] for r in ja}
    assert "Template saved" in {r["Action"] for r in en}
    assert "template.save" in {r["action"] for r in stable}
