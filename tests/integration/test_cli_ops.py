"""Issue 16's commands as real subprocesses: lookup, resend, reschedule, spend, user-phone,
notify, and `settings set unit_price_yen` (both backends; the product clock set by SMS_NOW)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from sms_core.store.db import make_engine, transaction
from sms_core.store.models import Campaign, Message, User
from sms_core.store.users import add_user
from tests.integration import warm_cli
from tests.integration.fakes.webhook_server import WebhookServer
from tests.integration.ops_helpers import settle

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-12-02T10:00:00+09:00"


@pytest.fixture
def env(database_url, tmp_path) -> dict[str, str]:
    (tmp_path / "roster.csv").write_text(
        "応募者ID,氏名,区分,携帯電話番号\nA-1,山田,新卒,090-1111-0001\nA-2,佐藤,新卒,080-9999-0001\n",
        encoding="utf-8",
    )
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMS_")},
        "SMS_DATABASE_URL": database_url,
        "SMS_SANDBOX_PATH": str(tmp_path / "outbox.db"),
        "SMS_PROVIDER": "sandbox",
        "SMS_QUIET_HOURS": "00:00-00:00",
        "SMS_NOW": NOW,
        "ROSTER": str(tmp_path / "roster.csv"),
        "TMP": str(tmp_path),
    }


def run(env, *args: str) -> subprocess.CompletedProcess:
    return warm_cli.run(
        args,
        cwd=env["TMP"],  # no .streamlit/secrets.toml there
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def ok(env, *args: str):
    done = run(env, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def send(env, *extra: str) -> int:
    ok(env, "contract", "set", "--units", "100", "--start", "2026-12", "--months", "3")
    out = ok(env, "send", env["ROSTER"], "--body", "{{氏名}}様 説明会", "--json", *extra)
    return out["campaign"] if "campaign" in out else out["id"]


def test_lookup_resend_and_spend_from_the_command_line(env, database_url):
    campaign = send(env, "--key", "form-1")
    engine = make_engine(database_url)
    try:
        settle(engine, campaign, {0: "delivered", 1: "failed"})
        found = ok(env, "lookup", "--phone", "０８０－９９９９－０００１", "--json")
        assert [(r["candidate_id"], r["state"]) for r in found] == [("A-2", "failed")]
        assert ok(env, "lookup", "--candidate", "A-1", "--json")[0]["phone"] == "09011110001"
        dry = ok(env, "resend", str(campaign), "--dry-run", "--json")
        assert (dry["recipients"], dry["units"]) == (1, 1)
        first = ok(env, "resend", str(campaign), "--key", "r-1", "--json")
        again = ok(env, "resend", str(campaign), "--key", "r-1", "--json")
        assert first["campaign"] == again["campaign"] and not again["created"]
        with transaction(engine) as s:
            assert s.get(Campaign, first["campaign"]).resend_of == campaign
        refused = run(env, "resend", str(campaign), "--key", "r-2")
        assert refused.returncode == 2 and "no unreached recipient" in refused.stderr
        ok(env, "settings", "set", "unit_price_yen", "8")
        spend = ok(env, "spend", "--json")
        assert (spend["unit_price_yen"], spend["reserved_yen"]) == ("8", "24.00")  # 2 + 1
    finally:
        engine.dispose()


def test_reschedule_moves_a_scheduled_send_and_refuses_bad_input(env, database_url, tmp_path):
    campaign = send(env, "--at", "2026-12-05 10:00", "--key", "form-2")
    body = tmp_path / "body.txt"
    body.write_text("{{氏名}}様（{{応募者ID}}） 日程が変わりました", encoding="utf-8")
    out = ok(
        env,
        "reschedule",
        str(campaign),
        "--at",
        "2026-12-06 11:30",
        "--name",
        "変更",
        "--body-file",
        str(body),
        "--json",
    )
    assert (out["send_at"], out["name"]) == ("2026-12-06 11:30", "変更")
    engine = make_engine(database_url)
    try:
        with transaction(engine) as s:
            bodies = s.scalars(
                select(Message.body)
                .where(Message.campaign_id == campaign)
                .order_by(Message.recipient_row)
            ).all()
    finally:
        engine.dispose()
    assert bodies[0] == "山田様（A-1） 日程が変わりました"
    body.write_text("{{面接日時}}", encoding="utf-8")
    refused = run(env, "reschedule", str(campaign), "--body-file", str(body))
    assert refused.returncode == 2 and "available" in refused.stderr
    past = run(env, "reschedule", str(campaign), "--at", "2026-12-01 10:00")
    assert past.returncode == 2 and "already passed" in past.stderr


def test_user_phone_and_notify(env, database_url):
    engine = make_engine(database_url)
    try:
        with transaction(engine) as s:
            add_user(s, "sato", "operator", actor="test")
        out = ok(env, "user-phone", "sato", "090-2222-3333", "--json")
        assert out == {"user": "sato", "phone": "****3333"}
        with transaction(engine) as s:
            assert s.scalars(select(User.phone).where(User.name == "sato")).one() == "09022223333"
        assert run(env, "user-phone", "sato", "03-1234-5678").returncode == 2
        campaign = send(env, "--key", "form-3")
        settle(engine, campaign, {0: "delivered", 1: "delivered"})
        with transaction(engine) as s:
            s.get(Campaign, campaign).finished_at = s.get(Campaign, campaign).created_at
    finally:
        engine.dispose()
    assert "no webhook URL" in ok(env, "notify")
    with WebhookServer() as hook:
        posted = ok({**env, "SMS_NOTIFY_WEBHOOK_URL": hook.url}, "notify", "--json")
    assert [p["event"] for p in posted] == ["campaign_finished"]
    assert "全2件" in hook.posts[0]["text"]
