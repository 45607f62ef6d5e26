"""Issue 12: the worker checks each message again at hand-over, on SQLite and PostgreSQL.

Opt-outs (R3 ``opted_out``), quiet hours, the deadline (送信期限), the month's contract
(R17-R19) and the frequency cap are checked in the claim transaction; what they stop is
never handed over and its units are released. The product clock is set, never slept on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import select

from sms_core import clock
from sms_core.errors import InputError
from sms_core.providers.sandbox import SandboxProvider
from sms_core.rules.preview import preview
from sms_core.rules.roster import load_roster
from sms_core.rules.schedule import JST, QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import cancel_campaign, confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.sending.dispatch import DispatchConfig, Worker
from sms_core.sending.handover import numbers_at_cap
from sms_core.store.app_settings import set_setting
from sms_core.store.db import transaction
from sms_core.store.models import Campaign, Message
from sms_core.store.suppression import add_optout

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
FAST = DispatchConfig(
    settle_delay=0, status_poll_after=0, backoff_base=0.01, backoff_cap=0.05, batch_size=16
)
NO_QUIET = QuietHours.parse("00:00-00:00")
QUIET = QuietHours.parse("21:00-08:00")


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture(autouse=True)
def product_clock():
    clock.set_now(jst("2026-11-30 10:00"))
    yield
    clock.set_now(None)


@pytest.fixture
def sandbox(tmp_path):
    provider = SandboxProvider(tmp_path / "outbox.db", delivery_delay=0.0)
    yield provider
    provider.close()


def roster(*phones: str):
    lines = "".join(f"C{i},候補者{i},新卒,{p}\n" for i, p in enumerate(phones, start=1))
    return load_roster(("応募者ID,氏名,区分,携帯電話番号\n" + lines).encode())


def contract(engine, units: int = 1000, start: date = NOV, months: int = 3) -> None:
    with transaction(engine) as s:
        set_contract(s, units, start, months)


def confirm(engine, phones, body="説明会のご案内です", key="k1", **kw):
    kw.setdefault("quiet", NO_QUIET)
    return confirm_campaign(
        engine,
        preview(roster(*phones), body),
        name="説明会",
        idempotency_key=key,
        actor="test",
        provider="sandbox",
        **kw,
    )


def setting(engine, key: str, value: str) -> None:
    with transaction(engine) as s:
        set_setting(s, key, value, actor="admin")


def run(worker: Worker, cycles: int = 6) -> None:
    for _ in range(cycles):
        worker.run_once()


def messages(engine, campaign_id: int | None = None) -> list:
    with transaction(engine) as s:
        query = select(Message).order_by(Message.id)
        if campaign_id is not None:
            query = query.where(Message.campaign_id == campaign_id)
        rows = s.scalars(query).all()
        s.expunge_all()
        return rows


def campaign(engine, campaign_id: int) -> Campaign:
    with transaction(engine) as s:
        row = s.get(Campaign, campaign_id)
        s.expunge(row)
        return row


def ledger(engine, month: date) -> tuple[int, int]:
    with transaction(engine) as s:
        status = quota.remaining(s, month)
        return status.used, status.reserved


def test_r3_a_number_opted_out_after_confirming_is_withheld_with_its_later_parts(engine, sandbox):
    """Issue 12 / R3: opted out after the send was confirmed → never sent, units released,
    the reason kept for History; every part of that recipient (R8) is withheld."""
    setting(engine, "quiet_hours", "00:00-00:00")
    contract(engine)
    info = confirm(engine, ["09011110001", "09011110002"], body="あ" * 700)  # 2 parts each
    assert ledger(engine, NOV) == (0, info.units)
    with transaction(engine) as s:
        add_optout(s, "090-1111-0002", "電話で依頼", actor="operator")
    run(Worker(engine, sandbox, FAST))
    sent = Counter(e.to for e in sandbox.outbox())
    assert sent == Counter({"09011110001": 2})
    stopped = [m for m in messages(engine) if m.phone == "09011110002"]
    assert [(m.state, m.error_code) for m in stopped] == [("withheld", "opted_out")] * 2
    assert all(m.attempts == 0 and m.lease_owner is None for m in stopped)
    used, reserved = ledger(engine, NOV)
    assert (used, reserved) == (sum(m.units for m in messages(engine)) // 2, 0)
    assert campaign(engine, info.id).state == "finished"


def test_frequency_cap_counts_each_number_across_campaigns_per_japan_day(engine, sandbox):
    """Issue 12: at most N messages per number per Japan-time day across campaigns; a
    recipient's message counts once however many parts it has; the next day is new."""
    setting(engine, "quiet_hours", "00:00-00:00")
    setting(engine, "frequency_cap", "2")
    contract(engine)
    worker = Worker(engine, sandbox, FAST)
    first = confirm(engine, ["09011110001"], body="い" * 700, key="a")  # 2 parts, 1 message
    run(worker)
    # Two more to the same number, and one to another, claimed in one batch.
    second = confirm(engine, ["09011110001", "09011110009"], key="b")
    third = confirm(engine, ["09011110001"], key="c")
    run(worker)
    states = {
        (m.campaign_id, m.phone, m.part_index): (m.state, m.error_code) for m in messages(engine)
    }
    assert states[(first.id, "09011110001", 2)][0] == "delivered"
    assert states[(second.id, "09011110001", 1)] == ("delivered", None)
    assert states[(second.id, "09011110009", 1)] == ("delivered", None)
    assert states[(third.id, "09011110001", 1)] == ("withheld", "frequency_cap")
    assert ledger(engine, NOV)[1] == 0
    # What the preview is given: the numbers already at the cap today.
    with transaction(engine) as s:
        assert numbers_at_cap(s, 2, clock.now_utc()) == {"09011110001"}
        assert numbers_at_cap(s, 3, clock.now_utc()) == set()
    # 23:59 that day is still that day; 00:00 Japan time is a new one.
    clock.set_now(jst("2026-11-30 23:59"))
    late = confirm(engine, ["09011110001"], key="d")
    run(worker)
    assert messages(engine, late.id)[0].error_code == "frequency_cap"
    clock.set_now(jst("2026-12-01 00:00"))
    nextday = confirm(engine, ["09011110001"], key="e")
    run(worker)
    assert messages(engine, nextday.id)[0].state == "delivered"


