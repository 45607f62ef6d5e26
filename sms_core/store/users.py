"""Local accounts: argon2-hashed passwords, login with slowing of guessing, first admin.

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed at login when those
defaults grow). A wrong password, an unknown name, a disabled or a slowed account give the
same message after the same work (exactly one hash is verified either way), so a login form cannot
tell which names exist. The hash is checked outside any write transaction.

Guessing is slowed per account: from the ``FREE_ATTEMPTS``-th failure on, the account
refuses every attempt — right or wrong — for a delay that doubles with each further
failure, up to ``MAX_LOCK``. Each failure and each refused attempt is written to the audit
trail (``login.failure``, under the account's name, or ``?`` when the typed name is not
an account), as is each login (``login.success``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sms_core.clock import now_utc
from sms_core.errors import AccessError, InputError
from sms_core.roles import ROLES, Principal
from sms_core.store.models import User, audit

__all__ = [
    "FIRST_ADMIN",
    "REFUSAL",
    "Account",
    "Login",
    "add_user",
    "authenticate",
    "change_password",
    "check_password",
    "current_principal",
    "ensure_first_admin",
    "find_account",
    "list_users",
    "principal_for_identity",
    "record_attempt",
    "set_disabled",
]

FIRST_ADMIN = "admin"
# Failures allowed before an account starts refusing attempts for a while.
FREE_ATTEMPTS = 3
MAX_LOCK = timedelta(minutes=15)
MIN_PASSWORD = 10  # characters; a generated one-time password has 16

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that case costs the same as a wrong
    password. Made at the first check, not on import: every process importing the store
    (each command, each worker) would otherwise pay an argon2 hash (~0.1 s) on start."""
    return _hasher.hash(secrets.token_urlsafe(16))


def _name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 200:
        raise InputError("a user name is 1 to 200 characters", key="user.name")
    return cleaned


def _find(session: Session, name: str) -> User | None:
    return session.scalars(select(User).where(func.lower(User.name) == name.lower())).first()


def _check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(
            f"a password has at least {MIN_PASSWORD} characters",
            key="password.short",
            min=MIN_PASSWORD,
        )
    return password


def add_user(
    session: Session,
    name: str,
    role: str,
    *,
    actor: str,
    password: str | None = None,
    oidc: bool = False,
) -> tuple[User, str | None]:
    """Create a user; returns it and its one-time password (None for OpenID Connect users,
    who log in with their identity provider and have no password here).

    Without ``password`` a random one is generated and must be changed at first login.
    """
    name = _name(name)
    if role not in ROLES:
        raise InputError(f"a role is one of {', '.join(ROLES)}, not {role!r}", key="user.role")
    if _find(session, name) is not None:
        raise InputError(f"a user named '{name}' already exists", key="user.exists", name=name)
    one_time = None
    if oidc:
        hashed = None
    else:
        one_time = password or secrets.token_urlsafe(12)
        hashed = _hasher.hash(_check_password(one_time))
    user = User(
        name=name,
        role=role,
        password_hash=hashed,
        must_change_password=not oidc and password is None,
        disabled=False,
        failed_logins=0,
        created_at=now_utc(),
    )
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", user=name, role=role, oidc=oidc)
    return user, (None if password is not None else one_time)


def ensure_first_admin(session: Session) -> str | None:
    """With no user at all, create ``admin`` and return its one-time password (else None).

    The embedded product is never open: its first start prints this password once.
    """
    if session.scalar(select(func.count()).select_from(User)):
        return None
    _, password = add_user(session, FIRST_ADMIN, "admin", actor="system")
    return password


def _delay(failures: int) -> timedelta:
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_ATTEMPTS + 1)), MAX_LOCK)


# One answer for every refused sign-in: an unknown name, a wrong password, a disabled or
# a slowed account all read alike, so the form tells nothing about which names exist or
# which accounts are being guessed at.
REFUSAL = "wrong name or password (after several failed attempts, wait a few minutes)"


