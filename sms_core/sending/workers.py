"""The worker process of ``python -m sms_core worker``: a dispatch Worker per provider in use.

A campaign keeps the provider it was confirmed with (messages carry its name), and an
admin may switch the provider in Settings while campaigns are still going out or waiting
for their delivery receipts. So the process does not serve one provider fixed at start:
every ``refresh_interval`` it looks up the provider in use and the providers of recent
or unfinished campaigns, and keeps one :class:`~sms_core.sending.dispatch.Worker` for each —
the old provider goes on settling and polling what it sent, the new one sends what was
confirmed after the switch. A provider that cannot be built here (its credentials are
missing on this machine) is logged once and its messages wait, untouched, for a worker
that can.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.errors import ConfigError
from sms_core.providers.base import Provider
from sms_core.sending.dispatch import CycleReport, DispatchConfig, Worker, cycle_until_stopped
from sms_core.sending.notify import Notifier
from sms_core.sending.retention import redact_expired
from sms_core.store.app_settings import provider_in_use
from sms_core.store.db import read_only, transaction
from sms_core.store.models import Campaign

log = logging.getLogger(__name__)

# Finished campaigns still have accepted messages whose receipts are being polled for a
# while; their provider's worker is kept this long after the campaign was confirmed.
RECENT_CAMPAIGNS = timedelta(days=7)
_ACTIVE = ("scheduled", "sending", "paused")
# Retention masks by month: checking hourly keeps any message at most an hour late.
RETENTION_INTERVAL = 3600.0


class ProviderWorkers:
    """One Worker per provider in use, run in turn in one thread (one process)."""

    def __init__(
        self,
        engine: Engine,
        config: DispatchConfig | None = None,
        *,
        build: Callable[[str], Provider] | None = None,
        refresh_interval: float = 5.0,
    ) -> None:
        from sms_core.providers import get_provider

        self.engine = engine
        self.config = config or DispatchConfig()
        self._build = build or get_provider
        self.refresh_interval = refresh_interval
        self.workers: dict[str, Worker] = {}
        self._providers: dict[str, Provider] = {}
        self._unbuildable: set[str] = set()
        self._next_refresh = 0.0
        self._next_retention = 0.0
        self.stop = threading.Event()
        # Team chat notifications (issue 16): posted from their own thread, never in the way.
        self.notifier = Notifier(engine)

    def providers_in_use(self) -> set[str]:
        """The provider in use now and those of unfinished or recent campaigns."""
        since = now_utc() - RECENT_CAMPAIGNS
        with transaction(read_only(self.engine)) as s:
            names = set(
                s.scalars(
                    select(Campaign.provider)
                    .where(or_(Campaign.state.in_(_ACTIVE), Campaign.created_at >= since))
                    .distinct()
                )
            )
        names.add(provider_in_use(self.engine))
        return names

    def refresh(self) -> list[str]:
        """Start a Worker for every provider in use that has none; returns their names."""
        added = []
        for name in sorted(self.providers_in_use() - self.workers.keys()):
            if name in self._unbuildable:
                continue
            try:
                provider = self._build(name)
            except ConfigError as exc:
                self._unbuildable.add(name)
                log.error("cannot send through %s on this machine: %s", name, exc)
                continue
            self._providers[name] = provider
            self.workers[name] = Worker(self.engine, provider, self.config)
            added.append(name)
            log.info("sending through %s", name)
        return added

    def run_once(self) -> dict[str, CycleReport]:
        """Refresh if due, then one cycle of every provider's worker."""
        if time.monotonic() >= self._next_refresh:
            self.refresh()
            self._next_refresh = time.monotonic() + self.refresh_interval
        if time.monotonic() >= self._next_retention:
            self.redact_expired()
            self._next_retention = time.monotonic() + RETENTION_INTERVAL
        reports = {name: worker.run_once() for name, worker in list(self.workers.items())}
        self.notifier.kick()
        return reports

    def redact_expired(self) -> int:
        """Mask personal data past retention (sms_core.sending.retention); several workers may."""
        with transaction(self.engine) as s:
            masked = redact_expired(s)
        if masked:
            log.info("masked the personal data of %d messages past retention", masked)
        return masked

    def run(self) -> None:
        """Cycle until :attr:`stop` is set; each provider's batch in flight is finished."""
        cycle_until_stopped(
            self.stop,
            lambda: all(r.idle for r in self.run_once().values()),
            self.config.idle_sleep,
        )

    def request_stop(self) -> None:
        """Stop after the batches in flight (what SIGTERM and Ctrl-C call)."""
        self.stop.set()
        for worker in self.workers.values():
            worker.stop.set()

    def close(self) -> None:
        """Wait for sends in flight, then close every worker and provider."""
        for worker in self.workers.values():
            worker.close()
        for provider in self._providers.values():
            provider.close()
        self.notifier.close()
