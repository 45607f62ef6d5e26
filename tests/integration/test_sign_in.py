"""Sign-in that holds (issue 13), on SQLite and PostgreSQL.

- The argon2 check runs outside any transaction: no connection of the service is held
  while it runs, and on SQLite another writer gets the write lock meanwhile.
- Unknown names, wrong passwords, disabled and slowed accounts get the same message after
  the same work (exactly one hash verified each: the time is the hash's).
- A disabled or demoted user's open session changes at their next action.
- A failed sign-in is audited under the typed name only when it names an account.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, update

from sms_core.errors import AccessError
from sms_core.service import SmsService
from sms_core.store import users
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, User

PASSWORD = "a-good-password-1"


@pytest.fixture
def system(engine) -> SmsService:
    svc = SmsService(engine)
    with transaction(engine) as s:
        users.add_user(s, "tanaka", "operator", actor="setup", password=PASSWORD)
        users.add_user(s, "kato", "operator", actor="setup", password=PASSWORD)
    return svc


class _CountingHasher:
    """The real hasher, counting verifications and running ``during`` inside each."""

    def __init__(self, real, during=None):
        self.real, self.during, self.verified = real, during, 0

    def verify(self, hashed, password):
        self.verified += 1
        if self.during:
            self.during()
        return self.real.verify(hashed, password)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_the_password_hash_is_checked_outside_any_transaction(system, monkeypatch):
    engine = system.database_engine()
    seen = []

    def during():
        # Every connection of the service's pool is back: no transaction is open.
        seen.append(engine.pool.checkedout())
        if engine.dialect.name == "sqlite":
            # The real consequence on SQLite: another writer is not kept waiting.
            other = sqlite3.connect(engine.url.database, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
            finally:
                other.close()

    monkeypatch.setattr(users, "_hasher", _CountingHasher(users._hasher, during))
    system.login("tanaka", PASSWORD)
    with pytest.raises(AccessError):
        system.login("tanaka", "wrong-password")
    with pytest.raises(AccessError):
        system.login("nobody", "wrong-password")
    assert seen == [0, 0, 0]


def test_unknown_wrong_disabled_and_slowed_get_one_answer_after_one_hash_each(system, monkeypatch):
    counting = _CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", counting)
    system.set_user_disabled("kato", True)
    answers = {}

    def attempt(label, name, password):
        before = counting.verified
        with pytest.raises(AccessError) as caught:
            system.login(name, password)
        answers[label] = (str(caught.value), counting.verified - before)

    attempt("unknown", "nobody", PASSWORD)
    attempt("disabled", "kato", PASSWORD)
    for i in range(users.FREE_ATTEMPTS):
        attempt(f"wrong {i}", "tanaka", "wrong-password")
    attempt("slowed, right password", "tanaka", PASSWORD)
    attempt("slowed, wrong password", "tanaka", "wrong-password")
    assert len(set(answers.values())) == 1, answers
    message, hashes = answers["unknown"]
    assert hashes == 1 and "wrong name or password" in message


def test_a_disabled_users_open_session_ends_at_the_next_action(system):
    operator, _ = system.login("tanaka", PASSWORD)
    operator.save_template("案内", "本文", actor="tanaka")
    system.set_user_disabled("tanaka", True)
    with pytest.raises(AccessError):
        operator.save_template("案内2", "本文", actor="tanaka")
    with pytest.raises(AccessError):
        operator.optouts()
    assert [t.name for t in system.templates()] == ["案内"]


def test_a_demoted_users_open_session_has_the_new_role_at_the_next_action(system):
    operator, _ = system.login("tanaka", PASSWORD)
    assert operator.principal.role == "operator"
    with transaction(system.database_engine()) as s:
        s.execute(update(User).where(User.name == "tanaka").values(role="analyst"))
    assert operator.principal.role == "analyst"
    with pytest.raises(AccessError):
        operator.save_template("案内", "本文", actor="tanaka")


def test_a_failed_sign_in_keeps_the_typed_name_only_when_it_is_an_account(system):
    typed_password = "Hunter2-typed-into-the-name-field"
    for name in (typed_password, "tanaka"):
        with pytest.raises(AccessError):
            system.login(name, "wrong-password")
    with transaction(system.database_engine()) as s:
        failures = s.execute(
            select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == "login.failure")
        ).all()
    assert [actor for actor, _ in failures] == ["?", "tanaka"]
    dumped = repr(failures).lower()
    assert typed_password.lower() not in dumped and "hunter2" not in dumped
