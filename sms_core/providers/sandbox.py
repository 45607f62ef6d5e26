"""The sandbox provider, the embedded default: it sends nothing and records everything.

Every part "sent" is written to a small SQLite outbox (default ``data/sandbox_outbox.db``,
``SMS_SANDBOX_PATH`` to move it) shared by the dashboard, the worker and tests, each in its
own process (WAL journal and a busy timeout make that safe). A part is ``accepted`` when sent
and reaches its final state ``delivery_delay`` seconds later (default 2 s,
``SMS_SANDBOX_DELIVERY_DELAY``); :meth:`SandboxProvider.status` reports whichever applies
when asked. :meth:`SandboxProvider.find` looks a part up by its ``client_ref``.

Test numbers — valid mobile numbers, so the preview lets them through:

==============  ==========================================================================
080-9999-0001   rejected at send: ProviderPermanent "unreachable number"; nothing recorded
080-9999-0002   accepted, then ``failed`` with reason "absent subscriber"
080-9999-0003   ProviderTransient (``retry_after=1``) on the first attempt of each
                ``client_ref``; accepted on the next one
080-9999-0004   recorded as accepted, then ProviderAmbiguous, as if the answer was lost;
                ``find()`` settles it (a blind resend shows up as a second outbox row)
==============  ==========================================================================

Any other number is accepted and then ``delivered``. Like a real provider, the sandbox
rejects (ProviderPermanent) a number that is not 11 national digits and a body that is empty
or longer than 660 UTF-16 units; it records each send, so a part sent twice appears twice in
:meth:`SandboxProvider.outbox`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sms_core.clock import now_utc
from sms_core.errors import ProviderAmbiguous, ProviderPermanent, ProviderTransient
from sms_core.providers.base import ACCEPTED, DELIVERED, FAILED, Outbound, Provider, Receipt
from sms_core.providers.numbers import check_national
from sms_core.rules.units import MAX_MESSAGE_CHARS, units_for_chars, utf16_len

__all__ = [
    "AMBIGUOUS_NUMBER",
    "DEFAULT_DELIVERY_DELAY",
    "DEFAULT_PATH",
    "FAILING_NUMBER",
    "FLAKY_NUMBER",
    "UNREACHABLE_NUMBER",
    "OutboxEntry",
    "SandboxProvider",
]

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "sandbox_outbox.db"
DEFAULT_DELIVERY_DELAY = 2.0
BUSY_TIMEOUT_S = 10.0

UNREACHABLE_NUMBER = "08099990001"
FAILING_NUMBER = "08099990002"
FLAKY_NUMBER = "08099990003"
AMBIGUOUS_NUMBER = "08099990004"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id TEXT NOT NULL UNIQUE,
    client_ref  TEXT NOT NULL,
    to_number   TEXT NOT NULL,
    body        TEXT NOT NULL,
    sender      TEXT,
    units       INTEGER NOT NULL,
    created_at  REAL NOT NULL,
    final_at    REAL NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    reason      TEXT
);
CREATE INDEX IF NOT EXISTS outbox_client_ref ON outbox (client_ref);
CREATE TABLE IF NOT EXISTS attempts (
    client_ref TEXT PRIMARY KEY,
    count      INTEGER NOT NULL
);
"""
_COLUMNS = (
    "provider_id, client_ref, to_number, body, sender, units, created_at, final_at, outcome, reason"
)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One part the sandbox took, with its state at the time it was read."""

    provider_id: str
    client_ref: str
    to: str
    body: str
    sender: str | None
    units: int
    created_at: datetime
    state: str
    reason: str | None

    def receipt(self) -> Receipt:
        """This entry as the provider's receipt."""
        return Receipt(self.provider_id, self.state, self.reason, self.units)


