"""Team-wide settings, the test send, and a worker process that follows a provider switch
(issue 6), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from sms_core.errors import ConfigError, InputError, QuotaError
from sms_core.providers.sandbox import SandboxProvider
from sms_core.rules.schedule import JST
from sms_core.sending.dispatch import DispatchConfig
from sms_core.sending.quota import current_month
from sms_core.sending.workers import ProviderWorkers
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, Campaign, Message
from tests.integration.fakes.karaden_server import KaradenServer

ROSTER = "区分,携帯電話番号\n新卒,090-1111-2222\n新卒,080-3333-4444\n".encode()
# The settings of issue 6; issue 16 added unit_price_yen and the notification settings.
ISSUE_6_KEYS = ("provider", "quiet_hours", "short_url_base")
PLANTED = "kd-PLANTED-settings-secret-91c2"


@pytest.fixture
def svc(engine, monkeypatch, tmp_path) -> SmsService:
    for name in ("SMS_PROVIDER", "SMS_SHORT_URL_BASE"):
        monkeypatch.delenv(name, raising=False)
    # Sends at any hour the suite runs; a test of the defaults removes it.
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_SANDBOX_DELIVERY_DELAY", "0")
    for name in ("TOKEN", "TENANT_ID", "SERVICE_ID", "BASE_URL"):
        monkeypatch.delenv(f"SMS_KARADEN_{name}", raising=False)
    service = SmsService(engine)
    service.set_contract(100, current_month(), 3, "shared", None, actor="test")
    return service


def audited(engine, action: str) -> list[dict]:
    with transaction(engine) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [{"actor": e.actor, **e.details} for e in events]


def test_a_stored_setting_wins_over_the_environment_and_reset_returns_to_it(svc, monkeypatch):
    monkeypatch.delenv("SMS_QUIET_HOURS")
    assert {k: (s.value, s.source) for k, s in svc.settings().items() if k in ISSUE_6_KEYS} == {
        "provider": ("sandbox", "default"),
        "quiet_hours": ("21:00-08:00", "default"),
        "short_url_base": ("http://localhost:8600/s/", "default"),
    }
    monkeypatch.setenv("SMS_QUIET_HOURS", "22:00-07:00")
    assert svc.settings()["quiet_hours"].source == "environment"
    assert svc.quiet_hours().label() == "22:00–07:00"

    stored = svc.set_setting("quiet_hours", " 23:30-6:00 ", actor="admin")
    assert (stored.value, stored.source, stored.updated_by) == ("23:30-06:00", "database", "admin")
    assert svc.quiet_hours().label() == "23:30–06:00"
    svc.set_setting("short_url_base", "https://s.example.jp/r", actor="admin")
    assert svc.short_url_base() == "https://s.example.jp/r/"
    assert audited(svc.database_engine(), "settings.change") == [
        {"actor": "admin", "key": "quiet_hours", "old": "22:00-07:00", "new": "23:30-06:00"},
        {
            "actor": "admin",
            "key": "short_url_base",
            "old": "http://localhost:8600/s/",
            "new": "https://s.example.jp/r/",
        },
    ]
    assert svc.reset_setting("quiet_hours", actor="admin")
    assert not svc.reset_setting("quiet_hours", actor="admin")  # nothing stored any more
    assert svc.settings()["quiet_hours"].value == "22:00-07:00"


def test_bad_values_are_refused_and_nothing_is_stored(svc):
    with pytest.raises(ConfigError, match="quiet hours must look like"):
        svc.set_setting("quiet_hours", "9pm-8am", actor="admin")
    with pytest.raises(ConfigError, match="http"):
        svc.set_setting("short_url_base", "s.example.jp/r", actor="admin")
    with pytest.raises(InputError, match="unknown SMS provider"):
        svc.set_setting("provider", "docomo", actor="admin")
    with pytest.raises(InputError, match="not a setting"):
        svc.set_setting("sender", "x", actor="admin")
    # A provider without its credentials here: the missing ones are named, never a value.
    with pytest.raises(ConfigError) as refused:
        svc.set_setting("provider", "karaden", actor="admin")
    assert "SMS_KARADEN_TOKEN" in str(refused.value)
    assert {k: s.source for k, s in svc.settings().items() if k in ISSUE_6_KEYS} == {
        "provider": "default",
        "quiet_hours": "environment",  # the fixture's
        "short_url_base": "default",
    }
    assert audited(svc.database_engine(), "settings.change") == []


def test_sends_use_the_stored_quiet_hours_and_short_url_base(svc):
    svc.set_setting("quiet_hours", "00:00-23:59", actor="admin")  # quiet nearly all day
    svc.set_setting("short_url_base", "https://s.example.jp/", actor="admin")
    body = "詳細 {{url:https://recruit.example.co.jp/events}}"
    tomorrow = svc.now().astimezone(JST) + timedelta(days=1)
    at_noon = tomorrow.replace(hour=12, minute=0, second=0, microsecond=0)
    # The use case loads the short URL base and the quiet hours itself.
    draft = svc.draft_send(ROSTER, "r.csv", body=body, name="昼", key="k1", send_at=at_noon)
    assert draft.preview.url_base == "https://s.example.jp/"
    assert draft.blocked == "quiet_refused"
    with pytest.raises(InputError, match="quiet hours"):
        svc.confirm_send(draft, actor="op")
    svc.reset_setting("quiet_hours", actor="admin")
    info = svc.confirm_send(draft, actor="op")  # confirming reads the quiet hours again
    with transaction(svc.database_engine()) as s:
        bodies = s.scalars(select(Message.body).where(Message.campaign_id == info.id)).all()
    assert len(bodies) == 2 and all("https://s.example.jp/" in b for b in bodies)


def test_a_test_send_is_a_campaign_of_one_sent_by_the_worker(svc):
    before = svc.quota().remaining
    info = svc.test_send("090-1234-5678", "{{氏名}}様 テストです", key="t1", actor="admin")
    again = svc.test_send("090-1234-5678", "{{氏名}}様 テストです", key="t1", actor="admin")
    assert again.id == info.id and not again.created  # a double click sends once
    assert (info.recipients, info.units) == (1, 1)
    assert svc.quota().remaining == before - 1
    with pytest.raises(InputError, match="cannot receive a test send"):
        svc.test_send("03-1234-5678", "テスト", key="t2", actor="admin")  # a landline (R3)
    # Another number: one opted out after its send was confirmed is withheld at hand-over
    # (issue 12, tests/integration/test_handover.py), and this test send must go out.
    svc.add_optout("090-1234-0000", "test", actor="admin")
    with pytest.raises(InputError, match="opted_out"):
        svc.test_send("090-1234-0000", "テスト", key="t3", actor="admin")
    svc.set_contract(1, current_month(), 3, "shared", None, actor="test")
    with pytest.raises(QuotaError):
        svc.test_send("080-1111-2222", "テスト", key="t4", actor="admin")

    config = DispatchConfig(status_poll_after=0, idle_sleep=0.01)
    workers = ProviderWorkers(svc.database_engine(), config)
    try:
        deadline = time.monotonic() + 30
        while svc.progress(info.id).state != "finished" and time.monotonic() < deadline:
            workers.run_once()
    finally:
        workers.close()
    assert svc.progress(info.id).counts in ({"accepted": 1}, {"delivered": 1})
    with transaction(svc.database_engine()) as s:
        sent = s.scalars(select(Message).where(Message.campaign_id == info.id)).one()
        assert sent.phone == "09012345678" and sent.body == "テスト様 テストです"
        assert s.get(Campaign, info.id).name == "テスト送信 ****5678"


def test_a_running_worker_follows_a_provider_switch(svc, monkeypatch, tmp_path, caplog):
    """Campaigns keep the provider they were confirmed with: after the switch, the old
    one's messages still go out through it and the new one's through the new provider."""
    with KaradenServer(token=PLANTED, delivery_delay=0) as karaden:
        monkeypatch.setenv("SMS_KARADEN_TOKEN", PLANTED)
        monkeypatch.setenv("SMS_KARADEN_TENANT_ID", karaden.tenant_id)
        monkeypatch.setenv("SMS_KARADEN_SERVICE_ID", "1")
        monkeypatch.setenv("SMS_KARADEN_BASE_URL", karaden.base_url)
        body = "面接のご案内です"
        first = svc.confirm_send(
            svc.draft_send(ROSTER, "r.csv", body=body, name="before", key="a"), actor="op"
        )
        workers = ProviderWorkers(
            svc.database_engine(), DispatchConfig(idle_sleep=0.01), refresh_interval=0
        )
        try:
            workers.refresh()
            assert set(workers.workers) == {"sandbox"}
            svc.set_setting("provider", "karaden", actor="admin")
            assert svc.provider_name == "karaden"
            second = svc.confirm_send(
                svc.draft_send(ROSTER, "r.csv", body=body, name="after", key="b"), actor="op"
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and {
                svc.progress(first.id).state,
                svc.progress(second.id).state,
            } != {"finished"}:
                workers.run_once()
            assert set(workers.workers) == {"sandbox", "karaden"}
        finally:
            workers.close()
        assert svc.progress(first.id).state == svc.progress(second.id).state == "finished"
        with transaction(svc.database_engine()) as s:
            refs = {
                cid: sorted(s.scalars(select(Message.client_ref).where(Message.campaign_id == cid)))
                for cid in (first.id, second.id)
            }
            providers = dict(s.execute(select(Campaign.id, Campaign.provider)).all())
        assert providers == {first.id: "sandbox", second.id: "karaden"}
        outbox = SandboxProvider(tmp_path / "outbox.db").outbox()
        assert sorted(e.client_ref for e in outbox) == refs[first.id]
        assert karaden.stats()["messages"] == 2 and karaden.stats()["duplicates"] == []
        assert PLANTED not in caplog.text + json.dumps(svc.settings(), default=str)
