"""What every page shares: the signed-in user's service, the language, the acting user.

Not a page. The Engine inside the service is cached once per process and database URL
(``st.cache_resource``); sessions are never cached: each call opens and closes its own.
The user of a browser session lives in ``st.session_state`` (set by pages/login.py); the
service a page gets acts as that user, so sms_core checks the role on every change.
"""

from __future__ import annotations

import os

import streamlit as st

from sms_core.errors import AccessError
from sms_core.i18n import DEFAULT_LANGUAGE
from sms_core.i18n import t as _t
from sms_core.roles import Principal
from sms_core.service import SmsService

USER_KEY = "principal"


@st.cache_resource(show_spinner=False)
def _service(database_url: str) -> SmsService:
    return SmsService.from_env()


def base_service() -> SmsService:
    """The service before anyone signs in: only login and the first-admin check use it."""
    return _service(os.environ.get("SMS_DATABASE_URL", ""))


def user() -> Principal | None:
    """Who is signed in in this browser session, if anyone, as their account is now.

    The account is read again on every run of a page: a user an admin disabled is signed
    out at their next click, a demoted one sees their new role's pages.
    """
    principal = st.session_state.get(USER_KEY)
    if principal is None:
        return None
    try:
        current = base_service().for_user(principal).principal
    except AccessError:
        del st.session_state[USER_KEY]
        return None
    if current != principal:
        st.session_state[USER_KEY] = current
    return current


def service() -> SmsService:
    """The product's service acting as the signed-in user (pages run only after login)."""
    principal = user()
    if principal is None:
        st.stop()  # dashboard.py shows only the login page to a session without a user
    return base_service().for_user(principal)


def require(permission: str) -> None:
    """Stop the page with a plain message unless the user's role has ``permission``.

    Navigation already hides such pages and the service refuses their actions; this
    only turns a forged page address into a message instead of an error trace.
    """
    principal = user()
    if principal is None or not principal.can(permission):
        st.error(t("ui.forbidden"))
        st.stop()


def lang() -> str:
    """The language chosen in the sidebar."""
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """A UI string in the user's language."""
    return _t(key, lang(), **values)


def actor() -> str:
    """Who acts, for the audit trail: the signed-in user."""
    principal = user()
    return principal.name if principal else "anonymous"


def oidc_configured() -> bool:
    """Whether `[auth]` is configured in .streamlit/secrets.toml (then st.login is used)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets.toml at all: Streamlit raises on first access
        return False