class SandboxProvider(Provider):
    """Records parts in a shared SQLite outbox instead of sending them."""

    name = "sandbox"

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        delivery_delay: float = DEFAULT_DELIVERY_DELAY,
    ) -> None:
        self.path = Path(path) if path is not None else DEFAULT_PATH
        self.delivery_delay = float(delivery_delay)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SandboxProvider(path={str(self.path)!r}, delivery_delay={self.delivery_delay})"

    # --- the provider interface --------------------------------------------------------

    def send(self, msg: Outbound) -> Receipt:
        """Record ``msg`` (or fail as its test number says); see the module docstring."""
        to = check_national(msg.to)
        chars = utf16_len(msg.body)
        if chars == 0:
            raise ProviderPermanent(
                "the message body is empty; nothing was sent", code="empty_body"
            )
        if chars > MAX_MESSAGE_CHARS:
            raise ProviderPermanent(
                f"the message has {chars} characters, more than {MAX_MESSAGE_CHARS}; "
                "nothing was sent",
                code="body_too_long",
            )
        if to == UNREACHABLE_NUMBER:
            raise ProviderPermanent("unreachable number", code="unreachable")
        if to == FLAKY_NUMBER and self._count_attempt(msg.client_ref) == 1:
            raise ProviderTransient(
                "sandbox: busy, not processed (test number 080-9999-0003); retry after 1 s",
                code="busy",
                retry_after=1.0,
            )
        outcome, reason = (
            (FAILED, "absent subscriber") if to == FAILING_NUMBER else (DELIVERED, None)
        )
        # Instants come from the product clock, so a test that sets it sees the sandbox agree.
        now = now_utc().timestamp()
        provider_id = "SBX" + uuid.uuid4().hex
        units = units_for_chars(chars)
        self._write(
            f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                provider_id,
                msg.client_ref,
                to,
                msg.body,
                msg.sender,
                units,
                now,
                now + self.delivery_delay,
                outcome,
                reason,
            ),
        )
        if to == AMBIGUOUS_NUMBER:
            raise ProviderAmbiguous(
                "sandbox: the answer was lost (test number 080-9999-0004); the message may "
                "have been sent, so it stays unknown until find() settles it",
                code="lost_answer",
            )
        return Receipt(provider_id, ACCEPTED, None, units)

    def status(self, provider_id: str) -> Receipt:
        """The state of a recorded part: ``accepted`` until its delay has passed."""
        rows = self._read(f"SELECT {_COLUMNS} FROM outbox WHERE provider_id = ?", (provider_id,))
        if not rows:
            raise ProviderPermanent(f"the sandbox has no message {provider_id}", code="not_found")
        return self._entry(rows[0]).receipt()

    def find(self, msg: Outbound, sent_after: datetime) -> Receipt | None:
        """The first recorded part with ``msg.client_ref``, or None if there is none."""
        rows = self._read(
            f"SELECT {_COLUMNS} FROM outbox WHERE client_ref = ? ORDER BY seq LIMIT 1",
            (msg.client_ref,),
        )
        return self._entry(rows[0]).receipt() if rows else None

    def close(self) -> None:
        """Close the outbox database."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- for tests and the dashboard ---------------------------------------------------

    def outbox(self) -> list[OutboxEntry]:
        """Every recorded part, oldest first, with its current state."""
        rows = self._read(f"SELECT {_COLUMNS} FROM outbox ORDER BY seq", ())
        return [self._entry(row) for row in rows]

    def erase(self, numbers: Iterable[str], provider_ids: Iterable[str] = ()) -> int:
        """Erase the parts sent to any of ``numbers`` (national form) or with one of
        ``provider_ids``: their number keeps its last 4 digits, their text is emptied.
        Returns how many parts were erased (issue 13: an erasure leaves no copy here).

        ``secure_delete`` makes SQLite overwrite the old contents of the changed pages
        instead of leaving them in the file's free space.
        """
        numbers, ids = list(numbers), list(provider_ids)
        if not numbers and not ids:
            return 0
        where = " OR ".join(
            part
            for part in (
                f"to_number IN ({', '.join('?' * len(numbers))})" if numbers else "",
                f"provider_id IN ({', '.join('?' * len(ids))})" if ids else "",
            )
            if part
        )
        self._write("PRAGMA secure_delete = ON", ())
        rows = self._write(
            "UPDATE outbox SET to_number = '*******' || substr(to_number, -4), body = '', "
            f"reason = NULL WHERE {where} RETURNING seq",
            (*numbers, *ids),
        )
        return len(rows)

    def clear(self) -> None:
        """Forget every recorded part and attempt."""
        self._write("DELETE FROM outbox", ())
        self._write("DELETE FROM attempts", ())

    # --- storage -----------------------------------------------------------------------

    def _entry(self, row: tuple) -> OutboxEntry:
        provider_id, client_ref, to, body, sender, units, created, final_at, outcome, reason = row
        final = now_utc().timestamp() >= final_at
        return OutboxEntry(
            provider_id=provider_id,
            client_ref=client_ref,
            to=to,
            body=body,
            sender=sender,
            units=units,
            created_at=datetime.fromtimestamp(created, UTC),
            state=outcome if final else ACCEPTED,
            reason=reason if final else None,
        )

    def _count_attempt(self, client_ref: str) -> int:
        rows = self._write(
            "INSERT INTO attempts (client_ref, count) VALUES (?, 1) "
            "ON CONFLICT (client_ref) DO UPDATE SET count = count + 1 RETURNING count",
            (client_ref,),
        )
        return int(rows[0][0])

    def _read(self, sql: str, params: tuple) -> list[tuple]:
        try:
            with self._lock:
                return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise ProviderTransient(f"sandbox outbox unavailable ({e}); try again later") from None

    def _write(self, sql: str, params: tuple) -> list[tuple]:
        # One statement, autocommitted: if it raises, nothing was recorded, so "not processed".
        try:
            with self._lock:
                return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise ProviderTransient(
                f"sandbox outbox unavailable ({e}); nothing was recorded, try again later"
            ) from None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # autocommit: each statement is its own transaction
                check_same_thread=False,  # shared by the worker's threads, behind self._lock
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _enable_wal(conn)
            conn.executescript(_SCHEMA)
            self._conn = conn
        return self._conn


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Switching the journal mode needs a moment alone with the file and may answer "locked"
    # without waiting on the busy timeout when several processes open it at once.
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
