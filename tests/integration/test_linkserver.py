"""The link and receipt service (issue 3, R11, R15) over real HTTP, on both databases.

The real waitress server runs in a thread on 127.0.0.1 and an ephemeral port; every
request is a real ``requests`` call. Receipts are checked to change exactly what they
should and, when refused, nothing at all: messages, the quota ledger, clicks and the
table of seen receipts are compared before and after.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pandas as pd
import pytest
import requests
from sqlalchemy import func, select, update

from sms_core import reports
from sms_core.clock import now_utc
from sms_core.linkserver.receipts import ReceiptConfig
from sms_core.linkserver.server import start
from sms_core.linkserver.signatures import shared_signature, twilio_signature
from sms_core.providers.settings import Secret
from sms_core.rules.export import frame_csv_bytes
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Click, Message, QuotaMonth, ReceiptSeen, ShortLink

TWILIO_TOKEN = "tw-auth-token-planted-7f3a9c"
KARADEN_SECRET = "karaden-webhook-secret-planted-51b2"
SANDBOX_SECRET = "sandbox-webhook-secret-planted-c0de"
NO_QUIET = QuietHours.parse("00:00-00:00")
BODY = "{{氏名}}様 説明会の詳細: {{url:https://example.jp/event?id=1}}"


def config(public_base_url: str | None = None) -> ReceiptConfig:
    return ReceiptConfig(
        {
            "twilio": Secret(TWILIO_TOKEN),
            "karaden": Secret(KARADEN_SECRET),
            "sandbox": Secret(SANDBOX_SECRET),
        },
        public_base_url=public_base_url,
        max_age_seconds=300,
    )


@pytest.fixture
def server(engine):
    running = start(engine, config(), threads=8)
    yield running
    running.stop()


@pytest.fixture
def campaign(engine):
    """A confirmed campaign of two recipients, each with one short link; returns its id."""
    with transaction(engine) as s:
        set_contract(s, 1000, quota.current_month(), 3)
    roster = load_roster(
        "応募者ID,氏名,区分,携帯電話番号\nC1,山田,新卒,09011110001\nC2,佐藤,新卒,09011110002\n".encode()
    )
    p = preview(roster, BODY, short_url_base="http://localhost:8600/s/")
    info = confirm_campaign(
        engine,
        p,
        name="説明会",
        idempotency_key="k",
        actor="test",
        provider="sandbox",
        quiet=NO_QUIET,
    )
    return info.id


def links(engine) -> dict[int, str]:
    with transaction(engine) as s:
        return {
            row: code for code, row in s.execute(select(ShortLink.code, ShortLink.recipient_row))
        }


def message_ids(engine) -> list[int]:
    with transaction(engine) as s:
        return list(s.scalars(select(Message.id).order_by(Message.recipient_row)))


def snapshot(engine) -> dict:
    """Everything a receipt or click could change."""
    with transaction(engine) as s:
        messages = [
            tuple(r)
            for r in s.execute(
                select(
                    Message.id,
                    Message.state,
                    Message.provider,
                    Message.provider_id,
                    Message.error_code,
                    Message.error_message,
                    Message.accepted_at,
                    Message.delivered_at,
                    Message.failed_at,
                    Message.updated_at,
                ).order_by(Message.id)
            )
        ]
        ledger = [tuple(r) for r in s.execute(select(QuotaMonth.used, QuotaMonth.reserved))]
        seen = s.scalar(select(func.count()).select_from(ReceiptSeen))
        clicks = s.scalar(select(func.count()).select_from(Click))
    return {"messages": messages, "ledger": ledger, "seen": seen, "clicks": clicks}


def handed_over(engine, message_id: int, provider: str, state: str, provider_id: str | None):
    """Put a message where the worker would have left it (units moved as it moves them)."""
    with transaction(engine) as s:
        m = s.get(Message, message_id)
        m.provider = provider
        m.state = state
        m.provider_id = provider_id
        if state in ("accepted", "delivered"):
            m.accepted_at = now_utc()
            month = s.scalar(select(Campaign.quota_month).where(Campaign.id == m.campaign_id))
            quota.commit_units(s, month, m.units)
        if state == "delivered":
            m.delivered_at = now_utc()


def ledger(engine):
    with transaction(engine) as s:
        return quota.remaining(s, quota.current_month())


def post_shared(server, provider: str, document: dict, *, secret: str, at: int | None = None):
    raw = json.dumps(document).encode()
    stamp = str(int(now_utc().timestamp()) if at is None else at)
    return requests.post(
        f"{server.url}/receipts/{provider}",
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-SMS-Timestamp": stamp,
            "X-SMS-Signature": shared_signature(secret, stamp, raw),
        },
        timeout=10,
    )


def post_twilio(
    server,
    params: dict,
    *,
    client_ref: str | None = None,
    token=TWILIO_TOKEN,
    signed_url: str | None = None,
    signature: str | None = None,
    sign=True,
):
    query = f"?{urlencode({'client_ref': client_ref})}" if client_ref else ""
    url = f"{server.url}/receipts/twilio{query}"
    headers = {}
    if sign:
        headers["X-Twilio-Signature"] = signature or twilio_signature(
            token, signed_url or url, params.items()
        )
    return requests.post(url, data=params, headers=headers, timeout=10)


def karaden_message(provider_id: str, *, sent_result: str, tags=(), status="done", result="done"):
    return {
        "id": provider_id,
        "object": "message",
        "status": status,
        "result": result,
        "sent_result": sent_result,
        "tags": list(tags),
        "charged_count_per_sent": 1,
    }


# --- short links ---------------------------------------------------------------------


def test_r11_a_short_link_redirects_and_counts_one_click_per_request(engine, campaign, server):
    code = links(engine)[1]
    for _ in range(2):
        answer = requests.get(
            f"{server.url}/s/{code}",
            allow_redirects=False,
            headers={"User-Agent": "Mozilla/5.0 " + "x" * 400},
            timeout=10,
        )
        assert answer.status_code == 302
        assert answer.headers["Location"] == "https://example.jp/event?id=1"
        assert answer.headers["Cache-Control"] == "no-store"
    # A HEAD (a link checker) redirects too: recorded, but not a person (issue 12).
    head = requests.head(f"{server.url}/s/{code}", allow_redirects=False, timeout=10)
    assert head.status_code == 302
    with transaction(engine) as s:
        clicks = s.scalars(select(Click).where(Click.human)).all()
        others = s.scalars(select(Click).where(~Click.human)).all()
    assert len(clicks) == 2 and len(others) == 1
    assert {(c.campaign_id, c.recipient_row, c.code) for c in clicks} == {(campaign, 1, code)}
    assert all(len(c.user_agent) == 256 and c.user_agent.startswith("Mozilla") for c in clicks)
    # No IP address is stored: the table has no column for one.
    assert not {"ip", "ip_address", "remote_addr", "client_ip"} & set(Click.__table__.c.keys())


def test_r11_concurrent_clicks_are_each_recorded_once(engine, campaign, server):
    """Clicks arriving together share a commit (ClickRecorder), and none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    codes = list(links(engine).values())

    def click(i: int) -> int:
        url = f"{server.url}/s/{codes[i % 2]}"
        return requests.get(url, allow_redirects=False, timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(click, range(200)))
    assert answers == [302] * 200
    with transaction(engine) as s:
        per_row = dict(
            s.execute(select(Click.recipient_row, func.count()).group_by(Click.recipient_row)).all()
        )
    assert per_row == {0: 100, 1: 100}