def test_deadline_messages_not_handed_over_in_time_expire_and_release_their_units(engine, sandbox):
    """Issue 12 (送信期限): a send scheduled for 10:30 with a deadline of 10:45, whose worker
    only gets to it at 10:45, hands nothing over; every message expires, units released."""
    setting(engine, "quiet_hours", "00:00-00:00")
    contract(engine)
    with pytest.raises(InputError, match="deadline"):
        confirm(
            engine,
            ["09011110001"],
            send_at=jst("2026-11-30 10:30"),
            deadline=jst("2026-11-30 10:30"),
            key="bad",
        )
    info = confirm(
        engine,
        ["09011110001", "09011110002"],
        send_at=jst("2026-11-30 10:30"),
        deadline=jst("2026-11-30 10:45"),
    )
    assert campaign(engine, info.id).deadline_at == jst("2026-11-30 10:45")
    clock.set_now(jst("2026-11-30 10:45"))
    run(Worker(engine, sandbox, FAST))
    assert sandbox.outbox() == []
    assert {(m.state, m.error_code) for m in messages(engine)} == {("expired", "deadline")}
    assert ledger(engine, NOV) == (0, 0)
    assert campaign(engine, info.id).state == "finished"


def test_deadline_a_message_claimed_before_the_deadline_is_not_sent_after_it(engine, sandbox):
    """Issue 12: the deadline holds at the moment of sending, not only at the claim."""
    setting(engine, "quiet_hours", "00:00-00:00")
    contract(engine)
    info = confirm(engine, ["09011110001"], deadline=jst("2026-11-30 10:05"))
    worker = Worker(engine, sandbox, FAST)
    worker.start_due_campaigns(clock.now_utc())
    claimed = worker.claim(clock.now_utc())
    assert [c.hand_over_by for c in claimed] == [jst("2026-11-30 10:05")]
    clock.set_now(jst("2026-11-30 10:05"))
    from sms_core.sending.dispatch import CycleReport

    worker.send_and_record(claimed, CycleReport())
    assert sandbox.outbox() == []
    run(worker)
    assert [(m.state, m.error_code) for m in messages(engine, info.id)] == [("expired", "deadline")]
    assert ledger(engine, NOV) == (0, 0)


