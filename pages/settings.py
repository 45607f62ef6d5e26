"""Settings: the SMS contract (R16), this month's units (R20), opt-outs, configuration."""

from __future__ import annotations

import secrets

import streamlit as st

from sms_core import reports
from sms_core.errors import SmsError
from sms_core.providers.factory import PROVIDERS
from sms_core.quota import add_months, current_month, format_month
from sms_core.schedule import QuietHours, japan_time
from ui import actor, lang, service, t

svc = service()
contract = svc.contract()
st.title(t("settings.title"))

if contract is None:
    st.info(t("settings.no_contract"))
else:
    status = svc.quota()
    st.subheader(t("settings.quota", month=format_month(current_month())))
    cols = st.columns(4)
    cols[0].metric(t("quota.cap"), f"{status.cap:,}")
    cols[1].metric(t("quota.used"), f"{status.used:,}")
    cols[2].metric(t("quota.reserved"), f"{status.reserved:,}")
    cols[3].metric(t("quota.remaining"), f"{status.remaining:,}")
    # R20: successful sends per month for the past 12 months, the same report as Overview.
    figure = reports.figure_monthly_success(reports.monthly_success(svc.reader, 12), lang())
    st.plotly_chart(figure, width="stretch")

st.subheader(t("settings.contract"))
this_month = current_month()
# The contract's own start month is always offered, so saving never moves it by accident.
first = min(add_months(this_month, -1), contract.start_month if contract else this_month)
months = []
while not months or months[-1] < add_months(this_month, 12):
    months.append(add_months(first, len(months)))
with st.form("contract"):
    units = st.number_input(
        t("contract.units"),
        min_value=1,
        step=100,
        value=contract.monthly_units if contract else 1000,
    )
    start = st.selectbox(
        t("contract.start"),
        months,
        format_func=format_month,
        index=months.index(contract.start_month if contract else this_month),
        key="contract_start",
    )
    length = st.number_input(
        t("contract.months"),
        min_value=3,
        step=1,
        value=contract.months if contract else 3,
        help=t("contract.months_help"),
    )
    mode = st.radio(
        t("contract.sender"),
        ["shared", "dedicated"],
        horizontal=True,
        format_func=lambda m: t(f"contract.sender.{m}"),
        index=1 if contract and contract.sender_mode == "dedicated" else 0,
    )
    number = st.text_input(
        t("contract.number"),
        value=contract.sender_number if contract and mode == "dedicated" else "",
    )
    if st.form_submit_button(t("contract.save"), type="primary"):
        try:
            svc.set_contract(int(units), start, int(length), mode, number or None, actor=actor())
        except SmsError as exc:
            st.error(str(exc))
        else:
            st.success(t("contract.saved"))
            st.rerun()

if contract is not None:
    st.subheader(t("settings.optouts"))
    with st.form("optout", clear_on_submit=True):
        left, right = st.columns(2)
        number = left.text_input(t("optout.number"))
        reason = right.text_input(t("optout.reason"))
        if st.form_submit_button(t("optout.add")):
            try:
                added = svc.add_optout(number, reason or None, actor=actor())
                st.success(t("optout.added") if added else t("optout.already"))
            except SmsError as exc:
                st.error(str(exc))
    upload = st.file_uploader(t("optout.import"), type=["csv", "txt"], key="optout_file")
    if upload is not None and st.button(t("optout.import_button")):
        try:
            result = svc.import_optouts(upload.getvalue(), upload.name, actor=actor())
            st.success(t("optout.imported", added=result.added, already=result.already))
        except SmsError as exc:
            st.error(str(exc))
    entries = svc.optouts()
    st.dataframe(
        [
            {
                t("optout.number"): e.phone,
                t("optout.reason"): e.reason or "",
                t("optout.by"): e.added_by,
                t("optout.at"): e.added_at,
            }
            for e in entries
        ],
        hide_index=True,
    )
    if entries:
        with st.form("optout_remove"):
            gone = st.selectbox(t("optout.remove"), [e.phone for e in entries])
            if st.form_submit_button(t("optout.remove_button")):
                svc.remove_optout(gone, actor=actor())
                st.rerun()

st.subheader(t("settings.config"))
current = svc.settings()


def _source(key: str) -> None:
    """Where the value in use comes from, and a way back to the environment's."""
    setting = current[key]
    if setting.source == "database":
        st.caption(t("config.from_db", by=setting.updated_by, at=japan_time(setting.updated_at)))
        if st.button(t("config.reset", env=setting.env), key=f"reset:{key}"):
            svc.reset_setting(key, actor=actor())
            st.rerun()
    else:
        st.caption(t(f"config.from_{setting.source}", env=setting.env))


def _save(key: str, value: str) -> None:
    try:
        svc.set_setting(key, value, actor=actor())
    except SmsError as exc:
        st.error(str(exc))
    else:
        st.success(t("config.saved"))
        st.rerun()


provider_col, quiet_col, url_col = st.columns(3)
with provider_col, st.form("provider"):
    names = list(PROVIDERS)
    chosen = st.selectbox(t("config.provider"), names, index=names.index(current["provider"].value))
    st.caption(t("config.provider_help"))
    if st.form_submit_button(t("config.save")):
        _save("provider", chosen)
with provider_col:
    _source("provider")
with quiet_col, st.form("quiet"):
    quiet = QuietHours.parse(current["quiet_hours"].value)
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

if contract is not None:
    # A test send is a campaign of one: quota-checked, idempotent on the form's nonce, sent
    # by the worker through the provider in use, and listed in the history.
    st.subheader(t("test.title"))
    state = st.session_state
    state.setdefault("test_nonce", secrets.token_hex(8))
    with st.form("test_send"):
        number = st.text_input(t("test.number"), placeholder="090-1234-5678")
        body = st.text_area(t("test.body"), value=t("test.body_default"), height=80)
        st.caption(t("test.help", provider=current["provider"].value))
        if st.form_submit_button(t("test.send"), type="primary"):
            try:
                info = svc.test_send(number, body, key=state["test_nonce"], actor=actor())
            except SmsError as exc:
                st.error(str(exc))
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