def test_r11_unknown_malformed_and_expired_links_are_a_404_page_in_both_languages(
    engine, campaign, server
):
    code = links(engine)[0]
    with transaction(engine) as s:
        s.execute(
            update(ShortLink)
            .where(ShortLink.code == code)
            .values(expires_at=now_utc() - timedelta(seconds=1))
        )
    for path in (f"/s/{code}", "/s/Zz9Zz9Zz", "/s/short", "/s/../etc", "/nothing-here"):
        answer = requests.get(server.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 404, path
        assert "リンクが見つかりません" in answer.text and "Link not found" in answer.text
        assert "Location" not in answer.headers
    assert snapshot(engine)["clicks"] == 0
    assert requests.post(f"{server.url}/s/{links(engine)[1]}", timeout=10).status_code == 405


def test_healthz(engine, server):
    answer = requests.get(f"{server.url}/healthz", timeout=10)
    assert (answer.status_code, answer.text.strip()) == (200, "ok")


def test_r11_a_target_with_japanese_characters_is_a_valid_location(engine, campaign, server):
    code = links(engine)[0]
    with transaction(engine) as s:
        s.execute(
            update(ShortLink)
            .where(ShortLink.code == code)
            .values(target="https://example.jp/説明会?q=東京&x=1")
        )
    answer = requests.get(f"{server.url}/s/{code}", allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    assert answer.headers["Location"] == (
        "https://example.jp/%E8%AA%AC%E6%98%8E%E4%BC%9A?q=%E6%9D%B1%E4%BA%AC&x=1"
    )


# --- receipts: Twilio ----------------------------------------------------------------


def test_r15_twilio_receipt_with_a_good_signature_marks_delivered(engine, campaign, server):
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0001")
    used_before = ledger(engine).used
    answer = post_twilio(server, {"MessageSid": "SM0001", "MessageStatus": "delivered"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "applied", "state": "delivered", "message": first}
    with transaction(engine) as s:
        m = s.get(Message, first)
        assert m.state == "delivered" and m.delivered_at is not None
    assert ledger(engine).used == used_before  # delivery does not move units again


@pytest.mark.parametrize("how", ["missing", "bad", "other_token", "tampered"])
def test_r15_twilio_receipts_unsigned_or_badly_signed_change_nothing(engine, campaign, server, how):
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0001")
    before = snapshot(engine)
    params = {"MessageSid": "SM0001", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    if how == "missing":
        answer = post_twilio(server, params, sign=False)
    elif how == "bad":
        answer = post_twilio(server, params, signature="bm90IGEgc2lnbmF0dXJl")
    elif how == "other_token":
        answer = post_twilio(server, params, token="someone-else")
    else:  # signed for "delivered", sent as "undelivered"
        good = twilio_signature(
            TWILIO_TOKEN,
            f"{server.url}/receipts/twilio",
            {**params, "MessageStatus": "delivered"}.items(),
        )
        answer = post_twilio(server, params, signature=good)
    assert answer.status_code == 403
    assert snapshot(engine) == before


def test_r15_twilio_is_verified_against_the_public_url_behind_a_proxy(engine, campaign):
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0002")
    running = start(engine, config("https://sms.example.com/hooks"), threads=2)
    try:
        params = {"MessageSid": "SM0002", "MessageStatus": "delivered"}
        # Signed for the URL we see: not what Twilio signed, refused.
        assert post_twilio(running, params).status_code == 403
        public = "https://sms.example.com/hooks/receipts/twilio"
        answer = post_twilio(running, params, signed_url=public)
        assert answer.status_code == 200, answer.text
        # Twilio's libraries also accept the URL with its default port written out.
        handed_over(engine, message_ids(engine)[1], "twilio", "accepted", "SM0003")
        params = {"MessageSid": "SM0003", "MessageStatus": "delivered"}
        ported = "https://sms.example.com:443/hooks/receipts/twilio"
        assert post_twilio(running, params, signed_url=ported).status_code == 200
    finally:
        running.stop()


def test_r15_twilio_replay_is_refused_and_out_of_order_receipts_never_undo_delivery(
    engine, campaign, server
):
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0001")
    delivered = {"MessageSid": "SM0001", "MessageStatus": "delivered"}
    assert post_twilio(server, delivered).status_code == 200
    after_delivery = snapshot(engine)
    replay = post_twilio(server, delivered)
    assert replay.status_code == 409 and "already" in replay.json()["error"]
    # The older "sent" arrives late: accepted by signature, changes nothing.
    late = post_twilio(server, {"MessageSid": "SM0001", "MessageStatus": "sent"})
    assert late.status_code == 200 and late.json()["result"] == "unchanged"
    late_fail = post_twilio(
        server, {"MessageSid": "SM0001", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    assert late_fail.json() == {"result": "unchanged", "state": "delivered", "message": first}
    now = snapshot(engine)
    assert now["messages"] == after_delivery["messages"]
    assert now["ledger"] == after_delivery["ledger"]


def test_r15_twilio_failed_receipt_records_the_carrier_reason(engine, campaign, server):
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0009")
    used = ledger(engine).used
    params = {"MessageSid": "SM0009", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert post_twilio(server, params).status_code == 200
    with transaction(engine) as s:
        m = s.get(Message, first)
        assert (m.state, m.error_code) == ("failed", "30003")
        assert "unreachable handset" in m.error_message and m.failed_at is not None
    assert ledger(engine).used == used  # the provider took it: its units stay used


# --- receipts: shared secret (Karaden, sandbox) ----------------------------------------


def test_r15_karaden_receipt_good_bad_stale_and_replayed(engine, campaign, server):
    first = message_ids(engine)[0]
    handed_over(engine, first, "karaden", "accepted", "kd-1")
    document = karaden_message("kd-1", sent_result="received")
    before = snapshot(engine)
    # Unsigned, wrong secret, stale, from the future: refused, nothing written.
    unsigned = requests.post(f"{server.url}/receipts/karaden", json=document, timeout=10)
    assert unsigned.status_code == 403
    assert post_shared(server, "karaden", document, secret="wrong").status_code == 403
    stale = post_shared(
        server, "karaden", document, secret=KARADEN_SECRET, at=int(now_utc().timestamp()) - 301
    )
    assert stale.status_code == 403 and "window" in stale.json()["error"]
    future = post_shared(
        server, "karaden", document, secret=KARADEN_SECRET, at=int(now_utc().timestamp()) + 400
    )
    assert future.status_code == 403
    # The sandbox's secret does not sign Karaden's receipts.
    assert post_shared(server, "karaden", document, secret=SANDBOX_SECRET).status_code == 403
    assert snapshot(engine) == before

    stamp = int(now_utc().timestamp())
    good = post_shared(server, "karaden", document, secret=KARADEN_SECRET, at=stamp)
    assert good.status_code == 200 and good.json()["state"] == "delivered"
    applied = snapshot(engine)
    replay = post_shared(server, "karaden", document, secret=KARADEN_SECRET, at=stamp)
    assert replay.status_code == 409
    # The same receipt again, signed again (a provider's retry): accepted, no change.
    again = post_shared(server, "karaden", document, secret=KARADEN_SECRET, at=stamp - 1)
    assert again.status_code == 200 and again.json()["result"] == "unchanged"
    now = snapshot(engine)
    assert now["messages"] == applied["messages"] and now["ledger"] == applied["ledger"]


def test_r15_sandbox_out_of_order_receipts_never_move_delivered_back(engine, campaign, server):
    first = message_ids(engine)[0]
    handed_over(engine, first, "sandbox", "accepted", "sb-1")
    delivered = {"provider_id": "sb-1", "state": "delivered"}
    accepted = {"provider_id": "sb-1", "state": "accepted"}
    failed = {"provider_id": "sb-1", "state": "failed", "reason": "absent subscriber"}
    assert post_shared(server, "sandbox", delivered, secret=SANDBOX_SECRET).json()["state"] == (
        "delivered"
    )
    for late in (accepted, failed):
        answer = post_shared(server, "sandbox", late, secret=SANDBOX_SECRET)
        assert answer.json() == {"result": "unchanged", "state": "delivered", "message": first}


def test_r15_a_receipt_for_an_unknown_message_is_refused_and_writes_nothing(
    engine, campaign, server
):
    handed_over(engine, message_ids(engine)[0], "karaden", "accepted", "kd-1")
    before = snapshot(engine)
    document = karaden_message("kd-999", sent_result="received", tags=["nobody-0-1"])
    answer = post_shared(server, "karaden", document, secret=KARADEN_SECRET)
    assert answer.status_code == 404
    # The id of another provider's message is unknown to this one.
    answer = post_shared(
        server, "sandbox", {"provider_id": "kd-1", "state": "delivered"}, secret=SANDBOX_SECRET
    )
    assert answer.status_code == 404
    assert requests.post(f"{server.url}/receipts/nope", data=b"{}", timeout=10).status_code == 404
    bad_body = post_shared(server, "sandbox", {"state": "delivered"}, secret=SANDBOX_SECRET)
    assert bad_body.status_code == 400
    assert snapshot(engine) == before


def test_r19_a_receipt_settles_an_unknown_message_and_moves_its_units_once(
    engine, campaign, server
):
    """An answer lost at send leaves the message unknown (units reserved); the provider's
    receipt, matched by our client_ref, settles it as the worker's lookup would."""
    first = message_ids(engine)[0]
    handed_over(engine, first, "karaden", "unknown", None)
    with transaction(engine) as s:
        ref, units = s.execute(
            select(Message.client_ref, Message.units).where(Message.id == first)
        ).one()
    before = ledger(engine)
    document = karaden_message(
        "kd-7", sent_result="none", status="waiting", result="processing", tags=[ref]
    )
    answer = post_shared(server, "karaden", document, secret=KARADEN_SECRET)
    assert answer.json() == {"result": "applied", "state": "accepted", "message": first}
    after = ledger(engine)
    assert (after.reserved, after.used) == (before.reserved - units, before.used + units)
    with transaction(engine) as s:
        m = s.get(Message, first)
        assert m.provider_id == "kd-7" and m.accepted_at is not None
    # Delivered later, then the same again: units never move a second time.
    delivered = karaden_message("kd-7", sent_result="received", tags=[ref])
    assert post_shared(server, "karaden", delivered, secret=KARADEN_SECRET).status_code == 200
    again = post_shared(
        server, "karaden", delivered, secret=KARADEN_SECRET, at=int(now_utc().timestamp()) - 5
    )
    assert again.json()["result"] == "unchanged"
    final = ledger(engine)
    assert (final.reserved, final.used) == (after.reserved, after.used)


@pytest.mark.parametrize("state", ["sending", "queued", "cancelled"])
def test_r19_a_receipt_for_a_message_not_known_to_be_handed_over_is_refused(
    engine, campaign, server, state
):
    first = message_ids(engine)[0]
    handed_over(engine, first, "sandbox", state, "sb-1" if state == "sending" else None)
    with transaction(engine) as s:
        ref = s.scalar(select(Message.client_ref).where(Message.id == first))
    before = snapshot(engine)
    receipt = {"provider_id": "sb-1", "client_ref": ref, "state": "delivered"}
    answer = post_shared(server, "sandbox", receipt, secret=SANDBOX_SECRET)
    assert answer.status_code == 409
    assert snapshot(engine) == before


def test_secrets_never_reach_logs_answers_or_the_database(engine, campaign, server, caplog):
    caplog.set_level(logging.DEBUG)
    first = message_ids(engine)[0]
    handed_over(engine, first, "twilio", "accepted", "SM0001")
    answers = [
        post_twilio(server, {"MessageSid": "SM0001", "MessageStatus": "delivered"}),
        post_twilio(server, {"MessageSid": "SM0001", "MessageStatus": "delivered"}),
        post_twilio(server, {"MessageSid": "SM0001", "MessageStatus": "sent"}, token="x"),
        post_shared(server, "karaden", karaden_message("k", sent_result="received"), secret="x"),
        post_shared(
            server, "karaden", karaden_message("k", sent_result="received"), secret=KARADEN_SECRET
        ),
        post_shared(
            server,
            "sandbox",
            {"provider_id": "SM0001", "state": "delivered"},
            secret=SANDBOX_SECRET,
            at=1,
        ),
    ]
    planted = (TWILIO_TOKEN, KARADEN_SECRET, SANDBOX_SECRET)
    for answer in answers:
        assert not any(p in answer.text or p in str(answer.headers) for p in planted)
    assert caplog.records, "the service logs what it refuses"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(p in logged for p in planted)
    assert not any(p in repr(config()) for p in planted)
    with transaction(engine) as s:
        stored = [tuple(r) for r in s.execute(select(ReceiptSeen.provider, ReceiptSeen.digest))]
    assert stored and not any(p in str(stored) for p in planted)


# --- reports and export ------------------------------------------------------------------


def test_clicks_reach_the_reports_and_the_export(engine, campaign, server):
    code = links(engine)[1]
    # A person's phone: python-requests' own agent is a generic client, not a click.
    phone = {"User-Agent": PEOPLE["android"]}
    for _ in range(3):
        requests.get(f"{server.url}/s/{code}", allow_redirects=False, timeout=10, headers=phone)
    per_campaign = reports.clicks_per_campaign(engine)
    assert tuple(per_campaign.columns) == reports.CLICK_COLUMNS
    row = per_campaign.iloc[0]
    assert (row.campaign_id, row.recipients, row.clicked_recipients, row.clicks) == (
        campaign,
        2,
        1,
        3,
    )
    assert row.click_rate == 0.5 and str(row.first_click_at.tz) == "Asia/Tokyo"
    per_recipient = reports.campaign_clicks(engine, campaign)
    assert tuple(per_recipient.columns) == reports.RECIPIENT_CLICK_COLUMNS
    assert per_recipient[["recipient_row", "name", "links", "clicks"]].values.tolist() == [
        [0, "山田", 1, 0],
        [1, "佐藤", 1, 3],
    ]
    assert reports.is_missing(per_recipient.iloc[0].first_click_at)
    assert per_recipient.iloc[1].first_click_at <= per_recipient.iloc[1].last_click_at
    funnel = reports.funnel(engine, campaign_id=campaign, clicks=True)
    assert funnel["stage"].tolist()[-1] == "clicked"
    assert funnel.iloc[-1][["messages", "share"]].tolist() == [1, 0.5]
    figure = reports.figure_funnel(funnel, lang="en")
    assert figure.data[0].y[-1] == "Clicked (recipients)" and figure.data[0].text[-1] == "1 (50%)"
    messages = reports.campaign_messages(engine, campaign, limit=None, clicks=True)
    assert messages["clicks"].tolist() == [0, 3]
    csv = frame_csv_bytes(messages).decode("utf-8-sig").splitlines()
    assert "clicks" in csv[0] and "first_click_at" in csv[0]
    assert reports.clicks_per_campaign(engine, campaign_id=campaign + 1).empty


# --- the serve command ---------------------------------------------------------------


def test_serve_command_runs_the_service_until_ctrl_c(database_url, tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMS_")},
        "SMS_DATABASE_URL": database_url,
        "SMS_SANDBOX_WEBHOOK_SECRET": SANDBOX_SECRET,
    }
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "sms_core", "serve", "--port", str(port)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert answer.text.strip() == "ok"
        refused = requests.post(f"http://127.0.0.1:{port}/receipts/sandbox", data=b"{}", timeout=5)
        assert refused.status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    output = process.stdout.read()
    assert code == 0, output
    assert SANDBOX_SECRET not in output and "receipt refused" in output


# --- issue 12: human clicks, not link previewers -------------------------------------------

# Real User-Agent strings, as these services send them.
PREVIEWERS = {
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "line": "facebookexternalhit/1.1;line-poker/1.0",
    "meta": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "x": "Twitterbot/1.0",
    "google": (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 "
        "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    ),
    "apple": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; "
        "+http://www.apple.com/go/applebot)"
    ),
    "teams": (
        "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/51.0.2704.79 Safari/537.36 Edge/14.14393 SkypeUriPreview Preview/0.5 "
        "skype-url-preview@microsoft.com"
    ),
    "safelinks": "Microsoft Office SafeLinks (Windows NT 10.0; Microsoft Outlook 16.0.17328)",
    "curl": "curl/8.5.0",
    "python": "python-requests/2.32.3",
    "go": "Go-http-client/1.1",
}
PEOPLE = {
    "iphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "android": (
        "Mozilla/5.0 (Linux; Android 14; SO-51D Build/67.1.A.2.108) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36"
    ),
    "line_in_app": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Safari Line/14.10.0"
    ),
}


@pytest.mark.parametrize("name", sorted(PREVIEWERS))
def test_link_previewers_and_generic_clients_are_not_human(name):
    from sms_core.linkserver.clicks import is_human

    assert not is_human("GET", PREVIEWERS[name])


@pytest.mark.parametrize("name", sorted(PEOPLE))
def test_phone_browsers_are_human_but_not_their_head_requests(name):
    from sms_core.linkserver.clicks import is_human

    assert is_human("GET", PEOPLE[name])
    assert not is_human("HEAD", PEOPLE[name])
    assert not is_human("GET", None)


def test_click_rate_and_first_click_count_people_only(engine, campaign, server):
    """Issue 12: previews of the link (in Slack, LINE, …) arrive first; they are recorded,
    but the click rate and the first click are those of the candidate's own tap."""
    from sms_core import clock
    from sms_core.reports.campaigns import campaign_clicks, clicks_per_campaign

    code = links(engine)[0]
    clock.set_now(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    try:
        for agent in PREVIEWERS.values():
            requests.get(
                f"{server.url}/s/{code}",
                headers={"User-Agent": agent},
                allow_redirects=False,
                timeout=10,
            )
        requests.head(f"{server.url}/s/{code}", allow_redirects=False, timeout=10)
        clock.set_now(datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
        tap = requests.get(
            f"{server.url}/s/{code}",
            headers={"User-Agent": PEOPLE["iphone"]},
            allow_redirects=False,
            timeout=10,
        )
        assert tap.status_code == 302
    finally:
        clock.set_now(None)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Click)) == len(PREVIEWERS) + 2
    per_campaign = clicks_per_campaign(engine)
    row = per_campaign[per_campaign["campaign_id"] == campaign].iloc[0]
    assert (row["recipients"], row["clicked_recipients"], row["clicks"]) == (2, 1, 1)
    assert row["click_rate"] == 0.5
    assert row["first_click_at"].tz_convert("UTC") == pd.Timestamp("2026-11-30 23:30", tz="UTC")
    per_row = campaign_clicks(engine, campaign)
    assert list(per_row["clicks"]) == [1, 0]


# --- issue 12: the candidate's own opt-out link --------------------------------------------


@pytest.fixture
def optout_campaign(engine):
    """A campaign whose body carries {{optout}}: one opt-out link per recipient."""
    with transaction(engine) as s:
        set_contract(s, 1000, quota.current_month(), 3)
    roster = load_roster(
        "応募者ID,氏名,区分,携帯電話番号\nC1,山田,新卒,09011110001\nC2,佐藤,新卒,09011110002\n".encode()
    )
    body = "{{氏名}}様 説明会のご案内です。停止: {{配信停止URL}}"
    p = preview(roster, body, short_url_base="http://localhost:8600/s/")
    assert p.summary.total_units == 2  # costed like any short URL
    info = confirm_campaign(
        engine,
        p,
        name="停止リンク",
        idempotency_key="o",
        actor="test",
        provider="sandbox",
        quiet=NO_QUIET,
    )
    with transaction(engine) as s:
        bodies = s.scalars(select(Message.body).order_by(Message.recipient_row)).all()
        codes = dict(s.execute(select(ShortLink.recipient_row, ShortLink.code)).all())
    assert all(f"/s/{codes[row]}" in bodies[row] for row in (0, 1))  # each their own
    return info.id


def optouts(engine) -> list[tuple[str, str, str]]:
    from sms_core.store.suppression import list_optouts

    with transaction(engine) as s:
        return [(o.phone, o.source, o.added_by) for o in list_optouts(s)]


def test_the_opt_out_link_shows_a_page_and_only_its_post_opts_out(engine, optout_campaign, server):
    """Issue 12: GET (a person, a previewer or a scanner) and HEAD show the Japanese
    confirmation page and record nothing; a POST without the link's own token is refused;
    the form's POST puts the number the message went to on the list, source ``link``,
    audited. Opt-out links are not click-through links in the reports."""
    import re as _re

    from sms_core.store.models import AuditEvent

    code = links(engine)[1]
    url = f"{server.url}/s/{code}"
    for agent in (*PREVIEWERS.values(), PEOPLE["iphone"]):
        page = requests.get(url, headers={"User-Agent": agent}, allow_redirects=False, timeout=10)
        assert page.status_code == 200 and "配信を停止する" in page.text
        assert "method='post'" in page.text
    assert requests.head(url, timeout=10).status_code == 200
    assert optouts(engine) == []
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Click)) == 0
    # Another link's token, or none, does nothing.
    other = links(engine)[0]
    other_page = requests.get(f"{server.url}/s/{other}", timeout=10).text
    other_token = _re.search(r"name='token' value='([0-9a-f]+)'", other_page).group(1)
    for data in ({}, {"token": "0" * 64}, {"token": other_token}):
        refused = requests.post(url, data=data, timeout=10)
        assert refused.status_code == 403
    assert optouts(engine) == []
    token = _re.search(r"name='token' value='([0-9a-f]+)'", page.text).group(1)
    done = requests.post(url, data={"token": token}, timeout=10)
    assert done.status_code == 200 and "配信を停止しました" in done.text
    # Kept as a keyed hash (issue 13): the list shows the last 4 digits.
    assert optouts(engine) == [("*******0002", "link", "candidate (opt-out link)")]
    with transaction(engine) as s:
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "optout.add" in actions
    # Twice is harmless: the entry keeps its first time and source.
    assert requests.post(url, data={"token": token}, timeout=10).status_code == 200
    assert len(optouts(engine)) == 1
    assert optout_campaign not in set(reports.clicks_per_campaign(engine)["campaign_id"])


# --- malformed and replayed receipts, log lines (issue 13) -------------------------------


def test_r15_a_replay_with_its_signature_upper_cased_is_still_a_replay(engine, campaign, server):
    """The replay table keys on the signature as verified (hex, case-folded)."""
    first = message_ids(engine)[0]
    handed_over(engine, first, "karaden", "accepted", "kd-1")
    raw = json.dumps(karaden_message("kd-1", sent_result="received")).encode()
    stamp = str(int(time.time()))
    signature = shared_signature(KARADEN_SECRET, stamp, raw)

    def post(sig: str):
        headers = {"X-SMS-Timestamp": stamp, "X-SMS-Signature": sig}
        url = f"{server.url}/receipts/karaden"
        return requests.post(url, data=raw, headers=headers, timeout=10)

    assert post(signature).status_code == 200
    assert post(signature.upper()).status_code == 409
    assert post(signature[:10].upper() + signature[10:]).status_code == 409


@pytest.mark.parametrize(
    "headers",
    [
        {"X-SMS-Timestamp": "17\u00b2", "X-SMS-Signature": "ab"},  # '²' passes str.isdigit()
        {"X-SMS-Timestamp": "NOW", "X-SMS-Signature": "\u00e9" * 64},
        {"X-SMS-Timestamp": "NOW", "X-SMS-Signature": "\u00e9".encode() * 32},
    ],
    ids=["superscript-timestamp", "latin1-signature", "utf8-signature"],
)
def test_non_ascii_signature_or_timestamp_headers_get_403_not_500(
    engine, campaign, server, headers, caplog
):
    caplog.set_level(logging.ERROR)
    headers = {k: (str(int(time.time())) if v == "NOW" else v) for k, v in headers.items()}
    for provider in ("karaden", "sandbox"):
        answer = requests.post(
            f"{server.url}/receipts/{provider}", data=b"{}", headers=headers, timeout=10
        )
        assert answer.status_code == 403, answer.text
    twilio = requests.post(
        f"{server.url}/receipts/twilio",
        data={"MessageSid": "SM1", "MessageStatus": "delivered"},
        headers={"X-Twilio-Signature": "\u00e9" * 28},
        timeout=10,
    )
    assert twilio.status_code == 403
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_deeply_nested_json_gets_400_not_500(engine, campaign, server, caplog):
    caplog.set_level(logging.ERROR)
    raw = b"[" * 30_000 + b"]" * 30_000  # under the 64 KiB limit, past the parser's stack
    stamp = str(int(time.time()))
    for provider, secret in (("karaden", KARADEN_SECRET), ("sandbox", SANDBOX_SECRET)):
        answer = requests.post(
            f"{server.url}/receipts/{provider}",
            data=raw,
            headers={
                "X-SMS-Timestamp": stamp,
                "X-SMS-Signature": shared_signature(secret, stamp, raw),
            },
            timeout=10,
        )
        assert answer.status_code == 400, answer.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_log_lines_escape_control_characters_from_request_paths(engine, server, caplog):
    """A client cannot forge a log line with %0a (or hide one with %0d, ESC) in a path."""
    caplog.set_level(logging.DEBUG)
    answer = requests.post(
        f"{server.url}/receipts/x%0aFORGED%20line%0d%1b[2J", data=b"{}", timeout=10
    )
    assert answer.status_code == 404
    lines = [r.getMessage() for r in caplog.records if "receipt refused" in r.getMessage()]
    assert lines, "the refusal is logged"
    for line in lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert any("x\\x0aFORGED" in line for line in lines)
