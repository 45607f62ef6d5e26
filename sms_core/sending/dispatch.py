"""The dispatch worker: hands queued messages to the provider, never twice (R8, R15, R19).

Each cycle:

1. starts scheduled campaigns whose time has come;
2. turns messages whose lease expired in ``sending`` (their worker died between handing
   them over and recording the outcome) into ``unknown``;
3. settles ``unknown`` messages through the provider's lookup (:meth:`Provider.find`):
   found → recorded as the provider has it; certainly absent → queued again, since it was
   never sent; cannot tell → asked again later. Never resent blindly;
4. claims a batch of due messages with a lease (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL; SQLite serialises writers with ``BEGIN IMMEDIATE``), sends them with
   bounded concurrency and rate — starting no send in the second half of the lease, so
   no claim expires under a live request — and records every outcome: accepted → units
   move from reserved to used; certainly-not-processed → retried with exponential backoff
   and jitter (honouring Retry-After); maybe-processed → ``unknown``; permanent → failed
   with the provider's reason and its units (and those of the recipient's later parts)
   released;
5. polls delivery status of accepted messages;
6. finishes campaigns with nothing left open.

A recipient's parts go out in order: part k is claimable only once every earlier part
was accepted (R8). Every state change goes through :mod:`sms_core.sending.states`: a
conditional UPDATE on the states the table allows it from (and, here, on the state the
worker expects), so a change made by another worker is never overwritten, and quota moves
only with a state change that happened. A failed part cancels the recipient's later
queued parts there, whoever records the failure.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, exists, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from sms_core.clock import now_utc
from sms_core.errors import ProviderAmbiguous, ProviderPermanent, ProviderTransient
from sms_core.providers.base import DELIVERED, FAILED, Outbound, Provider, Receipt
from sms_core.sending import handover, quota, ratelimit
from sms_core.sending.states import (
    HANDED_OVER_STATES,
    OPEN_MESSAGE_STATES,
    CampaignState,
    MessageState,
    final_values,
    message_update,
    move_campaigns,
    move_messages,
    run_message_move,
    settle_accepted,
)
from sms_core.sending.taken import taken_params, taken_statement
from sms_core.store.db import rowcount, run_retrying, transaction
from sms_core.store.models import Campaign, Message

log = logging.getLogger(__name__)

M, C = MessageState, CampaignState


# Read with every claim, so built once (building a statement costs about as much worker
# CPU as running a small one).
_CAMPAIGN_TERMS = select(
    Campaign.id,
    Campaign.quota_month,
    Campaign.sender_mode,
    Campaign.sender_number,
    Campaign.deadline_at,
    Campaign.quiet_hours_override_reason,
).where(Campaign.id.in_(bindparam("ids", expanding=True)))


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")

# The newest campaign of a provider sending now: a new one means new messages (see
# Worker._refresh_statistics).
_NEWEST_SENDING = select(func.max(Campaign.id)).where(
    Campaign.state == CampaignState.SENDING, Campaign.provider == bindparam("provider")
)


@dataclass(frozen=True)
class DispatchConfig:
    """How a worker paces itself; every value can come from the environment."""

    # A claim covers a whole batch, and sends start only in its first half (see _pace): at
    # least twice the longest request (connect + read timeout, 5 + 30 s by default), so a
    # live worker's claim never expires under a request it started.
    lease_seconds: float = 90.0
    batch_size: int = 32
    concurrency: int = 4
    rate_per_second: float | None = None  # None: as fast as the provider answers
    # The provider-wide limit all workers share (issue 12, sms_core.sending.ratelimit):
    # stored in the database when set here; None leaves whatever is stored there.
    provider_rate_per_second: float | None = None
    max_attempts: int = 8
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    # After a lost answer the provider may still be processing: ask it only after this.
    settle_delay: float = 15.0
    status_poll_after: float = 2.0
    status_poll_max: float = 300.0
    idle_sleep: float = 0.5
    # While every cycle claims a full batch, the other steps of a cycle (start, expire,
    # settle, poll, finish) run at most this often; see Worker.run_once.
    housekeeping_interval: float = 1.0

    @classmethod
    def from_env(cls, **overrides: object) -> DispatchConfig:
        """Read ``SMS_WORKER_<FIELD>`` variables (e.g. SMS_WORKER_RATE_PER_SECOND=10)."""
        values: dict[str, Any] = {}
        for name, spec in cls.__dataclass_fields__.items():
            raw = os.environ.get(f"SMS_WORKER_{name.upper()}")
            if raw:
                values[name] = int(raw) if spec.type == "int" else float(raw)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message this worker holds a lease on, with what it needs to send and record it."""

    id: int
    campaign_id: int
    month: date
    recipient_row: int
    part_index: int
    units: int
    attempts: int
    outbound: Outbound
    # time.monotonic() after which it is too late in the lease to start sending it.
    send_by: float = float("inf")
    # Not handed over at or after this instant: the send's deadline or the start of quiet
    # hours (issue 12); it goes back to the queue and the next claim deals with it.
    hand_over_by: datetime | None = None


