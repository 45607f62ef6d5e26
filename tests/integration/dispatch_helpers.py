"""Shared by the dispatch fault proofs and the dispatch benchmark: campaigns, workers, checks.

A campaign of ``n`` distinct mobile numbers is confirmed the way the product does it
(roster → preview → :func:`~sms_core.sending.campaigns.confirm_campaign`); worker processes are
``python -m sms_core worker`` with everything set through the environment, as an operator
would run them; :func:`outcome` reads back what the database says and
:func:`check_against_provider` holds it against what the imitation provider recorded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from sms_core.demo.samples import generate_roster, write_roster_csv
from sms_core.rules.preview import preview
from sms_core.rules.schedule import QuietHours
from sms_core.sending import quota
from sms_core.sending.campaigns import CampaignInfo, confirm_campaign
from sms_core.sending.contract import set_contract
from sms_core.store.db import make_engine, transaction
from sms_core.store.models import Campaign, Message
from tests.integration import warm_cli

ROOT = Path(__file__).resolve().parents[2]
NO_QUIET = QuietHours.parse("00:00-00:00")
BODY = "{{氏名}}様 会社説明会のご案内です。詳細は追ってお送りします。"
OPEN_STATES = ("queued", "sending", "unknown")

KARADEN_TOKEN = "karaden-dispatch-proof-token"
KARADEN_TENANT = "tenant-0001"
TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-dispatch-proof-token"
TWILIO_FROM = "+815012345678"


def karaden_server_args(*extra: str) -> tuple[str, ...]:
    """Command-line arguments of the Karaden imitation matching :func:`karaden_env`."""
    return ("--token", KARADEN_TOKEN, "--tenant-id", KARADEN_TENANT, *extra)


def twilio_server_args(*extra: str) -> tuple[str, ...]:
    """Command-line arguments of the Twilio imitation matching :func:`twilio_env`."""
    return ("--account-sid", TWILIO_SID, "--auth-token", TWILIO_TOKEN, *extra)


def karaden_env(server_url: str) -> dict[str, str]:
    """The provider settings of a worker sending to the Karaden imitation at ``server_url``."""
    return {
        "SMS_PROVIDER": "karaden",
        "SMS_KARADEN_TOKEN": KARADEN_TOKEN,
        "SMS_KARADEN_TENANT_ID": KARADEN_TENANT,
        "SMS_KARADEN_SERVICE_ID": "1",
        "SMS_KARADEN_BASE_URL": server_url + "/api",
    }


def twilio_env(server_url: str) -> dict[str, str]:
    """The provider settings of a worker sending to the Twilio imitation at ``server_url``."""
    return {
        "SMS_PROVIDER": "twilio",
        "SMS_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "SMS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SMS_TWILIO_FROM": TWILIO_FROM,
        "SMS_TWILIO_BASE_URL": server_url,
    }


def worker_env(database_url: str, provider: dict[str, str], **worker: object) -> dict[str, str]:
    """The whole environment of a worker process: ours, minus any SMS_* of the caller.

    ``worker`` items become ``SMS_WORKER_<NAME>`` (e.g. ``lease_seconds=2``); the names
    ``connect_timeout``/``read_timeout`` become ``SMS_PROVIDER_…`` instead.
    """
    # A developer's own SMS_* settings must not leak into the proof (or send for real).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMS_")}
    env.update(provider)
    env["SMS_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    # No quiet hours, as the campaigns are confirmed (confirm_bulk): from 21:00 Japan time
    # the worker would otherwise hold every send until 08:00, and the proofs would wait.
    env["SMS_QUIET_HOURS"] = "00:00-00:00"
    for name, value in worker.items():
        prefix = "SMS_PROVIDER_" if name in ("connect_timeout", "read_timeout") else "SMS_WORKER_"
        env[prefix + name.upper()] = str(value)
    return env


class WorkerProcess:
    """``python -m sms_core worker`` in its own process (started warm: see
    :mod:`tests.integration.warm_cli`), its log in a file."""

    def __init__(self, env: dict[str, str], log_dir: Path | str, *args: str) -> None:
        fd, name = tempfile.mkstemp(prefix="worker-", suffix=".log", dir=log_dir)
        os.close(fd)
        self.log_path = Path(name)
        with self.log_path.open("w") as log:
            self.proc = warm_cli.start(
                ["worker", *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def log(self) -> str:
        """Everything the worker wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the worker says it is sending (imports and migration are done)."""
        deadline = time.monotonic() + timeout
        while "Ctrl-C stops it" not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start within {timeout} s:\n{self.log()}")
            time.sleep(0.01)

    def kill(self) -> None:
        """``kill -9``: no handler, no cleanup, leases left behind."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then the exit code once it has finished its batch."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def make_contract(url: str, units: int) -> None:
    """A contract of ``units`` a month from this (Japan-time) month, for three months."""
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            set_contract(s, units, quota.current_month(), 3)
    finally:
        engine.dispose()


