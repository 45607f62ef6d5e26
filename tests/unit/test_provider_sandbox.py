"""The sandbox provider: test numbers, delivery after a delay, a shared outbox, find()."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sms_core import clock
from sms_core.clock import now_utc
from sms_core.errors import ProviderAmbiguous, ProviderPermanent, ProviderTransient
from sms_core.providers import Outbound, Receipt
from sms_core.providers.sandbox import DEFAULT_PATH, SandboxProvider

ROOT = Path(__file__).resolve().parents[2]
# Long enough that a test descheduled for a moment (parallel workers on 2 cores) still
# checks "accepted" before the delay has passed; the two tests that wait sleep 1.5×.
DELAY = 0.5


@pytest.fixture(autouse=True)
def set_clock():
    """The sandbox's instants come from the product clock: set here and moved on by hand,
    its delivery delay passes exactly when a test says (not when a busy machine does)."""
    with clock.frozen(datetime(2026, 11, 30, 14, 59, tzinfo=UTC)):
        yield


@pytest.fixture
def sandbox(tmp_path):
    with SandboxProvider(tmp_path / "outbox.db", delivery_delay=DELAY) as provider:
        yield provider


def msg(ref: str = "c1/m1/p1", to: str = "09012345678", body: str = "面接のご案内") -> Outbound:
    return Outbound(client_ref=ref, to=to, body=body)


def since() -> datetime:
    return now_utc() - timedelta(seconds=1)


def test_default_outbox_is_in_the_data_folder():
    assert DEFAULT_PATH == ROOT / "data" / "sandbox_outbox.db"


def test_send_records_the_part_and_answers_accepted(sandbox):
    receipt = sandbox.send(Outbound("r1", "09012345678", "あ" * 71, sender="0312345678"))
    assert (receipt.state, receipt.reason, receipt.charged_units) == ("accepted", None, 2)
    (entry,) = sandbox.outbox()
    assert (entry.provider_id, entry.client_ref, entry.to, entry.sender) == (
        receipt.provider_id,
        "r1",
        "09012345678",
        "0312345678",
    )
    assert entry.body == "あ" * 71 and entry.state == "accepted"


def test_delivered_after_the_delay(sandbox):
    receipt = sandbox.send(msg())
    assert sandbox.status(receipt.provider_id).state == "accepted"
    clock.advance(DELAY * 1.5)
    assert sandbox.status(receipt.provider_id) == Receipt(receipt.provider_id, "delivered", None, 1)
    assert sandbox.outbox()[0].state == "delivered"


def test_0001_is_rejected_and_nothing_is_recorded(sandbox):
    with pytest.raises(ProviderPermanent, match="unreachable number"):
        sandbox.send(msg(to="08099990001"))
    assert sandbox.outbox() == []


def test_0002_is_accepted_then_fails_as_absent_subscriber(sandbox):
    receipt = sandbox.send(msg(to="08099990002"))
    assert receipt.state == "accepted"
    clock.advance(DELAY * 1.5)
    final = sandbox.status(receipt.provider_id)
    assert (final.state, final.reason) == ("failed", "absent subscriber")


def test_0003_is_transient_once_per_client_ref(sandbox):
    with pytest.raises(ProviderTransient) as err:
        sandbox.send(msg("a", to="08099990003"))
    assert err.value.retry_after == 1
    assert sandbox.outbox() == []
    assert sandbox.send(msg("a", to="08099990003")).state == "accepted"
    with pytest.raises(ProviderTransient):
        sandbox.send(msg("b", to="08099990003"))
    assert [e.client_ref for e in sandbox.outbox()] == ["a"]


def test_0004_records_then_loses_the_answer_and_find_settles_it(sandbox):
    with pytest.raises(ProviderAmbiguous, match="find"):
        sandbox.send(msg("lost", to="08099990004"))
    found = sandbox.find(msg("lost", to="08099990004"), since())
    assert found is not None and found.state == "accepted"
    assert found.provider_id == sandbox.outbox()[0].provider_id


def test_find_is_none_for_a_part_never_recorded(sandbox):
    sandbox.send(msg("other"))
    assert sandbox.find(msg("never"), since()) is None


def test_a_blind_resend_shows_in_the_outbox(sandbox):
    sandbox.send(msg("dup"))
    sandbox.send(msg("dup"))
    assert [e.client_ref for e in sandbox.outbox()] == ["dup", "dup"]
    assert sandbox.find(msg("dup"), since()).provider_id == sandbox.outbox()[0].provider_id


@pytest.mark.parametrize(
    ("to", "body", "says"),
    [
        ("0901234567", "本文", "11-digit"),
        ("09012345678", "", "empty"),
        ("09012345678", "あ" * 661, "661 characters"),
        ("09012345678", "😀" * 331, "662 characters"),
    ],
)
def test_what_a_real_provider_would_reject(sandbox, to, body, says):
    with pytest.raises(ProviderPermanent, match=says):
        sandbox.send(msg(to=to, body=body))
    assert sandbox.outbox() == []


def test_status_of_an_unknown_id_is_permanent(sandbox):
    with pytest.raises(ProviderPermanent, match="no message"):
        sandbox.status("SBXnope")


def test_clear_empties_the_outbox(sandbox):
    sandbox.send(msg())
    sandbox.clear()
    assert sandbox.outbox() == []


def test_processes_share_one_outbox(tmp_path):
    """Two writer processes and this one at once: every part lands, none is lost."""
    # The children read the real clock (they do not share this process's set one), so this
    # process does too: otherwise their parts would be "in the future" here.
    clock.set_now(None)
    path, go = tmp_path / "shared.db", tmp_path / "go"
    child = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from sms_core.providers import Outbound
        from sms_core.providers.sandbox import SandboxProvider
        with SandboxProvider({str(path)!r}, delivery_delay=0) as sandbox:
            sandbox.outbox()  # opened, schema in place
            while not Path({str(go)!r}).exists():
                time.sleep(0.001)
            for i in range(150):
                sandbox.send(Outbound(f"{{sys.argv[1]}}-{{i}}", "09012345678", "本文"))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", child, name], cwd=ROOT) for name in ("a", "b")]
    with SandboxProvider(path, delivery_delay=0) as sandbox:
        time.sleep(0.5)  # let the children start, then all three write at once
        go.touch()
        for i in range(150):
            sandbox.send(msg(f"main-{i}"))
        for p in procs:
            assert p.wait(timeout=60) == 0
        entries = sandbox.outbox()
        refs = [e.client_ref for e in entries]
        assert len(refs) == 450 and len(set(refs)) == 450
        assert {e.state for e in entries} == {"delivered"}
    with SandboxProvider(path) as reader:  # e.g. the dashboard, opened later
        assert reader.find(msg("a-149"), since()) is not None
