"""Sign in: OpenID Connect through st.login when [auth] is configured, else a local account."""

from __future__ import annotations

import streamlit as st

from sms_core.errors import SmsError
from ui import USER_KEY, base_service, oidc_configured, show_error, signed_in, t

svc = base_service()
st.title(t("login.title"))

if oidc_configured():
    if not st.user.is_logged_in:
        st.button(t("login.oidc"), type="primary", on_click=st.login)
        st.stop()
    try:
        st.session_state[USER_KEY] = svc.login_identity(st.user.get("email")).principal
    except SmsError as exc:
        show_error(exc)
        st.button(t("login.logout"), on_click=st.logout)
        st.stop()
    st.rerun()

pending = st.session_state.get("must_change")
if pending is not None:
    # First login with a one-time password: a new password before anything else.
    st.info(t("login.change_first"))
    with st.form("change"):
        old = st.text_input(t("login.current"), type="password")
        new = st.text_input(t("login.new"), type="password")
        again = st.text_input(t("login.again"), type="password")
        if st.form_submit_button(t("login.change"), type="primary"):
            if new != again:
                st.error(t("login.mismatch"))
            else:
                try:
                    svc.for_user(pending).change_password(old, new)
                except SmsError as exc:
                    show_error(exc)
                else:
                    del st.session_state["must_change"]
                    signed_in(pending)
                    st.rerun()
    st.stop()

with st.form("login"):
    name = st.text_input(t("login.name"))
    password = st.text_input(t("login.password"), type="password")
    if st.form_submit_button(t("login.submit"), type="primary"):
        try:
            account, must_change = svc.login(name, password)
        except SmsError as exc:
            show_error(exc)
        else:
            if must_change:
                st.session_state["must_change"] = account.principal
            else:
                signed_in(account.principal)
            st.rerun()
st.caption(t("login.help"))