def test_quiet_hours_pause_a_running_send_which_resumes_by_itself_at_their_end(engine, sandbox):
    """Issue 12: a send confirmed at 20:59 is not handed over from 21:00; its units stay
    reserved; at 08:00 it resumes by itself. An urgent send goes on inside quiet hours."""
    setting(engine, "quiet_hours", "21:00-08:00")
    contract(engine, start=date(2026, 10, 1))
    clock.set_now(jst("2026-11-30 20:59"))
    info = confirm(engine, ["09011110001", "09011110002"], quiet=QUIET)
    urgent = confirm(engine, ["09011110003"], quiet=QUIET, key="u", urgent_reason="台風で休止")
    worker = Worker(engine, sandbox, FAST)
    clock.set_now(jst("2026-11-30 21:00"))
    run(worker)
    assert [e.to for e in sandbox.outbox()] == ["09011110003"]
    assert campaign(engine, info.id).state == "quiet_hours"
    assert campaign(engine, urgent.id).state == "finished"
    assert ledger(engine, NOV) == (1, 2)
    clock.set_now(jst("2026-11-30 23:59"))
    run(worker)
    assert len(sandbox.outbox()) == 1
    clock.set_now(jst("2026-12-01 08:00"))
    run(worker)
    assert sorted(e.to for e in sandbox.outbox()) == ["09011110001", "09011110002", "09011110003"]
    assert campaign(engine, info.id).state == "finished"


def test_r17_r18_a_send_crossing_the_end_of_the_month_is_counted_in_the_month_it_goes_out(
    engine, sandbox
):
    """R17/R18 at hand-over: reserved in November at 20:59 on the 30th, paused by quiet
    hours, handed over on 1 December at 08:00 — its units move to December (released in
    November, reserved in December with the same conditional reservation), and are used
    there. Nothing is ever over either month's cap (R19)."""
    setting(engine, "quiet_hours", "21:00-08:00")
    contract(engine, units=10, start=date(2026, 10, 1))
    clock.set_now(jst("2026-11-30 20:59"))
    info = confirm(engine, ["09011110001", "09011110002", "09011110003"], quiet=QUIET)
    assert info.quota_month == NOV and ledger(engine, NOV) == (0, 3)
    worker = Worker(engine, sandbox, FAST)
    clock.set_now(jst("2026-11-30 21:00"))
    run(worker)
    assert ledger(engine, NOV) == (0, 3)
    clock.set_now(jst("2026-12-01 08:00"))
    run(worker)
    assert len(sandbox.outbox()) == 3
    assert ledger(engine, NOV) == (0, 0)
    assert ledger(engine, DEC) == (3, 0)
    row = campaign(engine, info.id)
    assert (row.state, row.quota_month) == ("finished", DEC)


