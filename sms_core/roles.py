"""Roles and what each may do (issue 4), checked by the service on every state-changing call.

=========  ====================================================================================
admin      everything: contract, settings and provider, test send to any number, users,
           the audit trail
operator   upload rosters and preview, send, schedule, cancel, pause, resend, edit a scheduled
           send, templates and drafts, opt-outs, a test send to their own number
analyst    read history and charts (phone numbers masked but the last 4 digits); nothing else
=========  ====================================================================================

The dashboard hides what a role may not do, but hiding is not the control: the service
refuses the call (AccessError) whatever page or script makes it. The command line runs
with the rights of whoever can reach the database from a shell, as ``admin``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sms_core.errors import AccessError, InputError

ROLES: tuple[str, ...] = ("admin", "operator", "analyst")

# permission -> roles that have it
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "preview": frozenset({"admin", "operator"}),  # upload a roster: personal data in
    "send": frozenset({"admin", "operator"}),  # confirm now or scheduled, cancel, pause
    "templates": frozenset({"admin", "operator"}),
    "optouts": frozenset({"admin", "operator"}),
    "contract": frozenset({"admin"}),
    "settings": frozenset({"admin"}),
    "test_send": frozenset({"admin"}),  # to any number
    # Issue 16: a test send to the user's own profile number only (admins: test_send).
    "test_send_own": frozenset({"admin", "operator"}),
    "users": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who acts: a user's name (what the audit trail records) and role."""

    name: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise InputError(
                f"a role is one of {', '.join(ROLES)}, not {self.role!r}", key="user.role"
            )

    def can(self, permission: str) -> bool:
        """Whether this role has ``permission`` (see PERMISSIONS)."""
        return self.role in PERMISSIONS[permission]

    def require(self, permission: str) -> None:
        """Raise AccessError unless this role has ``permission``."""
        if permission not in PERMISSIONS:
            raise InputError(f"unknown permission {permission!r}")
        if not self.can(permission):
            raise AccessError(
                f"{self.name} ({self.role}) may not do this: it needs the '{permission}' "
                f"permission, which only {', '.join(sorted(PERMISSIONS[permission]))} have"
            )


# The command line and scripts that build a service without a user.
SYSTEM = Principal("system", "admin")
