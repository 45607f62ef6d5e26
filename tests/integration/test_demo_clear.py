"""Issue 15 on SQLite and PostgreSQL: demo data is labelled as demo, and clearing it removes
exactly what the seed made — never a team's own campaigns, templates or contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sms_core import clock
from sms_core.demo.showcase import seed_demo
from sms_core.errors import AccessError
from sms_core.roles import Principal
from sms_core.sending import quota
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message, QuotaMonth, Template
from tests.integration import warm_cli

NOW = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)  # 23:59 Japan time, a month's last day
ROOT = Path(__file__).resolve().parents[2]
ROSTER = "区分,氏名,携帯電話番号\n新卒,佐藤,090-1111-2222\n".encode()


def counts(engine):
    with transaction(engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Campaign)),
            s.scalar(select(func.count()).select_from(Message)),
            {t.name for t in s.scalars(select(Template))},
        )


def test_clearing_removes_the_demo_and_keeps_a_teams_own_data(engine, monkeypatch, tmp_path):
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    svc = SmsService(engine)
    with clock.frozen(NOW):
        assert seed_demo(engine, now=NOW)
        assert svc.demo_present()
        month = quota.jst_month(NOW)
        with transaction(engine) as s:
            demo_used = s.get(QuotaMonth, month).used
        # The team's own: a template, a send this month.
        svc.save_template("自社の案内", "{{氏名}}様 ご案内です。", actor="ops")
        svc.set_contract(800, month, 3, "shared", None, actor="ops")  # set after the demo
        own = svc.confirm_send(
            svc.draft_send(ROSTER, "r.csv", body="面接のご案内", name="自社", key="own-1"),
            actor="ops",
        )
        before_campaigns, before_messages, _ = counts(engine)

        with pytest.raises(AccessError):
            svc.for_user(Principal("ana", "analyst")).clear_demo()

        done = svc.clear_demo()
    campaigns, messages, templates = counts(engine)
    assert done.campaigns == before_campaigns - 1 and campaigns == 1
    assert messages == before_messages - done.messages == own.messages
    assert "自社の案内" in templates and done.templates == 3 and len(templates) == 1
    assert done.contract is False and svc.contract().monthly_units == 800
    assert not svc.demo_present()
    with transaction(engine) as s:
        ledger = s.get(QuotaMonth, month)
        assert ledger.used == 0 and ledger.reserved == own.units  # the demo's units left
        assert demo_used > 0


def test_a_demo_contract_goes_with_the_demo_and_the_cli_says_what_went(
    engine, database_url, tmp_path
):
    assert seed_demo(engine, now=NOW)
    env = {"SMS_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", "SMS_NOW": NOW.isoformat()}
    out = warm_cli.run(["demo", "clear", "--json"], env=env, cwd=ROOT, check=True).stdout
    done = json.loads(out)
    assert done["contract"] is True and done["campaigns"] >= 7 and done["templates"] == 3
    assert counts(engine)[:2] == (0, 0)
    assert SmsService(engine).contract() is None
