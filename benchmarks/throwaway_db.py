"""A throwaway PostgreSQL database for a benchmark run, on $SMS_TEST_POSTGRES_URL's server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

ADMIN_URL = os.environ.get("SMS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_database(prefix: str = "sms_bench") -> tuple[str, Callable[[], None]]:
    """Create an empty database; returns its URL and a function that drops it."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False), drop
