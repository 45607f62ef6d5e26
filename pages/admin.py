"""Administration (admins): provider, quiet hours and short URL base, a test send, users."""

from __future__ import annotations

import secrets

import streamlit as st

from sms_core.errors import SmsError
from sms_core.roles import ROLES
from ui import actor, require, service, show_error, t

require("settings")
svc = service()
st.title(t("admin.title"))
if svc.optout_key_is_development():
    st.warning(t("admin.optout_key_dev"))

st.subheader(t("settings.config"))
current = svc.settings()


def _source(key: str) -> None:
    """Where the value in use comes from, and a way back to the environment's."""
    setting = current[key]
    if setting.source == "database":
        at = svc.japan_time(setting.updated_at)
        st.caption(t("config.from_db", by=setting.updated_by, at=at))
        if st.button(t("config.reset"), key=f"reset:{key}"):
            svc.reset_setting(key, actor=actor())
            st.rerun()
    else:
        st.caption(t(f"config.from_{setting.source}"))


def _save(key: str, value: str) -> None:
    try:
        svc.set_setting(key, value, actor=actor())
    except SmsError as exc:
        show_error(exc)
    else:
        st.success(t("config.saved"))
        st.rerun()


provider_col, quiet_col, url_col = st.columns(3)
with provider_col, st.form("provider"):
    names = svc.provider_names()
    chosen = st.selectbox(
        t("config.provider"),
        names,
        index=names.index(current["provider"].value),
        format_func=lambda n: t(f"provider.{n}"),
    )
    st.caption(t("config.provider_help"))
    if st.form_submit_button(t("config.save")):
        _save("provider", chosen)
with provider_col:
    _source("provider")
with quiet_col, st.form("quiet"):
    quiet = svc.parse_quiet_hours(current["quiet_hours"].value)
    start = st.time_input(t("config.quiet_start"), value=quiet.start, step=900)
    end = st.time_input(t("config.quiet_end"), value=quiet.end, step=900)
    st.caption(t("config.quiet_help"))
    if st.form_submit_button(t("config.save")):
        _save("quiet_hours", f"{start:%H:%M}-{end:%H:%M}")
with quiet_col:
    _source("quiet_hours")
with url_col, st.form("short_url"):
    base = st.text_input(t("config.short_url"), value=current["short_url_base"].value)
    st.caption(t("config.short_url_help"))
    if st.form_submit_button(t("config.save")):
        _save("short_url_base", base)
with url_col:
    _source("short_url_base")
# Issue 12: at most this many messages per number per Japan-time day, across sends.
with st.form("frequency_cap"):
    cap = st.number_input(
        t("config.frequency_cap"),
        min_value=1,
        max_value=100,
        value=int(current["frequency_cap"].value),
        step=1,
    )
    st.caption(t("config.frequency_cap_help"))
    if st.form_submit_button(t("config.save")):
        _save("frequency_cap", str(int(cap)))
_source("frequency_cap")

if svc.has_active_contract():
    # A test send is a campaign of one: quota-checked, idempotent on the form's nonce, sent
    # by the worker through the provider in use, and listed in the history.
    st.subheader(t("test.title"))
    state = st.session_state
    state.setdefault("test_nonce", secrets.token_hex(8))
    with st.form("test_send"):
        number = st.text_input(t("test.number"), placeholder="090-1234-5678")
        body = st.text_area(t("test.body"), value=t("test.body_default"), height=80)
        st.caption(t("test.help", provider=t(f"provider.{current['provider'].value}")))
        if st.form_submit_button(t("test.send"), type="primary"):
            try:
                info = svc.test_send(number, body, key=state["test_nonce"], actor=actor())
            except SmsError as exc:
                show_error(exc)
            else:
                state["test_campaign"] = info.id
                state["test_nonce"] = secrets.token_hex(8)

    @st.fragment(run_every=1.0)
    def test_progress() -> None:
        campaign_id = st.session_state.get("test_campaign")
        if campaign_id is None:
            return
        p = svc.progress(campaign_id)
        words = ", ".join(f"{t(f'message.{k}')} {v}" for k, v in sorted(p.counts.items()))
        st.info(t("test.progress", id=campaign_id, state=t(f"campaign.{p.state}"), parts=words))

    test_progress()

st.subheader(t("users.title"))
# Read once per run: every change to the users below ends with st.rerun().
people = svc.users()
st.dataframe(
    [
        {
            t("users.name"): u.name,
            t("users.role"): t(f"role.{u.role}"),
            t("users.kind"): "OIDC" if u.oidc else t("users.local"),
            t("users.disabled"): t("users.is_disabled") if u.disabled else "",
            t("users.last_login"): svc.japan_time(u.last_login_at),
        }
        for u in people
    ],
    hide_index=True,
)
with st.form("add_user", clear_on_submit=True):
    left, mid, right = st.columns(3)
    new_name = left.text_input(t("users.name"))
    # Least privileged first and chosen (ROLES runs from the most): raised on purpose only.
    roles = list(reversed(ROLES))
    new_role = mid.selectbox(t("users.role"), roles, index=0, format_func=lambda r: t(f"role.{r}"))
    oidc = right.toggle(t("users.oidc"))
    if st.form_submit_button(t("users.add")):
        try:
            password = svc.add_user(new_name, new_role, oidc=oidc)
        except SmsError as exc:
            show_error(exc)
        else:
            # Shown once, to hand over (only its hash is stored): kept over the rerun that
            # redraws the users table above with the new user.
            st.session_state["user_added"] = (
                t("users.added_oidc") if oidc else t("users.added", password=password)
            )
            st.rerun()
added = st.session_state.pop("user_added", None)
if added is not None:
    st.success(added)
with st.form("disable_user"):
    names = [u.name for u in people if u.name != svc.principal.name]
    target = st.selectbox(t("users.pick"), names, index=None, placeholder=t("ui.choose"))
    left, right = st.columns(2)
    for button, disabled in ((left, True), (right, False)):
        if button.form_submit_button(t("users.disable" if disabled else "users.enable")) and target:
            try:
                svc.set_user_disabled(target, disabled)
            except SmsError as exc:
                show_error(exc)
            else:
                st.rerun()  # the users table above shows the change

# Issue 16: where a user's own test sends go, set by an admin (blank clears it).
with st.form("user_phone", clear_on_submit=True):
    left, right = st.columns(2)
    whose = left.selectbox(
        t("users.pick"), [u.name for u in people], index=None, placeholder=t("ui.choose")
    )
    number = right.text_input(t("users.phone"), placeholder="090-1234-5678")
    st.caption(t("users.phone_help"))
    if st.form_submit_button(t("users.phone_save")) and whose:
        try:
            saved = svc.set_user_phone(whose, number)
        except SmsError as exc:
            show_error(exc)
        else:
            tail = saved[-4:] if saved else None
            st.success(
                t("users.phone_saved", name=whose, tail=tail)
                if tail
                else t("users.phone_cleared", name=whose)
            )

# Demo data: labelled on every page while present; an admin removes it here.
if svc.demo_present():
    st.subheader(t("demo.title"))
    st.caption(t("demo.help"))
    sure = st.checkbox(t("demo.confirm"), key="demo_confirm")
    if st.button(t("demo.clear"), disabled=not sure):
        done = svc.clear_demo()
        st.session_state.pop("demo_confirm", None)
        st.success(t("demo.cleared", campaigns=done.campaigns, messages=done.messages))