def confirm_bulk(
    url: str, n: int, *, provider: str, seed: int = 0, key: str = "bulk", contract: int = 0
) -> CampaignInfo:
    """Confirm a send-now campaign to ``n`` generated candidates with distinct mobiles.

    Sets a contract of ``contract`` units (default: twice what the campaign needs) first,
    unless ``contract`` is negative (an existing contract is kept).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.csv"
        write_roster_csv(generate_roster(n, seed=seed, messy=False), path)
        result = preview(path, BODY)
    if result.summary.total_units <= 0:
        raise AssertionError("the generated roster has nobody to send to")
    if contract >= 0:
        make_contract(url, contract or 2 * result.summary.total_units)
    engine = make_engine(url)
    try:
        return confirm_campaign(
            engine,
            result,
            name=f"dispatch proof {n}",
            idempotency_key=key,
            actor="test",
            provider=provider,
            quiet=NO_QUIET,
        )
    finally:
        engine.dispose()


@dataclass
class Outcome:
    """What the database says once the workers are done (or at any moment)."""

    states: Counter[str]
    campaigns: Counter[str]
    used: int
    reserved: int
    accepted_units: int  # units of messages the provider took (they carry its id)
    open_units: int  # units of messages queued, in flight or unknown
    attempts: int  # send attempts made in all
    leased: int  # messages still holding a lease
    unknown_reasons: Counter[str] = field(default_factory=Counter)
    failed_without_reason: int = 0
    refs_with_provider_id: dict[str, str] = field(default_factory=dict)
    accepted_at: dict[str, datetime] = field(default_factory=dict)
    unknown_refs: set[str] = field(default_factory=set)
    messages: int = 0

    @property
    def open(self) -> int:
        """Messages not yet settled: queued, in flight or unknown."""
        return sum(self.states[s] for s in OPEN_STATES)

    @property
    def retries(self) -> int:
        """Attempts beyond the first one of each message that was tried."""
        tried = self.messages - self.states["queued"] - self.states["cancelled"]
        return max(self.attempts - tried, 0)


def outcome(url: str, campaign_id: int | None = None) -> Outcome:
    """Read states and references of every message (of one campaign), and the ledger."""
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            query = select(
                Message.client_ref,
                Message.state,
                Message.units,
                Message.provider_id,
                Message.accepted_at,
                Message.attempts,
                Message.error_message,
                Message.lease_owner,
                Message.lease_expires_at,
            )
            if campaign_id is not None:
                query = query.where(Message.campaign_id == campaign_id)
            rows = s.execute(query).all()
            campaigns = Counter(s.scalars(select(Campaign.state)))
            used = reserved = 0
            for month in s.scalars(select(Campaign.quota_month).distinct()).all():
                status = quota.remaining(s, month)
                used += status.used
                reserved += status.reserved
    finally:
        engine.dispose()
    result = Outcome(
        states=Counter(r.state for r in rows),
        campaigns=campaigns,
        used=used,
        reserved=reserved,
        accepted_units=sum(r.units for r in rows if r.provider_id is not None),
        open_units=sum(r.units for r in rows if r.state in OPEN_STATES),
        attempts=sum(r.attempts for r in rows),
        leased=sum(1 for r in rows if r.lease_owner or r.lease_expires_at),
        messages=len(rows),
    )
    for r in rows:
        if r.provider_id is not None:
            result.refs_with_provider_id[r.client_ref] = r.provider_id
            result.accepted_at[r.client_ref] = r.accepted_at
        if r.state == "unknown":
            result.unknown_refs.add(r.client_ref)
            result.unknown_reasons[r.error_message or ""] += 1
        if r.state == "failed" and not r.error_message:
            result.failed_without_reason += 1
    return result


def count_open(url: str, engine_cache: dict[str, Any] | None = None) -> tuple[int, int]:
    """(messages queued/sending/unknown, campaigns still sending): cheap, for polling."""
    cache = engine_cache if engine_cache is not None else {}
    engine = cache.get(url)
    if engine is None:
        engine = cache[url] = make_engine(url)
    with engine.connect() as conn:
        open_ = conn.scalar(select(func.count()).where(Message.state.in_(OPEN_STATES)))
        sending = conn.scalar(select(func.count()).where(Campaign.state == "sending"))
    return open_ or 0, sending or 0


def check_ledger(result: Outcome) -> None:
    """The ledger agrees with the messages: used = taken by the provider, reserved = open."""
    assert result.used == result.accepted_units, (
        f"ledger used {result.used} != units the provider accepted {result.accepted_units}"
    )
    assert result.reserved == result.open_units, (
        f"ledger reserved {result.reserved} != units still open {result.open_units}"
    )


def check_against_provider(result: Outcome, stored: list[dict[str, Any]], kind: str) -> None:
    """Every message the provider holds is one of ours, recorded with its id (or unknown).

    Karaden messages carry our client reference as their tag; Twilio has none, so there
    its message ids (sids) are compared.
    """
    if kind == "karaden":
        by_ref: dict[str, list[str]] = {}
        for m in stored:
            for tag in m.get("tags") or []:
                by_ref.setdefault(tag, []).append(str(m["id"]))
        twice = sorted(ref for ref, ids in by_ref.items() if len(ids) > 1)
        assert not twice, f"the provider holds {len(twice)} references twice: {twice[:5]}"
        wrong = [
            ref
            for ref, pid in result.refs_with_provider_id.items()
            if by_ref.get(ref, [None])[0] != pid
        ]
        assert not wrong, f"{len(wrong)} recorded ids differ from the provider's: {wrong[:5]}"
        unrecorded = set(by_ref) - set(result.refs_with_provider_id) - result.unknown_refs
        assert not unrecorded, (
            f"{len(unrecorded)} messages the provider took are recorded neither as taken nor "
            f"as unknown: {sorted(unrecorded)[:5]}"
        )
    else:
        sids = {str(m["sid"]) for m in stored}
        recorded = set(result.refs_with_provider_id.values())
        assert recorded <= sids, f"{len(recorded - sids)} recorded sids are not at the provider"
        unrecorded = len(sids - recorded)
        assert unrecorded <= len(result.unknown_refs), (
            f"{unrecorded} messages the provider took are recorded neither as taken nor unknown"
        )
