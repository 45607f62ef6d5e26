"""Entry point of the dashboard: ``streamlit run dashboard.py`` (``make run``).

Navigation over pages/; the language choice lives in the sidebar. Sending pages join
when sending lands; they will be hidden without a contract (R16).
"""

from __future__ import annotations

import streamlit as st

from sms_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

st.set_page_config(page_title="SMS", page_icon="✉️", layout="wide")

if "lang" not in st.session_state:
    st.session_state["lang"] = DEFAULT_LANGUAGE
lang = st.sidebar.selectbox(
    "言語 / Language", list(LANGUAGES), format_func=LANGUAGES.get, key="lang"
)

page = st.navigation(
    [st.Page("pages/preview.py", title=t("nav.preview", lang), icon="📋", default=True)]
)
page.run()