@dataclass(frozen=True, slots=True)
class Login:
    """The outcome of a login attempt: a principal, or the refusal to show."""

    principal: Principal | None
    must_change_password: bool = False
    refusal: str | None = None
    # The refusal's stable code: one for every refused password sign-in (unknown name,
    # wrong password, locked), so the message never tells which names exist.
    refusal_key: str = "login.refused"

    def raise_if_refused(self) -> Principal:
        """The principal; AccessError with the refusal otherwise (call after the commit
        that records the attempt, so that a failure is counted and audited)."""
        if self.principal is None:
            raise AccessError(self.refusal or REFUSAL, key=self.refusal_key)
        return self.principal


@dataclass(frozen=True, slots=True)
class Account:
    """What a sign-in needs of a user, read before the password is checked."""

    id: int
    name: str
    password_hash: str | None
    usable: bool  # has a password here and is not disabled
    locked_until: datetime | None


def find_account(session: Session, name: str) -> Account | None:
    """The account a typed name names (case-insensitively), or None."""
    name = (name or "").strip()
    user = _find(session, name) if name and len(name) <= 200 else None
    if user is None:
        return None
    usable = user.password_hash is not None and not user.disabled
    return Account(user.id, user.name, user.password_hash, usable, user.locked_until)


def check_password(account: Account | None, password: str) -> tuple[bool, str | None]:
    """Verify ``password`` against the account's hash: (matches, a re-hash to store or None).

    Touches no database, so the caller runs it outside any transaction: argon2 takes
    ~0.1 s on purpose, and on SQLite a write transaction held that long stalls every send,
    click and receipt. Exactly one hash is verified whatever the account (a dummy one
    for an unknown, disabled or password-less account), so every answer costs the same.
    """
    # Made before looking at the account: a process's first check costs the same for
    # every name, as every later one does.
    dummy = _dummy_hash()
    real = account is not None and account.usable
    # A usable account has a password hash (see account_of).
    stored = cast(str, account.password_hash) if account is not None and real else dummy
    try:
        _hasher.verify(stored, password or "-")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if not real:
        return False, None
    rehash = _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None
    return True, rehash


def record_attempt(
    session: Session,
    account: Account | None,
    password_hash_checked: str | None,
    matches: bool,
    *,
    rehash: str | None = None,
    now: datetime | None = None,
) -> Login:
    """Record a checked sign-in in the caller's (write) transaction; the outcome to show.

    The account is read again, locked for update: a concurrent failure may have slowed
    it, an admin may have disabled it or the password may have changed since the hash
    was checked; any of those refuses. The audit trail names the account only when the
    typed name was one: a password typed into the name field never lands in it.
    """
    now = now or now_utc()
    user = None
    if account is not None:
        user = session.scalars(
            select(User).where(User.id == account.id).with_for_update()
        ).one_or_none()
    if user is None:
        audit(session, "?", "login.failure", reason="unknown name")
        return Login(None, refusal=REFUSAL)
    if user.password_hash is None or user.disabled:
        audit(session, user.name, "login.failure", reason="disabled or no password")
        return Login(None, refusal=REFUSAL)
    if user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        audit(session, user.name, "login.failure", reason="refused while slowed", wait=wait)
        return Login(None, refusal=REFUSAL)
    if not matches or user.password_hash != password_hash_checked:
        user.failed_logins += 1
        delay = _delay(user.failed_logins)
        user.locked_until = now + delay if delay else None
        audit(
            session,
            user.name,
            "login.failure",
            reason="wrong password",
            failures=user.failed_logins,
        )
        return Login(None, refusal=REFUSAL)
    if rehash is not None:
        user.password_hash = rehash
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    audit(session, user.name, "login.success")
    return Login(Principal(user.name, user.role), user.must_change_password)