def test_contract_a_send_whose_month_has_no_contract_is_held_then_resumes(engine, sandbox):
    """Issue 12: the contract ended with November; the send resuming on 1 December is held
    (nothing overshoots, nothing is sent) until a contract covers December again."""
    setting(engine, "quiet_hours", "21:00-08:00")
    contract(engine, units=10, start=date(2026, 9, 1), months=3)  # September–November
    clock.set_now(jst("2026-11-30 20:59"))
    info = confirm(engine, ["09011110001", "09011110002"], quiet=QUIET)
    worker = Worker(engine, sandbox, FAST)
    clock.set_now(jst("2026-11-30 21:00"))
    run(worker)
    clock.set_now(jst("2026-12-01 08:00"))
    run(worker)
    row = campaign(engine, info.id)
    assert (row.state, row.hold_reason, row.quota_month) == ("held", "no_contract", NOV)
    assert sandbox.outbox() == [] and ledger(engine, NOV) == (0, 2)
    # A contract whose December has room for only one of the two: still held.
    contract(engine, units=1, start=DEC, months=3)
    run(worker)
    row = campaign(engine, info.id)
    assert (row.state, row.hold_reason) == ("held", "quota")
    assert ledger(engine, DEC) == (0, 0)
    contract(engine, units=5, start=DEC, months=3)
    run(worker)
    assert len(sandbox.outbox()) == 2
    assert ledger(engine, NOV) == (0, 0) and ledger(engine, DEC) == (2, 0)
    assert campaign(engine, info.id).state == "finished"


def test_contract_a_held_send_can_be_cancelled_and_its_units_are_released(engine, sandbox):
    """Issue 12: a held campaign is cancelled like any other; its units come back."""
    setting(engine, "quiet_hours", "21:00-08:00")
    contract(engine, units=10, start=date(2026, 9, 1), months=3)
    clock.set_now(jst("2026-11-30 20:59"))
    info = confirm(engine, ["09011110001"], quiet=QUIET)
    worker = Worker(engine, sandbox, FAST)
    clock.set_now(jst("2026-12-01 08:00"))
    run(worker)
    assert campaign(engine, info.id).state == "held"
    cancel_campaign(engine, info.id, actor="operator")
    assert ledger(engine, NOV) == (0, 0)
    assert campaign(engine, info.id).state == "cancelled"


def test_frequency_cap_holds_when_two_workers_check_one_number_at_once(
    engine, sandbox, monkeypatch
):
    """Issue 12 / R19: two workers, each holding a fresh claim of a message to the same
    number, check the cap at the same moment (a barrier makes sure of it). The number had
    1 message today and the cap is 2: exactly one more goes out. On PostgreSQL the number
    is locked while counted (without it both would pass); SQLite runs one claim at a time."""
    import contextlib
    import threading

    from sms_core.sending import handover

    setting(engine, "quiet_hours", "00:00-00:00")
    setting(engine, "frequency_cap", "2")
    contract(engine)
    config = DispatchConfig(settle_delay=0, status_poll_after=0, batch_size=1)
    first = Worker(engine, sandbox, config, worker_id="w0")
    confirm(engine, ["09011110001"], key="earlier")
    run(first)
    a = confirm(engine, ["09011110001"], key="a")
    b = confirm(engine, ["09011110001"], key="b")
    barrier = threading.Barrier(2, timeout=3)
    original = handover._over_frequency_cap

    def meet_then_check(*args, **kwargs):
        # Both claims are made and not yet committed. SQLite: the other claim waits for
        # this transaction, so the barrier breaks after its timeout and this one goes on.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(handover, "_over_frequency_cap", meet_then_check)
    workers = [Worker(engine, sandbox, config, worker_id=f"w{i}") for i in (1, 2)]
    threads = [threading.Thread(target=w.run_once) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(handover, "_over_frequency_cap", original)
    run(workers[0])
    outcome = sorted(
        (m.state, m.error_code) for m in messages(engine) if m.campaign_id in (a.id, b.id)
    )
    assert outcome == [("delivered", None), ("withheld", "frequency_cap")]
    assert Counter(e.to for e in sandbox.outbox())["09011110001"] == 2