@dataclass
class CycleReport:
    """What one cycle did (for tests, logs and the progress display)."""

    started: int = 0
    expired: int = 0
    settled: int = 0
    claimed: int = 0
    accepted: int = 0
    retried: int = 0
    unknown: int = 0
    failed: int = 0
    polled: int = 0
    finished: int = 0
    withheld: int = 0  # stopped at hand-over: opted out, frequency cap (issue 12)
    lapsed: int = 0  # expired at hand-over: their deadline passed (issue 12)
    outcomes: dict[int, str] = field(default_factory=dict)

    def add_recorded(self, other: CycleReport) -> None:
        """Add the outcomes recorded in ``other`` (one batch's record) to this cycle's."""
        self.accepted += other.accepted
        self.retried += other.retried
        self.unknown += other.unknown
        self.failed += other.failed
        self.outcomes.update(other.outcomes)

    @property
    def idle(self) -> bool:
        """Nothing was there to do."""
        return not (
            self.started
            or self.expired
            or self.settled
            or self.claimed
            or self.polled
            or self.finished
            or self.withheld
            or self.lapsed
        )


def cycle_until_stopped(
    stop: threading.Event, cycle: Callable[[], bool], idle_sleep: float
) -> None:
    """Run ``cycle`` (True when it found nothing to do) until ``stop`` is set, resting
    ``idle_sleep`` after an idle cycle and four times that after a failed one."""
    while not stop.is_set():
        try:
            idle = cycle()
        except Exception:  # a database hiccup must not kill the worker; leases cover it
            log.exception("dispatch cycle failed; retrying")
            stop.wait(idle_sleep * 4)
            continue
        if idle:
            stop.wait(idle_sleep)


