"""Shared fixtures: sample rosters, the repository root, and databases on both backends.

Database fixtures: ``database_url`` / ``engine`` are parametrized over ``sqlite`` (a real
file in tmp_path) and ``postgresql`` (a throwaway database on 127.0.0.1:5432, emptied
before each test and dropped at the end of the session), both migrated with
sms_core.store.db.upgrade(). Without a reachable PostgreSQL the ``postgresql`` cases skip,
unless ``SMS_REQUIRE_POSTGRES=1`` (CI), where they fail.

Migrating costs far more than a test's own work, so it runs once per session (per xdist
worker): a migrated SQLite file is copied into each test's tmp_path, and PostgreSQL cases
share one migrated database per session, emptied (TRUNCATE) before each test. One, not one
per module: PostgreSQL checkpoints on every DROP DATABASE, seconds on a busy server.
Under pytest-xdist every worker has its own tmp folders and database (the process id is in
its name), so workers never share a file or a database.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"

# The server's maintenance database, used only to create and drop test databases.
POSTGRES_ADMIN_URL = os.environ.get(
    "SMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]

# Tests that must not run beside others of their kind under pytest-xdist. Each kind is an
# xdist group; `--dist loadgroup` (make test) runs a group in one worker, one test after
# another, while the other workers share the rest. Three groups, so that the longest
# strands of the suite run beside each other rather than end to end:
#   "serial"       - races of many spawned processes, workers killed at random moments
#                    (and any test marked ``serial``);
#   "browser-send" - the real-browser tests of a send, on a running product of their own;
#   "browser"      - the other real-browser tests (every page, lookup and resend, a reload),
#                    on another.
SERIAL_GROUPS = {
    "serial": (
        "tests/integration/test_quota_concurrency.py",
        "tests/integration/test_migrations.py::test_concurrent_first_starts_migrate_once",
        "tests/integration/test_dispatch_crash.py",
        "tests/integration/test_dispatch_faults.py",
    ),
    "browser-send": ("tests/e2e/test_send_browser.py",),
    "browser": ("tests/e2e/",),
}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Put the serial tests into their xdist groups, and make xdist see the groups.

    ``tryfirst``: xdist reads the groups in its own pytest_collection_modifyitems, which
    is registered after this conftest. It marks a test's group by appending ``@group`` to
    the node id, through a field pytest 9.2 no longer reads (pytest-xdist issue 1386):
    the groups were silently ignored, every group's tests spread over the workers. Here
    the node id is given its suffix directly. tests/unit/test_serial_groups.py checks
    that a group runs in one worker."""
    # Set by xdist in its workers only (--dist loadgroup).
    loadgroup = getattr(config.option, "loadgroup", False)
    for item in items:
        for group, paths in SERIAL_GROUPS.items():
            if item.nodeid.startswith(paths) or (
                group == "serial" and item.get_closest_marker("serial")
            ):
                item.add_marker(pytest.mark.xdist_group(group))
                break
        if loadgroup:
            _suffix_group(item)


def _suffix_group(item) -> None:
    """``node id@group`` for a test in an xdist group, as xdist's scheduler expects."""
    groups = sorted(
        {
            str(m.args[0] if m.args else m.kwargs.get("name", "default"))
            for m in item.iter_markers("xdist_group")
        }
    )
    if not groups or "@" in item.nodeid.rpartition("]")[2] or not hasattr(item, "_id"):
        return  # no group; already suffixed; or a pytest where xdist's own suffix works
    from _pytest.nodeid import coerce_node_id

    item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.fixture(autouse=True)
def restore_main_module():
    """AppTest leaves dashboard.py as ``sys.modules["__main__"]``; put pytest's back.

    Otherwise a later test that starts processes with multiprocessing's "spawn" (the
    migration and quota races) has each child re-run dashboard.py as its main module,
    where it fails and is replaced forever: the pool never finishes.
    """
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def data_dir() -> Path:
    """The folder of shipped sample rosters."""
    return DATA


def _admin_connect():
    import psycopg

    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """True when PostgreSQL answers; otherwise skip (or fail with SMS_REQUIRE_POSTGRES=1)."""
    try:
        with _admin_connect() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason it cannot be used: down, auth, missing driver
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is not usable: {exc}"
        if os.environ.get("SMS_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (SMS_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    return True


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database with a unique name; yields its URL, drops it afterwards."""
    from sqlalchemy.engine import make_url

    # Unique across concurrent test runs and xdist workers on the same server.
    name = f"sms_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    from sms_core.store.db import make_engine, upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once per session (per xdist worker), to copy."""
    path = tmp_path_factory.mktemp("template") / "sms.db"
    _migrate(f"sqlite:///{path}")
    # Closing the last connection checkpointed the WAL: the main file holds everything.
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the template's WAL was not emptied"
    return path


@pytest.fixture
def migrated_sqlite_url(sqlite_template, tmp_path) -> str:
    """The URL of this test's own copy of the migrated SQLite file (tmp_path/sms.db)."""
    target = tmp_path / "sms.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def postgres_session_url(postgres_available) -> Iterator[str]:
    """A migrated PostgreSQL database for this session (this xdist worker's own)."""
    with fresh_postgres_database() as url:
        _migrate(url)
        yield url


# Every table of the current schema but Alembic's, listed when emptying (a test may have
# added one of its own, e.g. the naive control of the quota race).
_TABLES_SQL = (
    "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables"
    " WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
)


def _empty_postgres(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    # The driver directly: no engine, pool or inspector to build before every test.
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        row = conn.execute(_TABLES_SQL).fetchone()
        if not (row and row[0]):
            return
        # TRUNCATE does not fire the row triggers that keep audit_event append-only.
        truncate = f"TRUNCATE {row[0]} RESTART IDENTITY CASCADE"
        conn.execute("SET lock_timeout = '10s'")
        try:
            conn.execute(truncate)
        except psycopg.errors.LockNotAvailable:
            # An earlier test left a transaction open on this database: end its connection,
            # as DROP DATABASE … WITH (FORCE) did when each module had its own database.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            conn.execute(truncate)


@pytest.fixture
def postgres_database_url(postgres_session_url) -> str:
    """The session's PostgreSQL database, migrated and emptied for this test."""
    _empty_postgres(postgres_session_url)
    return postgres_session_url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("migrated_sqlite_url")
    return request.getfixturevalue("postgres_database_url")


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database, nothing migrated: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_available")
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def engine(database_url):
    """An engine on ``database_url`` (both backends), disposed after the test."""
    from sms_core.store.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()
