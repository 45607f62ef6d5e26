"""Shared fixtures: sample rosters, the repository root, and databases on both backends.

Database fixtures: ``database_url`` / ``engine`` are parametrized over ``sqlite`` (a real
file in tmp_path) and ``postgresql`` (a throwaway database per test module on
127.0.0.1:5432, emptied before each test and dropped afterwards), both migrated with
sms_core.store.db.upgrade(). Without a reachable PostgreSQL the ``postgresql`` cases skip,
unless ``SMS_REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import os
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

    # Unique across concurrent test runs on the same server.
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


@pytest.fixture(scope="module")
def postgres_module_url(postgres_available) -> Iterator[str]:
    """A migrated PostgreSQL database for the whole test module."""
    with fresh_postgres_database() as url:
        _migrate(url)
        yield url


def _empty_postgres(url: str) -> None:
    from sqlalchemy import inspect

    from sms_core.store.db import make_engine

    engine = make_engine(url)
    try:
        tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
        quoted = ", ".join(f'"{t}"' for t in tables)
        with engine.begin() as conn:
            # TRUNCATE does not fire the row triggers that keep audit_event append-only.
            conn.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        engine.dispose()


@pytest.fixture
def postgres_database_url(postgres_module_url) -> str:
    """The module's PostgreSQL database, migrated and emptied for this test."""
    _empty_postgres(postgres_module_url)
    return postgres_module_url


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sms.db'}"
        _migrate(url)
        return url
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