class Worker:
    """One dispatch worker process (several may run against PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        provider: Provider,
        config: DispatchConfig | None = None,
        *,
        worker_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.config = config or DispatchConfig()
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{random.getrandbits(32):x}"
        self._pool = ThreadPoolExecutor(max(1, self.config.concurrency), thread_name_prefix="send")
        self._next_send = 0.0
        self._rate_lock = threading.Lock()
        self.last_checks = handover.HandoverReport()
        if self.config.provider_rate_per_second:
            ratelimit.set_limit(engine, provider.name, self.config.provider_rate_per_second)
        self._shared_rate = ratelimit.limit_of(engine, provider.name)
        self._claim_statement = self._build_claim_statement()
        self._saturated = False
        self._next_housekeeping = 0.0
        self._newest_sending = 0  # the newest sending campaign's id seen (see start_due…)
        self.stop = threading.Event()

    def close(self) -> None:
        """Wait for sends in flight, then release the thread pool."""
        self._pool.shutdown(wait=True)

    def run(self) -> None:
        """Cycle until :attr:`stop` is set (SIGTERM sets it); the batch in flight is finished."""
        log.info("worker %s started with %s", self.id, self.provider.name)
        cycle_until_stopped(self.stop, lambda: self.run_once().idle, self.config.idle_sleep)
        log.info("worker %s stopped", self.id)

    def run_once(self) -> CycleReport:
        """One cycle: schedule, reconcile, claim and send one batch, poll, finish.

        While the worker is saturated (its last claim filled a batch), the steps other
        than claiming and sending run at most every ``housekeeping_interval`` seconds:
        each is a transaction of its own, and together they cost about as much database
        time as claiming and recording the batch. A cycle after a partial batch runs them
        all, so a campaign is finished as soon as its last batch is recorded.
        """
        report = CycleReport()
        now = now_utc()
        tick = time.monotonic()
        housekeeping = not self._saturated or tick >= self._next_housekeeping
        if housekeeping:
            self._next_housekeeping = tick + self.config.housekeeping_interval
            report.started = self.start_due_campaigns(now)
            report.expired = self.expire_leases(now)
            report.settled = self.settle_unknown(now, limit=self.config.batch_size)
            self._shared_rate = ratelimit.limit_of(self.engine, self.provider.name)
        # Not ``now``: settling may have taken a while, and the lease starts at the claim.
        claimed = self.claim(now_utc())
        report.claimed = len(claimed)
        report.withheld = self.last_checks.withheld
        report.lapsed = self.last_checks.expired
        self._saturated = len(claimed) >= self.config.batch_size
        if claimed:
            self.send_and_record(claimed, report)
        if housekeeping:
            report.polled = self.poll_statuses(now_utc(), limit=self.config.batch_size)
            report.finished = self.finish_campaigns(now_utc())
        return report

    # --- scheduling and reconciliation ---------------------------------------------------

    def start_due_campaigns(self, now: datetime) -> int:
        """Scheduled campaigns whose time has come start sending; on PostgreSQL, the
        planner's statistics are refreshed when a campaign starts or one confirmed to
        send now appears (see :meth:`_refresh_statistics`)."""
        postgres = self.engine.dialect.name == "postgresql"
        with transaction(self.engine) as s:
            started = move_campaigns(
                s,
                C.SENDING,
                Campaign.scheduled_at <= now,
                frm=C.SCHEDULED,
                started_at=func.coalesce(Campaign.started_at, now),
            )
            newest = (
                s.scalar(_NEWEST_SENDING, {"provider": self.provider.name}) if postgres else None
            )
        appeared = False
        if newest is not None and newest > self._newest_sending:
            appeared, self._newest_sending = True, newest
        if (started or appeared) and postgres:
            self._refresh_statistics()
        return started

    def _refresh_statistics(self) -> None:
        """ANALYZE the message table as a campaign starts (PostgreSQL).

        A campaign adds its messages all at once, and until autovacuum gets round to it
        the planner believes they are not there: it then plans the claim as "every queued
        message, anti-joined, then sorted" (tens of ms per claim for 20,000 messages)
        instead of reading the first due ones off the (state, next_attempt_at) index
        (about 1 ms). Worse, the claim is a prepared statement (psycopg prepares what
        runs often): a worker that idled on an empty table keeps a generic plan made for
        no rows, which reads every message of the campaign for each claim (seconds per
        claim for 10,000 messages, several workers then queueing on each other's locks)
        until the statistics change. So this runs for campaigns confirmed to send now
        too, when the worker first sees them. SKIP_LOCKED: never wait behind a running
        (auto)vacuum.
        """
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE (SKIP_LOCKED) message")
                conn.commit()
        except SQLAlchemyError as exc:  # only speed depends on it
            log.warning("could not ANALYZE the message table: %s", exc)

    def expire_leases(self, now: datetime) -> int:
        """Messages left in ``sending`` by a dead worker become ``unknown``, to be settled."""
        with transaction(self.engine) as s:
            return move_messages(
                s,
                M.UNKNOWN,
                Message.lease_expires_at < now,
                Message.provider == self.provider.name,
                frm=M.SENDING,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=now,
                updated_at=now,
                error_message="the worker stopped before recording the outcome",
            )

    def settle_unknown(self, now: datetime, *, limit: int) -> int:
        """Ask the provider about due ``unknown`` messages; record what it says."""
        with transaction(self.engine) as s:
            rows = s.execute(
                select(
                    Message.id,
                    Message.client_ref,
                    Message.phone,
                    Message.body,
                    Message.created_at,
                    Message.units,
                    Message.attempts,
                    Campaign.quota_month,
                    Campaign.sender_number,
                    Campaign.sender_mode,
                    Campaign.state.label("campaign_state"),
                )
                .join(Campaign, Campaign.id == Message.campaign_id)
                .where(
                    Message.state == M.UNKNOWN,
                    Message.provider == self.provider.name,
                    or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
                )
                .order_by(Message.id)
                .limit(limit)
            ).all()
        settled = 0
        for row in rows:
            outbound = Outbound(
                row.client_ref,
                row.phone,
                row.body,
                row.sender_number if row.sender_mode == "dedicated" else None,
            )
            sent_after = row.created_at - timedelta(minutes=1)
            try:
                found = self.provider.find(outbound, sent_after)
            except (ProviderTransient, ProviderAmbiguous, ProviderPermanent) as exc:
                delay = self._backoff(row.attempts + 1, getattr(exc, "retry_after", None))
                with transaction(self.engine) as s:
                    # Not a move: it stays unknown, to be asked again later.
                    s.execute(
                        update(Message)
                        .where(Message.id == row.id, Message.state == M.UNKNOWN)
                        .values(
                            next_attempt_at=now_utc() + timedelta(seconds=delay),
                            error_message=f"could not be settled yet: {exc}",
                            updated_at=now_utc(),
                        )
                    )
                continue
            with transaction(self.engine) as s:
                if found is None and row.campaign_state == C.CANCELLED:
                    # Never sent, and its campaign was cancelled meanwhile: release it.
                    changed = move_messages(
                        s,
                        M.CANCELLED,
                        Message.id == row.id,
                        frm=M.UNKNOWN,
                        updated_at=now_utc(),
                        error_message="not found at the provider; campaign cancelled",
                    )
                    if changed:
                        quota.release(s, row.quota_month, row.units)
                elif found is None:
                    # Certainly never reached the provider: sending it now is the first time.
                    changed = move_messages(
                        s,
                        M.QUEUED,
                        Message.id == row.id,
                        frm=M.UNKNOWN,
                        next_attempt_at=now_utc(),
                        updated_at=now_utc(),
                        error_message="not found at the provider; queued again",
                    )
                else:
                    changed = record_receipt(
                        s,
                        row.id,
                        M.UNKNOWN,
                        found,
                        row.quota_month,
                        row.units,
                        now=now_utc(),
                        poll_after=self.config.status_poll_after,
                    )
                settled += changed or 0
        return settled

    # --- claiming and sending ------------------------------------------------------------

    def claim(self, now: datetime) -> list[Claimed]:
        """Lease a batch of due messages whose earlier parts were all accepted (R8).

        In the same transaction, the hand-over checks of issue 12
        (:mod:`sms_core.sending.handover`): deadlines, quiet hours and the month's contract
        per campaign before the claim, opt-outs and the frequency cap for the claimed batch
        after it. What they stop is never handed over; ``last_checks`` says what they did.
        """
        lease = now + timedelta(seconds=self.config.lease_seconds)
        # Sends may start until half the lease has run (see DispatchConfig.lease_seconds).
        send_by = time.monotonic() + self.config.lease_seconds / 2

        def work(s: Session) -> list[Claimed]:
            if self.engine.dialect.name == "postgresql":
                # Planned for the table as it is now, every time: psycopg prepares what
                # runs often, and a generic plan made while the table was empty or small
                # reads a whole campaign per claim (anti-join by campaign alone, then a
                # scan of every queued message): seen taking minutes for 10,000 messages,
                # its row locks holding up the other workers' records the while.
                s.execute(_CUSTOM_PLANS)
            cond = handover.conditions(s)
            self.last_checks = checks = handover.before_claim(s, now, self.provider.name, cond)
            rows = s.execute(self._claim_statement, {"claim_now": now, "claim_lease": lease}).all()
            if not rows:
                return []
            campaigns = self._campaign_terms(s, {r.campaign_id for r in rows}, now, cond)
            claimed = []
            for r in sorted(rows, key=lambda r: r.id):
                month, sender, hand_over_by, deadline = campaigns[r.campaign_id]
                claimed.append(
                    Claimed(
                        r.id,
                        r.campaign_id,
                        month,
                        r.recipient_row,
                        r.part_index,
                        r.units,
                        r.attempts,
                        Outbound(r.client_ref, r.phone, r.body, sender, deadline),
                        send_by,
                        hand_over_by,
                    )
                )
            return handover.screen(s, claimed, now, self.id, cond, checks)

        # A deadlock with another worker's record (both move the per-state counts) is run
        # again, not left to fail the cycle.
        return run_retrying(self.engine, work)

    def _build_claim_statement(self) -> Update:
        """The claim, built once: building it anew (two aliases of a wide table) costs more
        than running it."""
        # One statement: WITH due AS MATERIALIZED (SELECT … FOR UPDATE SKIP LOCKED) UPDATE …
        # WHERE id IN (SELECT id FROM due) RETURNING …. Materialized, the selection runs
        # once and locks what it picked before the UPDATE touches a row. As a plain IN
        # (subquery), PostgreSQL may re-run the subquery while rechecking rows another
        # worker changed meanwhile (EvalPlanQual): seen spinning for minutes at full CPU.
        # The candidates are an alias, so the UPDATE's own table is not correlated into it.
        candidate = aliased(Message, name="candidate")
        earlier = aliased(Message, name="earlier")
        blocked = exists().where(
            earlier.campaign_id == candidate.campaign_id,
            earlier.recipient_row == candidate.recipient_row,
            earlier.part_index < candidate.part_index,
            earlier.state.not_in(HANDED_OVER_STATES),
        )
        now = bindparam("claim_now", type_=Message.next_attempt_at.type)
        due = (
            select(candidate.id)
            .join(Campaign, Campaign.id == candidate.campaign_id)
            .where(
                candidate.state == M.QUEUED,
                candidate.provider == self.provider.name,
                Campaign.state == C.SENDING,
                or_(candidate.next_attempt_at.is_(None), candidate.next_attempt_at <= now),
                ~blocked,
            )
            # Earliest due first, along the (state, next_attempt_at) index: by id, PostgreSQL
            # walks the primary key past every message already sent, on every claim.
            .order_by(candidate.next_attempt_at)
            .limit(self.config.batch_size)
            .with_for_update(of=candidate, skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        table = Message.__table__
        return message_update(
            M.SENDING,
            table.c.id.in_(select(due.c.id)),
            frm=M.QUEUED,
            lease_owner=self.id,
            lease_expires_at=bindparam("claim_lease", type_=Message.lease_expires_at.type),
            attempts=table.c.attempts + 1,
            updated_at=now,
        ).returning(
            table.c.id,
            table.c.campaign_id,
            table.c.recipient_row,
            table.c.part_index,
            table.c.units,
            table.c.attempts,
            table.c.client_ref,
            table.c.phone,
            table.c.body,
        )

    def _campaign_terms(
        self, s: Session, ids: set[int], now: datetime, cond: handover.Conditions
    ) -> dict[int, tuple[date, str | None, datetime | None, datetime | None]]:
        """Quota month, dedicated sender (None: shared), hand-over limit and deadline.

        The month is read in the claim transaction every time: the hand-over checks move
        a campaign's units to the month it goes out in (issue 12).
        """
        quiet_start = handover.quiet_starts_after(cond.quiet, now)
        terms = {}
        for c in s.execute(_CAMPAIGN_TERMS, {"ids": list(ids)}):
            sender = c.sender_number if c.sender_mode == "dedicated" else None
            limits = [c.deadline_at]
            if c.quiet_hours_override_reason is None:
                limits.append(quiet_start)
            known = [limit for limit in limits if limit is not None]
            terms[c.id] = (c.quota_month, sender, min(known) if known else None, c.deadline_at)
        return terms

    def _pace(self, send_by: float) -> bool:
        """Wait until the send rate allows one more request; False if not before ``send_by``.

        A message whose turn comes too late in its lease is not sent: once the lease has
        expired another worker settles it, finds nothing at the provider and sends it, and
        a request of ours still running then would be a second send.
        """
        rate = self.config.rate_per_second
        if not rate:
            return time.monotonic() <= send_by
        with self._rate_lock:
            now = time.monotonic()
            # Slots missed while the worker was recording a batch may be caught up, but no
            # more than ``concurrency`` of them: in any interval t, sends ≤ rate·t +
            # concurrency, and the rate holds over time instead of sagging by the
            # database's share of each cycle.
            start = max(self._next_send, now - self.config.concurrency / rate)
            if start > send_by:
                return False
            self._next_send = start + 1.0 / rate
        if start > now:
            time.sleep(start - now)
        return True

    def _wait_for_slot(self, claimed: Claimed, slot: float | None) -> bool:
        """Wait for the provider-wide slot (time.monotonic()); False if past ``send_by``."""
        if slot is None:
            return True
        if slot > claimed.send_by:
            return False
        delay = slot - time.monotonic()
        # stop.wait() is True when the worker is told to stop meanwhile: then not sent.
        return not (delay > 0 and self.stop.wait(delay))

    def _send(self, claimed: Claimed, slot: float | None = None) -> Receipt | Exception:
        if self.stop.is_set() or not self._wait_for_slot(claimed, slot):
            return _NotSent()
        if not self._pace(claimed.send_by):
            return _NotSent()
        if claimed.hand_over_by is not None and now_utc() >= claimed.hand_over_by:
            return _NotSent()  # quiet hours began or the deadline passed meanwhile
        try:
            return self.provider.send(claimed.outbound)
        except (ProviderTransient, ProviderAmbiguous, ProviderPermanent) as exc:
            return exc
        except Exception as exc:  # an adapter bug after the request may have left: ambiguous
            log.exception("unexpected error sending %s", claimed.outbound.client_ref)
            return ProviderAmbiguous(f"unexpected error: {type(exc).__name__}")

    def send_and_record(self, claimed: list[Claimed], report: CycleReport) -> None:
        """Send the claimed batch with bounded concurrency, then record every outcome.

        Under a provider-wide limit the batch first takes its slots (one statement); the
        k-th message starts no earlier than its slot.
        """
        slots: list[float | None] = [None] * len(claimed)
        if self._shared_rate:
            granted = ratelimit.take(self.engine, self.provider.name, len(claimed))
            if granted is not None:
                # Epoch slots to this process's monotonic clock, which the waits use.
                offset = time.monotonic() - now_utc().timestamp()
                slots = [granted.at(k) + offset for k in range(len(claimed))]
        outcomes = list(self._pool.map(self._send, claimed, slots))
        taken = [(m, o) for m, o in zip(claimed, outcomes, strict=True) if isinstance(o, Receipt)]

        def record(s: Session) -> CycleReport:
            recorded = CycleReport()
            if taken:
                self._record_taken(s, taken, recorded)
            for message, outcome in zip(claimed, outcomes, strict=True):
                if not isinstance(outcome, Receipt):
                    recorded.outcomes[message.id] = self._record(s, message, outcome, recorded)
            return recorded

        # The outcomes are known: a record that deadlocked with another worker's claim is
        # run again rather than lost (its messages would wait for their leases to expire).
        report.add_recorded(run_retrying(self.engine, record))

    def _record_taken(
        self, s: Session, taken: list[tuple[Claimed, Receipt]], report: CycleReport
    ) -> None:
        """Record the receipts of a batch; move the units of those still ours to used.

        The batch's database time is what limits throughput, so this is one UPDATE per
        receipt state (nearly always one: accepted), built once per shape
        (:mod:`sms_core.sending.taken`), and one ledger move per month, instead of two
        statements per message. RETURNING says which messages this worker still held:
        only those move units.
        """
        now = now_utc()
        groups: dict[tuple[str, str | None], list[tuple[Claimed, Receipt]]] = {}
        for m, receipt in taken:
            groups.setdefault((receipt.state, receipt.reason), []).append((m, receipt))
            report.outcomes[m.id] = receipt.state
        units: dict[date, int] = {}
        for group in groups.values():
            by_id = {m.id: m for m, _ in group}
            to, values = self._receipt_values(group[0][1], now)
            statement = taken_statement(self.id, len(group), to, tuple(sorted(values)))
            params = taken_params(list(by_id), [r.provider_id for _, r in group], values)
            changed = run_message_move(s, statement, to, params, reason=group[0][1].reason)
            for message_id in changed:
                m = by_id[message_id]
                units[m.month] = units.get(m.month, 0) + m.units
            report.accepted += len(changed)
        for month, n in units.items():
            # The provider took them: their units are used, whatever the carrier does next.
            quota.commit_units(s, month, n)

    def _record(self, s: Session, m: Claimed, outcome: Exception, report: CycleReport) -> str:
        now = now_utc()
        mine = (Message.id == m.id, Message.lease_owner == self.id)
        cleared = {"lease_owner": None, "lease_expires_at": None, "updated_at": now}
        if isinstance(outcome, _NotSent):
            move_messages(
                s, M.QUEUED, *mine, frm=M.SENDING, attempts=Message.attempts - 1, **cleared
            )
            return M.QUEUED
        code = getattr(outcome, "code", None)
        if isinstance(outcome, ProviderTransient) and m.attempts < self.config.max_attempts:
            delay = self._backoff(m.attempts, outcome.retry_after)
            move_messages(
                s,
                M.QUEUED,
                *mine,
                frm=M.SENDING,
                next_attempt_at=now + timedelta(seconds=delay),
                error_code=code,
                error_message=str(outcome),
                **cleared,
            )
            report.retried += 1
            return M.QUEUED
        if isinstance(outcome, ProviderAmbiguous):
            move_messages(
                s,
                M.UNKNOWN,
                *mine,
                frm=M.SENDING,
                error_code=code,
                error_message=str(outcome),
                next_attempt_at=now + timedelta(seconds=self.config.settle_delay),
                **cleared,
            )
            report.unknown += 1
            return M.UNKNOWN
        # Permanent, or transient too many times: failed, and its units are released (the
        # move also cancels the recipient's later parts and releases theirs, R8).
        reason = str(outcome)
        if isinstance(outcome, ProviderTransient):
            reason = f"gave up after {m.attempts} attempts: {outcome}"
        changed = move_messages(
            s,
            M.FAILED,
            *mine,
            frm=M.SENDING,
            failed_at=now,
            error_code=code,
            error_message=reason,
            **cleared,
        )
        if changed:
            quota.release(s, m.month, m.units)
        report.failed += 1
        return M.FAILED

    def _receipt_values(self, receipt: Receipt, now: datetime) -> tuple[str, dict[str, object]]:
        """The state a receipt moves a message to, and the columns it sets but its provider id."""
        values = receipt_values(receipt, now, poll_after=self.config.status_poll_after)
        return str(values.pop("state")), values

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than the provider asked."""
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2 ** max(attempt - 1, 0))
        delay = random.uniform(0, ceiling)
        return max(delay, retry_after or 0.0)

    # --- delivery status and completion --------------------------------------------------

    def poll_statuses(self, now: datetime, *, limit: int) -> int:
        """Ask the provider about accepted messages that are due a status check."""
        with transaction(self.engine) as s:
            rows = s.execute(
                select(Message.id, Message.provider_id, Message.accepted_at)
                .where(
                    Message.state == M.ACCEPTED,
                    Message.provider == self.provider.name,
                    Message.provider_id.is_not(None),
                    or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
                )
                .order_by(Message.next_attempt_at)
                .limit(limit)
            ).all()
        polled = 0
        for row in rows:
            try:
                receipt = self.provider.status(row.provider_id)
            except (ProviderTransient, ProviderAmbiguous, ProviderPermanent):
                receipt = None
            now = now_utc()
            with transaction(self.engine) as s:
                if receipt is not None and receipt.state in (DELIVERED, FAILED):
                    polled += settle_accepted(s, row.id, receipt.state, now, reason=receipt.reason)
                    continue
                # Not a move: still accepted, asked again later (less often as it ages).
                age = (now - (row.accepted_at or now)).total_seconds()
                wait = min(max(age / 2, self.config.status_poll_after), self.config.status_poll_max)
                polled += (
                    rowcount(
                        s.execute(
                            update(Message)
                            .where(Message.id == row.id, Message.state == M.ACCEPTED)
                            .values(updated_at=now, next_attempt_at=now + timedelta(seconds=wait))
                        )
                    )
                    or 0
                )
        return polled

    def finish_campaigns(self, now: datetime) -> int:
        """Sending campaigns with no message queued, in flight or unknown are finished."""
        still_open = exists().where(
            Message.campaign_id == Campaign.id, Message.state.in_(OPEN_MESSAGE_STATES)
        )
        with transaction(self.engine) as s:
            return move_campaigns(s, C.FINISHED, ~still_open, frm=C.SENDING, finished_at=now)


