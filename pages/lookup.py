"""Candidate lookup (issue 16): every message sent to one candidate, by 応募者ID or number."""

from __future__ import annotations

import streamlit as st

from sms_core.errors import SmsError
from ui import service, show_error, t

svc = service()
st.title(t("lookup.title"))

with st.form("lookup"):
    by = st.radio(
        t("lookup.by"),
        ["candidate", "phone"],
        format_func=lambda b: t(f"lookup.by.{b}"),
        horizontal=True,
    )
    query = st.text_input(t("lookup.query"), key="lookup_query")
    submitted = st.form_submit_button(t("lookup.search"), type="primary")
if submitted and query.strip():
    try:
        found = svc.lookup_candidate(
            candidate_id=query if by == "candidate" else None,
            phone=query if by == "phone" else None,
        )
    except SmsError as exc:
        show_error(exc)
    else:
        if not found:
            st.info(t("lookup.none"))
        else:
            st.caption(t("lookup.found", n=len(found)))
            st.dataframe(
                [
                    {
                        t(f"column.{k}"): t(f"message.{v}") if k == "state" else v
                        for k, v in row.as_dict().items()
                    }
                    for row in found
                ],
                hide_index=True,
            )