def authenticate(
    session: Session, name: str, password: str, *, now: datetime | None = None
) -> Login:
    """Check a name and password in one session, recording the attempt.

    For scripts and tests; the service runs the same three steps with the hash check
    outside any transaction (:func:`find_account`, :func:`check_password`,
    :func:`record_attempt`). Never raises for a refused login: the caller commits the
    record first, then :meth:`Login.raise_if_refused`.
    """
    account = find_account(session, name)
    matches, rehash = check_password(account, password)
    checked = account.password_hash if account else None
    return record_attempt(session, account, checked, matches, rehash=rehash, now=now)


def principal_for_identity(session: Session, email: str | None) -> Login:
    """The login of someone signed in through OpenID Connect (st.login): a user added with
    ``users add EMAIL --oidc``. Others are refused, and the refusal is audited."""
    user = _find(session, email or "") if email else None
    if user is None or user.disabled or user.password_hash is not None:
        audit(session, (email or "?")[:100], "login.failure", reason="identity not a user")
        refusal = f"{email or 'this account'} is not a user here; ask an admin"
        return Login(None, refusal=refusal, refusal_key="login.not_user")
    user.last_login_at = now_utc()
    audit(session, user.name, "login.success", oidc=True)
    return Login(Principal(user.name, user.role))


def change_password(session: Session, name: str, old: str, new: str) -> None:
    """Replace a password after checking the old one (also ends a must-change)."""
    user = _find(session, name)
    if user is None or user.password_hash is None:
        raise AccessError("wrong name or password", key="login.refused")
    try:
        _hasher.verify(user.password_hash, old or "-")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AccessError("the current password is wrong", key="password.wrong") from None
    if new == old:
        raise InputError(
            "choose a new password different from the current one", key="password.same"
        )
    user.password_hash = _hasher.hash(_check_password(new))
    user.must_change_password = False
    audit(session, user.name, "user.password")


def set_disabled(session: Session, name: str, disabled: bool, *, actor: str) -> None:
    """Disable (or enable again) a user; a disabled user cannot log in."""
    user = _find(session, _name(name))
    if user is None:
        raise InputError(f"no user named '{name}'", key="user.missing", name=name)
    user.disabled = disabled
    audit(session, actor, "user.disable" if disabled else "user.enable", user=user.name)


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).order_by(User.name)))


def set_phone(session: Session, name: str, number: str | None, *, actor: str) -> str | None:
    """Set (or clear, with None/"") a user's own mobile number; returns its national form.

    Only a mobile number that can receive an SMS (R1) is accepted: it is where that
    user's test sends go (issue 16). The audit trail keeps its last 4 digits only.
    """
    from sms_core.rules.phone_verdict import classify

    user = _find(session, _name(name))
    if user is None:
        raise InputError(f"no user named '{name}'", key="user.missing", name=name)
    phone = None
    if number and number.strip():
        verdict = classify(number)
        if verdict.reason != "ok":
            raise InputError(
                f"'{number.strip()}' is not a Japanese mobile number (reason: {verdict.reason})",
                key="user.phone_not_mobile",
                number=number.strip(),
            )
        phone = verdict.national
    user.phone = phone
    audit(session, actor, "user.phone", user=user.name, phone_tail=phone[-4:] if phone else None)
    return phone


def get_phone(session: Session, name: str) -> str | None:
    """A user's own mobile number (national form), or None."""
    user = _find(session, _name(name))
    return user.phone if user is not None else None


def current_principal(session: Session, principal: Principal) -> Principal | None:
    """``principal`` as the database has its account now: None when it is disabled, with
    the stored role when that changed, unchanged when no account has its name.

    The service asks this before every action, so a disabled or demoted user's open
    session ends or changes at their next click, not at their next sign-in. A principal
    without an account is one a script or test built itself (as the CLI's system one):
    accounts are never deleted, only disabled.
    """
    row = session.execute(
        select(User.role, User.disabled).where(User.name == principal.name)
    ).one_or_none()
    if row is None:
        return principal
    if row.disabled:
        return None
    return principal if row.role == principal.role else Principal(principal.name, row.role)