def receipt_values(receipt: Receipt, now: datetime, *, poll_after: float) -> dict[str, object]:
    """The columns (state included) a provider's first word on a message sets, but its
    provider id.

    For a message the provider had not been known to hold (``sending`` or ``unknown``):
    it is accepted now, whatever its state, and its status is polled ``poll_after``
    seconds later. The worker and the link service's pushed receipts
    (:mod:`sms_core.linkserver.receipts`) both use it, through :func:`record_receipt` or
    the worker's batch, so both record the same thing.
    """
    values: dict[str, object] = {
        "state": MessageState(receipt.state).value,
        "accepted_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
        "error_code": None,
        "error_message": None,
        "next_attempt_at": now + timedelta(seconds=poll_after),
    }
    values.update(final_values(receipt.state, now, reason=receipt.reason))
    return values


def record_receipt(
    s: Session,
    message_id: int,
    expected: MessageState | str,
    receipt: Receipt,
    month: date,
    units: int,
    *,
    now: datetime,
    poll_after: float,
    error_code: str | None = None,
) -> int:
    """Record the provider's first word on a message in state ``expected`` (``sending``
    or ``unknown``): accepted, delivered or failed as ``receipt`` says, and its units
    move reserved → used (the provider took it). 1 if it moved, else 0.

    The worker (settling an unknown message by lookup) and the link service (a pushed
    receipt) both record through here.
    """
    values = receipt_values(receipt, now, poll_after=poll_after)
    to = str(values.pop("state"))
    values["provider_id"] = receipt.provider_id
    if error_code is not None:
        values["error_code"] = error_code
    changed = move_messages(s, to, Message.id == message_id, frm=expected, **values)
    if changed:
        # The provider took it: its units are used, whatever the carrier does next.
        quota.commit_units(s, month, units)
    return changed


class _NotSent(Exception):
    """Marks a claimed message not handed over (stopping, or too late in its lease)."""
