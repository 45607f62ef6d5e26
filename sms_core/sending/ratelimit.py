"""One send-rate limit per provider, shared by every worker (issue 12).

Karaden and Twilio accounts have a rate limit; a limit kept in each worker lets N workers
send at N times it. Here the limit lives in the database: ``rate_limit`` holds, per
provider, the rate and ``next_slot`` — the first instant (epoch seconds) not yet given to
a send. A worker about to send a batch of ``n`` takes ``n`` consecutive slots with one
conditional UPDATE::

    UPDATE rate_limit SET next_slot = max(next_slot, now) + n / rate
    WHERE provider = … RETURNING next_slot, rate

and starts its k-th send no earlier than ``slot + k / rate``. The UPDATE is atomic on both
backends (PostgreSQL locks the row; SQLite runs one writer at a time), so slots are never
given twice and all workers together start at most ``rate · t + 1`` sends in any ``t``
seconds. Idle time is not banked (``max(next_slot, now)``). A slot a worker does not use
(it stops, or the lease runs short) is lost: the limit errs on the slow side.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from sms_core.clock import now_utc
from sms_core.errors import InputError
from sms_core.store.db import read_only, transaction
from sms_core.store.models import RateLimit

__all__ = ["Slots", "limit_of", "set_limit", "take"]


@dataclass(frozen=True, slots=True)
class Slots:
    """``n`` send slots: the k-th starts ``first + k / rate`` (epoch seconds)."""

    first: float
    rate: float

    def at(self, k: int) -> float:
        """The start of the k-th slot (from 0)."""
        return self.first + k / self.rate


def set_limit(engine: Engine, provider: str, rate_per_second: float | None) -> None:
    """Set (or with None, lift) the provider-wide limit of ``provider``."""
    if rate_per_second is not None and not rate_per_second > 0:
        raise InputError(
            f"a rate limit is a positive number per second, not {rate_per_second}",
            key="ratelimit.rate",
            rate=rate_per_second,
        )
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(RateLimit).values(
        provider=provider, rate_per_second=rate_per_second, next_slot=0.0
    )
    statement = statement.on_conflict_do_update(
        index_elements=["provider"], set_={"rate_per_second": rate_per_second}
    )
    with transaction(engine) as s:
        s.execute(statement)


def limit_of(engine: Engine, provider: str) -> float | None:
    """The provider-wide limit of ``provider`` (sends per second), or None."""
    with transaction(read_only(engine)) as s:
        return s.scalar(select(RateLimit.rate_per_second).where(RateLimit.provider == provider))


def take(engine: Engine, provider: str, n: int) -> Slots | None:
    """Take ``n`` consecutive slots of ``provider``'s limit; None when it has no limit."""
    if n <= 0:
        return None
    now = now_utc().timestamp()
    table = RateLimit.__table__
    start = case((table.c.next_slot > now, table.c.next_slot), else_=now)
    with transaction(engine) as s:
        row = s.execute(
            update(table)
            .where(
                table.c.provider == provider,
                table.c.rate_per_second.is_not(None),
                table.c.rate_per_second > 0,
            )
            .values(next_slot=start + n / table.c.rate_per_second)
            .returning(table.c.next_slot, table.c.rate_per_second)
        ).one_or_none()
    if row is None:
        return None
    end, rate = row
    return Slots(end - n / rate, rate)
