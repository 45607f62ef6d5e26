"""Audit trail (admins): who did what and when, newest first; exportable as CSV."""

from __future__ import annotations

import streamlit as st

from ui import require, service, t

PAGE_SIZE = 100
ACTIONS = (
    "campaign.confirm",
    "campaign.cancel",
    "settings.change",
    "contract.set",
    "export.messages",
    "export.audit",
    "login.success",
    "login.failure",
    "user.add",
    "erase",
)

require("audit")
svc = service()
st.title(t("audit.title"))
action = st.selectbox(t("audit.action"), ACTIONS, index=None, placeholder=t("history.all"))
page = st.number_input(t("audit.page"), min_value=1, value=1)
events = svc.audit_events(PAGE_SIZE, (page - 1) * PAGE_SIZE, action=action)
st.dataframe(
    [
        {
            t("audit.at"): svc.japan_time(e.at),
            t("audit.actor"): e.actor,
            t("audit.what"): e.action,
            t("audit.detail"): e.detail,
        }
        for e in events
    ],
    hide_index=True,
)
st.download_button(
    t("audit.export"),
    data=lambda: svc.audit_csv(action=action),  # built when clicked; the export is audited
    file_name="audit.csv",
    mime="text/csv",
    on_click="ignore",
)
