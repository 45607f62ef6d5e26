"""Issue 4: a planted provider secret never reaches logs, the database, pages or exports.

The product is configured with a Karaden token and a Twilio auth token that are unique
strings; the imitation Karaden server quotes the Authorization header back in its error
(as some real APIs do). A send goes out through the worker and fails on it; then every
log line, every text the database holds, the dashboard's pages and both CSV exports are
searched for either secret.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from streamlit.testing.v1 import AppTest

from sms_core.roles import Principal
from sms_core.sending.dispatch import DispatchConfig
from sms_core.sending.quota import current_month
from sms_core.sending.workers import ProviderWorkers
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Message
from tests.integration.test_provider_karaden import EchoingKaraden
from ui import USER_KEY

ROOT = Path(__file__).resolve().parents[2]
KARADEN_TOKEN = "kd-PLANTED-product-secret-4c1d"
TWILIO_TOKEN = "tw-PLANTED-product-secret-9e2a"
ROSTER = "区分,氏名,携帯電話番号\n新卒,佐藤,090-1111-2222\n新卒,鈴木,080-3333-4444\n".encode()


def page_texts(page: str) -> str:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state[USER_KEY] = Principal("auditor", "admin")
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, page
    parts = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "text", "code"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [e.value.to_csv() for e in at.dataframe]
    return "\n".join(parts)


def database_texts(engine) -> str:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(
            repr(row) for table in meta.sorted_tables for row in conn.execute(select(table))
        )


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_a_planted_secret_is_nowhere_to_be_found(database_url, monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SMS_DATABASE_URL", database_url)
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("SMS_TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("SMS_TWILIO_FROM", "+815012345678")
    with EchoingKaraden(token="the-server-expects-another", delivery_delay=0) as server:
        monkeypatch.setenv("SMS_KARADEN_TOKEN", KARADEN_TOKEN)
        monkeypatch.setenv("SMS_KARADEN_TENANT_ID", "echo")  # the server quotes the header
        monkeypatch.setenv("SMS_KARADEN_SERVICE_ID", "1")
        monkeypatch.setenv("SMS_KARADEN_BASE_URL", server.base_url)
        svc = SmsService.from_env()
        svc.set_contract(100, current_month(), 3, "shared", None, actor="setup")
        svc.set_setting("provider", "twilio", actor="setup")  # builds it: token read
        svc.set_setting("provider", "karaden", actor="setup")
        draft = svc.draft_send(ROSTER, "r.csv", body="面接のご案内", name="s", key="k")
        info = svc.confirm_send(draft, actor="setup")
        workers = ProviderWorkers(svc.database_engine(), DispatchConfig(idle_sleep=0.01))
        try:
            deadline = time.monotonic() + 30
            while svc.progress(info.id).state != "finished" and time.monotonic() < deadline:
                workers.run_once()
        finally:
            workers.close()
        assert svc.progress(info.id).counts == {"failed": 2}  # 401: refused for good

    texts = {
        "logs": caplog.text,
        "database": database_texts(svc.database_engine()),
        "messages export": svc.export_messages(info.id).decode("utf-8-sig"),
        "audit export": svc.audit_csv().decode("utf-8-sig"),
        **{page: page_texts(page) for page in ("history", "admin", "audit", "settings")},
    }
    # The error was seen (and stored redacted): the search below searched real text.
    with transaction(svc.database_engine()) as s:
        reasons = s.scalars(select(Message.error_message).where(Message.campaign_id == info.id))
        assert any("Bearer ***" in (r or "") for r in reasons)
    assert "Bearer ***" in texts["database"]
    for where, text in texts.items():
        assert KARADEN_TOKEN not in text, where
        assert TWILIO_TOKEN not in text, where
    svc.database_engine().dispose()
