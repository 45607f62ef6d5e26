"""Audit trail (admins): who did what and when, newest first; exportable as CSV."""

from __future__ import annotations

import streamlit as st

from sms_core.i18n import audit_action, audit_detail
from ui import lang, require, service, t, table

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
    "user.disable",
    "user.enable",
    "optout.add",
    "optout.remove",
    "template.save",
    "template.delete",
    "erase",
)

require("audit")
svc = service()
st.title(t("audit.title"))
action = st.selectbox(
    t("audit.action"),
    ACTIONS,
    index=None,
    placeholder=t("history.all"),
    format_func=lambda a: audit_action(a, lang()),
)
page = st.number_input(t("audit.page"), min_value=1, value=1)
events = svc.audit_events(PAGE_SIZE, (page - 1) * PAGE_SIZE, action=action)
table(
    [
        {
            t("audit.at"): svc.japan_time(e.at),
            t("audit.actor"): e.actor,
            t("audit.what"): audit_action(e.action, lang()),
            t("audit.detail"): audit_detail(e.detail, lang()),
        }
        for e in events
    ],
)
st.download_button(
    t("audit.export"),
    # Built when clicked; the export is audited. Words and Japan times in the UI language.
    data=lambda: svc.audit_csv(action=action, lang=lang()),
    file_name="audit.csv",
    mime="text/csv",
    on_click="ignore",
)
