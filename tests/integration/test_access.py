"""Issue 4 on SQLite and PostgreSQL: every core action as every role, sign-in with slowed
guessing, the audit trail, retention and erasure that leave the monthly counts alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sms_core import reports
from sms_core.clock import now_utc
from sms_core.demo.seed import seed_history
from sms_core.errors import AccessError
from sms_core.roles import PERMISSIONS, ROLES, Principal
from sms_core.sending.quota import current_month
from sms_core.sending.retention import erase_phone, redact_expired
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import AuditEvent, Message, User
from sms_core.store.users import authenticate, ensure_first_admin

ROSTER = "区分,氏名,携帯電話番号\n新卒,佐藤,090-1111-2222\n新卒,鈴木,080-3333-4444\n".encode()


@pytest.fixture
def system(engine, monkeypatch, tmp_path) -> SmsService:
    monkeypatch.setenv("SMS_SANDBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.setenv("SMS_QUIET_HOURS", "00:00-00:00")
    monkeypatch.delenv("SMS_PROVIDER", raising=False)
    svc = SmsService(engine)
    svc.set_contract(1000, current_month(), 3, "shared", None, actor="setup")
    svc.save_template("既存", "{{氏名}}様", actor="setup")
    return svc


def events(engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


# (permission, call): every state-changing call of the service and the reads that expose
# personal data. Each call is valid for a role that has the permission.
def calls(svc: SmsService, n: int) -> list[tuple[str, object]]:
    # A draft made by someone allowed to make it: confirming it is the "send" check alone.
    drafted = SmsService(svc.database_engine()).draft_send(
        ROSTER, "r.csv", body="面接のご案内", name="送信", key=f"k{n}"
    )
    return [
        ("contract", lambda: svc.set_contract(900, current_month(), 3, "shared", None, actor="x")),
        ("settings", lambda: svc.set_setting("quiet_hours", "22:00-07:00", actor="x")),
        ("settings", lambda: svc.reset_setting("quiet_hours", actor="x")),
        ("test_send", lambda: svc.test_send("090-5555-0000", "テスト", key=f"t{n}", actor="x")),
        ("optouts", lambda: svc.add_optout(f"090-7777-{n:04d}", None, actor="x")),
        ("optouts", lambda: svc.remove_optout("090-7777-9999", actor="x")),
        ("optouts", lambda: svc.import_optouts(b"09088880000\n", "o.csv", actor="x")),
        ("optouts", svc.optouts),
        ("templates", lambda: svc.save_template(f"t{n}", "本文", actor="x")),
        ("templates", lambda: svc.save_draft("下書き", "本文")),
        ("preview", lambda: svc.roster_columns(ROSTER, "r.csv")),
        ("preview", lambda: svc.draft_send(ROSTER, "r.csv", body="本文")),
        (
            "send",
            lambda: svc.confirm_send(
                SmsService(svc.database_engine()).draft_send(
                    ROSTER, "r.csv", body="本文", key=f"d{n}"
                ),
                actor="x",
            ),
        ),
        ("send", lambda: svc.confirm_send(drafted, actor="x")),
        ("users", lambda: svc.add_user(f"user{n}", "analyst")),
        ("users", svc.users),
        ("users", lambda: svc.erase_phone("090-1234-0000")),
        ("audit", svc.audit_events),
        ("audit", svc.audit_csv),
        ("read", svc.quota),
        ("read", svc.contract),
        ("read", svc.templates),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_can_do_exactly_its_own(system, role):
    """The role check is in the service: a refused call raises AccessError and writes
    nothing (not even to the audit trail); an allowed one goes through."""
    svc = system.for_user(Principal(f"{role}-1", role))
    for n, (permission, call) in enumerate(calls(svc, 0)):
        allowed = role in PERMISSIONS[permission]
        before = events(system.database_engine())
        if allowed:
            call()
        else:
            with pytest.raises(AccessError, match=permission):
                call()
            assert events(system.database_engine()) == before, (role, n, permission)
    # What an allowed change records is the signed-in name, whatever actor was passed.
    with transaction(system.database_engine()) as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.actor != "setup")))
    assert actors <= {f"{role}-1"}
    # Cancelling is sending's: only those who may send may cancel.
    campaign = system.confirm_send(
        system.draft_send(ROSTER, "r.csv", body="本文", name="c", key="cancel-me"), actor="setup"
    )
    if svc.principal.can("send"):
        assert svc.cancel(campaign.id, actor="x").state == "cancelled"
    else:
        with pytest.raises(AccessError):
            svc.cancel(campaign.id, actor="x")


def test_sign_in_is_slowed_after_failures_and_every_attempt_is_audited(system):
    system.add_user("sato", "operator")  # a random one-time password nobody knows
    with transaction(system.database_engine()) as s:
        user = s.scalars(select(User).where(User.name == "sato")).one()
        assert user.password_hash.startswith("$argon2id$")
    one_time = system.add_user("tanaka", "operator")
    signed, must_change = system.login("Tanaka", one_time)  # names are case-insensitive
    assert signed.principal == Principal("tanaka", "operator") and must_change
    signed.change_password(one_time, "a-new-password-1")

    for _ in range(3):
        with pytest.raises(AccessError, match="wrong name or password"):
            system.login("tanaka", "guess")
    # Slowed now: even the right password is refused until the delay has passed (with
    # the same answer as a wrong password: the form does not tell a slowed account).
    with pytest.raises(AccessError, match="wrong name or password"):
        system.login("tanaka", "a-new-password-1")
    with pytest.raises(AccessError, match="wrong name or password"):
        system.login("nobody", "guess")  # the same answer for a name that does not exist
    later = now_utc() + timedelta(minutes=16)
    with transaction(system.database_engine()) as s:
        assert authenticate(s, "tanaka", "a-new-password-1", now=later).principal is not None
    with transaction(system.database_engine()) as s:
        failures = s.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "login.failure")
        ).all()
    # A name that is no account is not kept: it may be a password typed in the wrong field.
    assert failures.count("tanaka") == 4 and "nobody" not in failures

    system.set_user_disabled("tanaka", True)
    with pytest.raises(AccessError):
        system.login("tanaka", "a-new-password-1")


def test_the_first_admin_is_created_once(system):
    with transaction(system.database_engine()) as s:
        password = ensure_first_admin(s)
    assert password and len(password) >= 16
    with transaction(system.database_engine()) as s:
        assert ensure_first_admin(s) is None
    signed, must_change = system.login("admin", password)
    assert signed.principal.role == "admin" and must_change


def test_retention_and_erasure_mask_personal_data_and_keep_every_count(system):
    seeded = seed_history(system.database_engine(), 3_000, campaigns=30, months=18)
    before = {
        "monthly": reports.monthly_success(system.database_engine(), 18).to_dict("list"),
        "funnel": reports.funnel(system.database_engine()).to_dict("list"),
        "units": int(
            reports.units_per_campaign(system.database_engine(), limit=200)["units_used"].sum()
        ),
    }
    with transaction(system.database_engine()) as s:
        masked = redact_expired(s, months=13)
        # One candidate who got two recent messages (the seed's numbers are synthetic).
        ids = s.scalars(select(Message.id).where(Message.redacted_at.is_(None)).limit(2)).all()
        s.execute(update(Message).where(Message.id.in_(ids)).values(phone="09012345678"))
    phone = "09012345678"
    assert 0 < masked < seeded.messages
    with transaction(system.database_engine()) as s:
        old = s.execute(
            select(Message.phone, Message.name, Message.body).where(
                Message.redacted_at.is_not(None)
            )
        ).all()
        assert all(p.startswith("*******") and n is None and b == "" for p, n, b in old)
        assert redact_expired(s, months=13) == 0  # once only
    system.add_optout(phone, "asked", actor="setup")
    with transaction(system.database_engine()) as s:
        erased = erase_phone(s, phone, actor="admin")
        left = s.scalar(select(func.count()).where(Message.phone == phone))
    assert erased.messages == 2 and erased.kept_on_optout_list and left == 0
    after = {
        "monthly": reports.monthly_success(system.database_engine(), 18).to_dict("list"),
        "funnel": reports.funnel(system.database_engine()).to_dict("list"),
        "units": int(
            reports.units_per_campaign(system.database_engine(), limit=200)["units_used"].sum()
        ),
    }
    assert after == before
    with transaction(system.database_engine()) as s:
        logged = s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "erase")).one()
    assert phone not in logged and phone[-4:] in logged  # the trail keeps only the tail


def test_openid_connect_identities_map_to_users_added_for_them(system):
    """st.login gives an e-mail address; only one added with --oidc signs in, as its role."""
    assert system.add_user("ito@example.co.jp", "analyst", oidc=True) is None
    signed = system.login_identity("ITO@example.co.jp")
    assert signed.principal == Principal("ito@example.co.jp", "analyst")
    for email in ("stranger@example.co.jp", None):
        with pytest.raises(AccessError, match="not a user here"):
            system.login_identity(email)
    with pytest.raises(AccessError):  # an OIDC user has no password to guess
        system.login("ito@example.co.jp", "")
    system.add_user("local", "operator")
    with pytest.raises(AccessError):  # nor does a local user sign in through OIDC
        system.login_identity("local")
