"""Where the records live: the database URL, engines, sessions and schema upgrades.

SQLite (a file in ``data/``) is the default; PostgreSQL is used when ``SMS_DATABASE_URL``
says so. Both run the same Alembic migrations, which the app applies itself on start.

On SQLite every transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken at
the start, so a read-then-write transaction can never be overtaken by another writer
between its read and its write, and a second writer waits on the busy timeout instead of
failing with "database is locked" when its deferred read transaction tries to write.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from weakref import WeakKeyDictionary

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from sms_core.errors import ConfigError
from sms_core.store.schema_head import read_head

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "ROOT",
    "alembic_config",
    "database_url",
    "head_revision",
    "is_retryable",
    "make_engine",
    "rowcount",
    "run_retrying",
    "session_factory",
    "transaction",
    "upgrade",
]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE_PATH = ROOT / "data" / "sms.db"
ENV_URL = "SMS_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_S = 30

# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_KEY = 0x534D5301


def _normalise_url(url: str) -> str:
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            # psycopg 3 is the driver we ship; SQLAlchemy would otherwise pick psycopg2.
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    raise ConfigError(
        f"{ENV_URL} must be a sqlite:///PATH or postgresql://USER@HOST/DB URL, "
        f"not '{url.split('://')[0]}://…'"
    )


def database_url() -> str:
    """The database URL: ``$SMS_DATABASE_URL``, else the SQLite file ``data/sms.db``.

    ``postgresql://`` (and ``postgres://``) URLs are rewritten to the psycopg 3 driver.
    """
    env = os.environ.get(ENV_URL, "").strip()
    if not env:
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return _normalise_url(env)


# The execution option that marks an engine's transactions as read-only (see read_only).
READ_ONLY = "sms_read_only"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # SQLAlchemy's documented recipe: stop pysqlite from issuing its own (deferred)
        # BEGIN, so that the "begin" hook below decides how every transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Statement journals (one per statement of a trigger that may conflict: the
            # message_count upserts of migration 0010) and sorts in memory, not temp
            # files: it halved the triggers' cost per inserted message (issue 14).
            cursor.execute("PRAGMA temp_store = MEMORY")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # Reports and pages only read: a deferred BEGIN lets them run beside a writer (WAL)
        # instead of queueing for the write lock behind the worker.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) for transactions that only read.

    On SQLite they begin deferred, so they never wait for the write lock; elsewhere the
    option changes nothing. Never write through it: on SQLite a write that starts in a
    deferred transaction can fail with "database is locked" instead of waiting.
    """
    return engine.execution_options(**{READ_ONLY: True})


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default :func:`database_url`), configured for this product.

    SQLite: WAL journal, 30 s busy timeout, foreign keys on, temporary storage in memory,
    ``BEGIN IMMEDIATE`` for every transaction; the folder of the file is created if missing.
    PostgreSQL (psycopg 3): connections are pinged before use.
    """
    url = _normalise_url(url) if url else database_url()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"the database URL is malformed: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the database folder '{folder}': {exc.strerror}"
                ) from None
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


_SESSION_FACTORIES: WeakKeyDictionary[Engine, sessionmaker[Session]] = WeakKeyDictionary()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """The session maker of ``engine``; loaded objects stay usable after commit."""
    # One per engine: building a sessionmaker costs as much as a short transaction.
    factory = _SESSION_FACTORIES.get(engine)
    if factory is None:
        factory = _SESSION_FACTORIES[engine] = sessionmaker(engine, expire_on_commit=False)
    return factory


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: yields a Session, commits on success, rolls back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session


T = TypeVar("T")
log = logging.getLogger(__name__)
# PostgreSQL's "try the transaction again" codes: deadlock_detected, serialization_failure.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def is_retryable(exc: BaseException) -> bool:
    """True for a transaction PostgreSQL aborted only so that another could go on
    (a deadlock or a serialization failure): running it again is the documented remedy."""
    return isinstance(exc, DBAPIError) and (getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES)


def run_retrying(engine: Engine, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """``work(session)`` in one transaction, run again (from the start, in a new
    transaction) when PostgreSQL aborts it for a deadlock or a serialization failure.

    ``work`` must have no effect outside the database that a second run would repeat. Other
    errors, and the last retryable one, propagate. Used where transactions of several
    processes update the same rows in no common order (the workers' claims and records,
    which both move the per-state counts of :mod:`sms_core.store.models`).
    """
    for attempt in range(1, attempts + 1):
        try:
            with transaction(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            log.info("transaction aborted by the database (%s); running it again", exc.orig)
            # A jittered pause, so the two sides of a deadlock do not meet again at once.
            time.sleep(random.uniform(0, 0.02 * attempt))
    raise AssertionError("unreachable")


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched.

    ``Session.execute`` is typed as returning a ``Result``; for DML it is a ``CursorResult``,
    which has ``rowcount``.
    """
    return cast(CursorResult[Any], result).rowcount


def alembic_config() -> Config:
    """The Alembic configuration of this repository (alembic.ini, migrations/)."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    # Absolute, so upgrade() works from any working directory.
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


@cache
def head_revision() -> str:
    """The newest revision of migrations/ (the files do not change under a running process).

    Read from the migration files' text (:mod:`sms_core.store.schema_head`), so that a
    process whose database is already at head never imports Alembic; Alembic answers
    only when the files are not plainly understood.
    """
    head = read_head(ROOT / "migrations" / "versions")
    if head is None:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None  # migrations/ always has a newest revision
    return head


def _at_head(engine: Engine, head: str) -> bool:
    """Whether the database is already at ``head``: one plain read, no lock, no Alembic."""
    try:
        with engine.connect() as connection, connection.begin():
            found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except (OperationalError, ProgrammingError):
        # No version table yet (a new database); a database that cannot be reached at all
        # fails again, with its own reason, on the locked path.
        return False
    return [row[0] for row in found] == [head]


def upgrade(engine: Engine) -> str:
    """Migrate the database of ``engine`` to the newest schema; returns that revision.

    Safe to call from several processes at once: SQLite serialises them through
    ``BEGIN IMMEDIATE``, PostgreSQL through a transaction-scoped advisory lock. Each run
    is one transaction: a failed migration leaves the schema as it was. A database
    already at head (every start but the first) is recognised by one unlocked read.
    """
    head = head_revision()
    # A database at head stays there (migrations only move forward), so the unlocked
    # read cannot be overtaken; deferred on SQLite so it never waits for a writer.
    if _at_head(read_only(engine), head):
        return head

    from alembic import command
    from alembic.runtime.migration import MigrationContext

    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        driver = cast(Any, connection.connection.dbapi_connection)  # open: connect() made it
        if sqlite:
            # SQLite's advice for schema changes (batch mode rebuilds tables): foreign keys
            # off, checked once at the end. The pragma is ignored inside a transaction, so
            # it goes to the driver before SQLAlchemy begins one.
            driver.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                if not sqlite:
                    connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})"
                    )
                # Another process may have migrated while this one waited for the lock.
                if MigrationContext.configure(connection).get_current_revision() == head:
                    return head
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise ConfigError("a migration left rows that break a foreign key")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")
    return head
