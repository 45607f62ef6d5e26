"""Erasure that leaves nothing (issue 13), on SQLite and PostgreSQL.

A number is previewed, sent (through the sandbox), clicked, receipted and opted out;
then erased. Every table of the database and of the sandbox outbox is dumped, and the
number is found in none of them, in any form (national, E.164, hyphenated, URL-encoded).
The opt-out list still honours it. Twilio's copy is deleted through its API.
"""

from __future__ import annotations

import json
import sqlite3
import time

from sqlalchemy import inspect, select, text, update

from sms_core.linkserver.clicks import follow
from sms_core.linkserver.receipts import ReceiptConfig, ReceiptHandler, ReceiptRequest
from sms_core.linkserver.signatures import shared_signature
from sms_core.providers.sandbox import SandboxProvider
from sms_core.providers.settings import Secret
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.sending.quota import current_month
from sms_core.sending.retention import Erasure, erase_at_providers, number_forms
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import Message, ShortLink

NUMBER = "09012345678"
OTHER = "08022223333"
FORMS = ("09012345678", "+819012345678", "090-1234-5678", "%2B819012345678", "819012345678")
SECRET = "sandbox-receipt-secret"
FAST = DispatchConfig(
    settle_delay=0,
    status_poll_after=0,
    backoff_base=0.01,
    backoff_cap=0.05,
    idle_sleep=0.01,
    batch_size=16,
)


def _roster() -> bytes:
    return (
        "応募者ID,氏名,区分,携帯電話番号,案内URL\n"
        "C1,山田,新卒,090-1234-5678,https://example.jp/e?tel=%2B819012345678&id=C1\n"
        "C2,佐藤,新卒,080-2222-3333,https://example.jp/e?id=C2\n"
    ).encode()


def _dump_database(engine) -> str:
    """Every row of every table, as text."""
    names = inspect(engine).get_table_names()
    assert {"message", "audit_event", "short_link", "click", "suppression"} <= set(names)
    out = []
    with engine.connect() as conn:
        for name in names:
            for row in conn.execute(text(f'SELECT * FROM "{name}"')):
                out.append(f"{name}: {tuple(row)!r}")
    return "\n".join(out)


def _dump_outbox(path) -> str:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            f"{t}: {row!r}" for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')
        )
    finally:
        conn.close()


def _draft(svc: SmsService, key: str):
    """The send drafted through the one use case (it loads the opt-out list itself)."""
    return svc.draft_send(
        _roster(), "r.csv", body="{{氏名}}様 説明会のご案内: {{案内URL}}", name="説明会", key=key
    )


def test_erasure_leaves_no_trace_of_a_previewed_sent_clicked_receipted_opted_out_number(
    engine, tmp_path, monkeypatch
):
    outbox = tmp_path / "outbox.db"
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(outbox))
    monkeypatch.setenv("SMS_PROVIDER", "sandbox")
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    svc = SmsService(engine)
    svc.set_contract(1000, current_month(), 3, "shared", None, actor="setup")

    # Previewed and sent.
    draft = _draft(svc, "erase-1")
    assert draft.recipients == 2
    svc.confirm_send(draft, actor="setup")
    sandbox = SandboxProvider(outbox, delivery_delay=0.0)
    worker = Worker(engine, sandbox, FAST)
    try:
        for _ in range(100):
            worker.run_once()
            with transaction(engine) as s:
                states = set(s.scalars(select(Message.state)))
            if states <= {"delivered", "failed"}:
                break
    finally:
        worker.close()
        sandbox.close()
    assert NUMBER in _dump_outbox(outbox)
    with transaction(engine) as s:
        target = s.scalars(select(Message).where(Message.phone == NUMBER)).one()
        provider_id, row = target.provider_id, target.recipient_row
        code = s.scalars(select(ShortLink.code).where(ShortLink.recipient_row == row)).one()
        # A provider's error text quoting the number, as Twilio's do.
        s.execute(
            update(Message)
            .where(Message.id == target.id)
            .values(error_message="The 'To' number +819012345678 is not reachable")
        )

    # Clicked and receipted.
    assert follow(engine, code, "Mozilla/5.0 (iPhone)") is not None
    body = json.dumps({"provider_id": provider_id, "state": "delivered"}).encode()
    stamp = str(int(time.time()))
    handler = ReceiptHandler(
        engine, ReceiptConfig({"sandbox": Secret(SECRET)}, max_age_seconds=300)
    )
    handler.handle(
        ReceiptRequest(
            provider="sandbox",
            url="http://127.0.0.1/receipts/sandbox",
            query="",
            headers={
                "x-sms-timestamp": stamp,
                "x-sms-signature": shared_signature(SECRET, stamp, body),
            },
            body=body,
        )
    )
    # Opted out, in another format.
    svc.add_optout("+81 90-1234-5678", "asked by phone", actor="setup")
    before = _dump_database(engine)
    assert any(form in before for form in FORMS), "the setup must hold the number first"

    erased = svc.erase_phone("090 1234 5678")
    assert erased.messages == 1 and erased.kept_on_optout_list
    assert erased.links == 1 and erased.clicks == 1 and erased.outbox_parts == 1

    dumped, outbox_dump = _dump_database(engine), _dump_outbox(outbox)
    for form in FORMS:
        assert form not in dumped, f"{form} left in the database"
        assert form not in outbox_dump, f"{form} left in the sandbox outbox"
    assert OTHER in dumped and OTHER in outbox_dump  # the other candidate is untouched
    # The erased number is still honoured, though the list no longer holds it.
    again = _draft(svc, "erase-2")
    reasons = again.frame()["reason"].tolist()
    assert reasons[0] == "opted_out" and reasons[1] == "ok"
    # The link that carried the number no longer redirects.
    assert follow(engine, code, "Mozilla/5.0") is None


def test_number_forms_cover_what_texts_and_urls_hold():
    assert set(FORMS) <= set(number_forms(NUMBER))


def test_twilio_copies_are_deleted_once_final(monkeypatch):
    """DELETE on the Message at the imitation Twilio: gone from what it stores."""
    import dispatch_helpers

    from sms_core.providers.base import Outbound
    from sms_core.providers.factory import get_provider
    from tests.integration.fakes.twilio_server import TwilioServer

    server = TwilioServer(
        account_sid=dispatch_helpers.TWILIO_SID,
        auth_token=dispatch_helpers.TWILIO_TOKEN,
        delivery_delay=0.0,
    ).start()
    try:
        for key, value in dispatch_helpers.twilio_env(server.url).items():
            monkeypatch.setenv(key, value)
        provider = get_provider("twilio")
        try:
            receipt = provider.send(Outbound(to=NUMBER, body="テスト", client_ref="erase-t1"))
        finally:
            provider.close()
        assert [m["to"] for m in server.stored()] == ["+819012345678"]
        left = erase_at_providers(
            Erasure("5678", 1, False, provider_copies=(("twilio", receipt.provider_id),))
        )
        assert left == [] and server.stored() == []
        # Deleting again (already gone) counts as done.
        assert (
            erase_at_providers(
                Erasure("5678", 1, False, provider_copies=(("twilio", receipt.provider_id),))
            )
            == []
        )
    finally:
        server.stop()


def test_erasure_needs_no_sandbox_outbox_file(engine, tmp_path, monkeypatch):
    """Erasing where nothing went through the sandbox creates no outbox file."""
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "never.db"))
    svc = SmsService(engine)
    assert svc.erase_phone(NUMBER).messages == 0
    assert not (tmp_path / "never.db").exists()
