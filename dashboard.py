"""Entry point of the dashboard: ``streamlit run dashboard.py`` (started by ``make run``).

Navigation over pages/. Without an SMS contract only Settings is shown, where one is
set up (R16).
"""

from __future__ import annotations

import streamlit as st

from sms_core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from ui import service, t

st.set_page_config(page_title="SMS", page_icon=":material/sms:", layout="wide")

if "lang" not in st.session_state:
    st.session_state["lang"] = DEFAULT_LANGUAGE
st.sidebar.selectbox("言語 / Language", list(LANGUAGES), format_func=LANGUAGES.get, key="lang")

settings = st.Page("pages/settings.py", title=t("nav.settings"), icon=":material/settings:")
if service().contract() is None:
    pages = [settings]
else:
    pages = [
        st.Page(
            "pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", default=True
        ),
        st.Page("pages/new_send.py", title=t("nav.new_send"), icon=":material/send:"),
        st.Page("pages/history.py", title=t("nav.history"), icon=":material/history:"),
        st.Page("pages/templates.py", title=t("nav.templates"), icon=":material/edit_note:"),
        settings,
    ]
st.navigation(pages).run()
