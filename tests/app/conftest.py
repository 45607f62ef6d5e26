"""AppTest runs the dashboard in-process against a throwaway SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sms_core.roles import Principal
from sms_core.sending.quota import current_month
from sms_core.service import SmsService
from ui import USER_KEY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(tmp_path, monkeypatch, migrated_sqlite_url) -> SmsService:
    """An empty migrated database the dashboard uses (SMS_DATABASE_URL), via the service.

    A copy of the session's migrated file: the service's own upgrade() finds it at head.
    """
    monkeypatch.setenv("SMS_DATABASE_URL", migrated_sqlite_url)
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_PROVIDER", "sandbox")
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    return SmsService.from_env()


@pytest.fixture
def with_contract(database) -> SmsService:
    """The database with a contract of 1,000 units a month from this month."""
    database.set_contract(1000, current_month(), 3, "shared", None, actor="test")
    return database


@pytest.fixture
def run_app():
    """Run the dashboard once, as a fresh browser session of a signed-in user would
    (``role``: admin by default; ``role=None`` for a session nobody signed in to)."""

    def run(page: str | None = None, role: str | None = "admin") -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        if role is not None:
            at.session_state[USER_KEY] = Principal(f"test-{role}", role)
        at.run()
        return at.switch_page(f"pages/{page}.py").run() if page else at

    return run
