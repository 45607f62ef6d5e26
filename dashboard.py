"""Entry point of the dashboard: ``streamlit run dashboard.py`` (started by ``make run``).

Nothing is open: a session without a signed-in user sees only the login page. After
login, navigation over pages/ follows the user's role (sms_core.roles; the service checks
the role again on every change). Without an SMS contract in force (none, or one that has
ended) only Settings is shown, where an admin sets one up (R16).
"""

from __future__ import annotations

import streamlit as st

from ui import (
    follow_session_redirect,
    keep_composer,
    language_switch,
    note_language,
    oidc_configured,
    service,
    sign_out,
    t,
    translate_streamlit_texts,
    user,
)

# An emoji icon becomes a data: URL in the page; a :material: one is fetched from an external
# font host, which a closed network refuses.
st.set_page_config(page_title="SMS", page_icon="✉️", layout="wide")

language_switch()
note_language()  # New send re-applies its kept values after a change of language
translate_streamlit_texts()  # Streamlit's own English (file uploader, "Press Enter …")

principal = user()
follow_session_redirect()  # after a sign-in or sign-out: the session cookie's routes
if principal is None:
    st.navigation([st.Page("pages/login.py", title=t("login.title"))]).run()
    st.stop()


def _logout() -> None:
    sign_out()
    if oidc_configured():
        st.logout()


st.sidebar.caption(t("login.as", name=principal.name, role=t(f"role.{principal.role}")))
if service().demo_present():
    st.sidebar.warning(t("demo.banner"))
st.sidebar.button(t("login.logout"), on_click=_logout)
keep_composer()  # New send's work, changed together with a click that leaves the page


def page(path: str, key: str, icon: str, **kw) -> st.Page:
    return st.Page(f"pages/{path}.py", title=t(f"nav.{key}"), icon=f":material/{icon}:", **kw)


settings = page("settings", "settings", "settings")
overview = page("overview", "overview", "dashboard", default=True)
history = page("history", "history", "history")
lookup = page("lookup", "lookup", "person_search")  # issue 16: every role reads it
if not service().has_active_contract():
    pages = [settings]  # R16: none, or it has ended: only Settings, to set one up
elif principal.role == "analyst":
    pages = [overview, history, lookup, settings]  # settings read-only: contract and quota
else:
    pages = [
        overview,
        page("new_send", "new_send", "send"),
        history,
        lookup,
        page("templates", "templates", "edit_note"),
        settings,
    ]
    if principal.can("settings"):
        pages.append(page("admin", "admin", "admin_panel_settings"))
    if principal.can("audit"):
        pages.append(page("audit", "audit", "policy"))
st.navigation(pages).run()
