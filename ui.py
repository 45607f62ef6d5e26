"""What every page shares: the cached service, the user's language, the acting user.

Not a page. The Engine inside the service is cached once per process and database URL
(``st.cache_resource``); sessions are never cached: each call opens and closes its own.
"""

from __future__ import annotations

import os

import streamlit as st

from sms_core.i18n import DEFAULT_LANGUAGE
from sms_core.i18n import t as _t
from sms_core.service import SmsService


@st.cache_resource(show_spinner=False)
def _service(database_url: str) -> SmsService:
    return SmsService.from_env()


def service() -> SmsService:
    """The product's service for the configured database."""
    return _service(os.environ.get("SMS_DATABASE_URL", ""))


def lang() -> str:
    """The language chosen in the sidebar."""
    return st.session_state.get("lang", DEFAULT_LANGUAGE)


def t(key: str, **values: object) -> str:
    """A UI string in the user's language."""
    return _t(key, lang(), **values)


def actor() -> str:
    """Who acts, for the audit trail (the login of the access-control issue goes here)."""
    return "dashboard"
