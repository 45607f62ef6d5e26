"""Templates and drafts (R12): list with the cost of their bare text, edit, delete."""

from __future__ import annotations

import streamlit as st

from sms_core.errors import SmsError, TemplateExistsError
from ui import actor, require, service, show_error, t, table

require("templates")
svc = service()
st.title(t("templates.title"))

templates = svc.templates()
st.subheader(t("templates.templates"))
table(
    [
        {
            t("templates.name"): tpl.name,
            t("templates.chars"): svc.body_cost(tpl.body).chars,
            t("preview.units"): svc.body_cost(tpl.body).units,
            t("templates.updated"): svc.japan_time(tpl.updated_at),
        }
        for tpl in templates
    ],
)
names = [tpl.name for tpl in templates]
picked = st.selectbox(
    t("templates.edit"),
    [None, *names],
    format_func=lambda n: t("templates.new") if n is None else n,
)
current = next((tpl.body for tpl in templates if tpl.name == picked), "")
with st.form("template"):
    name = st.text_input(t("templates.name"), value=picked or "")
    body = st.text_area(t("preview.body"), value=current, height=140)
    cost = svc.body_cost(body)
    st.caption(t("send.counter", chars=cost.chars, units=cost.units, segments=cost.segments))
    left, right = st.columns(2)
    if left.form_submit_button(t("templates.save"), type="primary"):
        try:
            svc.save_template(name, body, actor=actor())
            st.toast(t("send.saved"))
            st.rerun()  # the list above was drawn before the save
        except SmsError as exc:
            show_error(exc)
    if right.form_submit_button(t("templates.delete"), disabled=picked is None):
        try:
            svc.delete_template(picked, actor=actor())
        except SmsError as exc:
            show_error(exc)
        else:
            st.rerun()

st.subheader(t("templates.drafts"))
drafts = svc.drafts()
if not drafts:
    st.caption(t("templates.no_drafts"))
# The draft whose promotion was refused because a template has its name: ask first (R12).
pending = st.session_state.get("overwrite_draft")
for draft in drafts:
    with st.expander(f"{draft.title} (#{draft.id})", expanded=pending == draft.id):
        text = st.text_area(t("preview.body"), value=draft.body, key=f"draft:{draft.id}")
        cost = svc.body_cost(text)
        st.caption(t("send.counter", chars=cost.chars, units=cost.units, segments=cost.segments))
        left, middle, right = st.columns(3)
        if left.button(t("templates.save"), key=f"save:{draft.id}"):
            # The draft itself is updated, never copied into a new one (R12).
            svc.save_draft(draft.title, text, draft_id=draft.id)
            st.toast(t("send.saved"))
        if middle.button(t("templates.promote"), key=f"promote:{draft.id}"):
            try:
                svc.promote_draft(draft.id, body=text, actor=actor())
            except TemplateExistsError:
                st.session_state["overwrite_draft"] = draft.id
                st.rerun()
            except SmsError as exc:
                show_error(exc)
            else:
                st.rerun()
        if pending == draft.id:
            st.warning(t("templates.exists", name=draft.title))
            yes, no = st.columns(2)
            if yes.button(t("templates.overwrite"), key=f"overwrite:{draft.id}", type="primary"):
                st.session_state.pop("overwrite_draft", None)
                try:
                    svc.promote_draft(draft.id, body=text, overwrite=True, actor=actor())
                except SmsError as exc:
                    show_error(exc)
                else:
                    st.rerun()
            if no.button(t("templates.keep"), key=f"keep:{draft.id}"):
                st.session_state.pop("overwrite_draft", None)
                st.rerun()
        if right.button(t("templates.delete"), key=f"delete:{draft.id}"):
            svc.delete_draft(draft.id)
            st.rerun()
