"""Settings: the SMS contract (R16), this month's units (R20) and the opt-out list."""

from __future__ import annotations

import secrets

import streamlit as st

from sms_core.errors import SmsError
from sms_core.i18n import format_yen
from ui import actor, lang, service, show_error, t, table

svc = service()
contract = svc.contract()
st.title(t("settings.title"))

if contract is None:
    st.info(t("settings.no_contract"))
elif contract.ended:
    # R16: an ended contract counts as none; the SMS pages stay hidden until it is renewed.
    st.warning(t("settings.contract_ended", end=svc.format_month(contract.end_month)))
else:
    status = svc.quota()
    st.subheader(t("settings.quota", month=svc.format_month(svc.this_month())))
    cols = st.columns(4)
    cols[0].metric(t("quota.cap"), f"{status.cap:,}")
    cols[1].metric(t("quota.used"), f"{status.used:,}")
    cols[2].metric(t("quota.reserved"), f"{status.reserved:,}")
    cols[3].metric(t("quota.remaining"), f"{status.remaining:,}")
    # R20: successful sends per month for the past 12 months, the same report as Overview.
    figure = svc.figure("monthly_success", svc.monthly_success(12), lang())
    st.plotly_chart(figure, width="stretch")

st.subheader(t("settings.contract"))
if not svc.principal.can("contract"):
    if contract is None:
        st.info(t("settings.ask_admin"))
    else:
        st.markdown(
            t(
                "settings.contract_view",
                units=contract.monthly_units,
                start=svc.format_month(contract.start_month),
                end=svc.format_month(contract.end_month),
                sender=contract.sender_number,
            )
        )
this_month = svc.this_month()
# The contract's own start month is always offered, so saving never moves it by accident.
months = svc.contract_start_choices(contract)
if svc.principal.can("contract"):
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
            format_func=svc.format_month,
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
                svc.set_contract(
                    int(units), start, int(length), mode, number or None, actor=actor()
                )
            except SmsError as exc:
                show_error(exc)
            else:
                st.success(t("contract.saved"))
                st.rerun()

if contract is not None and not contract.ended and svc.principal.can("optouts"):
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
                show_error(exc)
    upload = st.file_uploader(t("optout.import"), type=["csv", "txt"], key="optout_file")
    if upload is not None and st.button(t("optout.import_button")):
        try:
            result = svc.import_optouts(upload.getvalue(), upload.name, actor=actor())
            st.success(t("optout.imported", added=result.added, already=result.already))
        except SmsError as exc:
            show_error(exc)
    entries = svc.optouts()
    table(
        [
            {
                t("optout.number"): e.phone,
                t("optout.reason"): e.reason or "",
                t("optout.by"): e.added_by,
                t("optout.source"): t(f"optout.source.{e.source}"),
                t("optout.at"): svc.japan_time(e.added_at),
            }
            for e in entries
        ],
        empty="optout.none",
    )
    if entries:
        with st.form("optout_remove"):
            # Entries hold no number: pick one by its hash, shown as its last 4 digits.
            shown = {e.phone_hash: f"{e.phone}  {e.added_by}" for e in entries}
            gone = st.selectbox(t("optout.remove"), list(shown), format_func=shown.get)
            if st.form_submit_button(t("optout.remove_button")):
                try:
                    svc.remove_optout(gone, actor=actor())
                except SmsError as exc:
                    show_error(exc)
                else:
                    st.rerun()


# Issue 16: the unit price in yen (admins set it), team notifications, own-number test sends.
if contract is not None:
    st.subheader(t("yen.unit_price"))
    price = svc.unit_price_yen()
    if svc.principal.can("settings"):
        with st.form("unit_price"):
            new_price = st.number_input(
                t("yen.unit_price"), min_value=0.0, step=0.5, value=float(price), format="%.2f"
            )
            if st.form_submit_button(t("yen.save")):
                try:
                    svc.set_unit_price_yen(f"{new_price:.2f}")
                    st.success(t("yen.saved"))
                except SmsError as exc:
                    show_error(exc)
    else:
        st.markdown(t("yen.amount", yen=format_yen(price)))
    st.subheader(t("notify.title"))
    notify = svc.notify_status()
    if notify.configured:
        st.caption(
            t(
                "notify.configured",
                hint=notify.webhook_hint,
                format=notify.format,
                failure=notify.failure_ratio,
                quota=notify.quota_ratio,
            )
        )
    else:
        st.caption(t("notify.not_configured"))

if contract is not None and svc.principal.can("test_send_own"):
    st.subheader(t("mytest.title"))
    with st.form("my_phone"):
        mine = st.text_input(t("mytest.phone"), value=svc.my_phone() or "")
        if st.form_submit_button(t("mytest.save_phone")):
            try:
                svc.set_my_phone(mine)
                st.success(t("mytest.saved"))
            except SmsError as exc:
                show_error(exc)
    state = st.session_state
    state.setdefault("my_test_nonce", secrets.token_hex(8))
    with st.form("my_test_send"):
        test_body = st.text_area(t("test.body"), value=t("test.body_default"), height=80)
        if st.form_submit_button(t("test.send"), type="primary"):
            try:
                info = svc.test_send_own(test_body, key=state["my_test_nonce"])
                state["my_test_nonce"] = secrets.token_hex(8)
                st.success(t("mytest.sent", id=info.id))
            except SmsError as exc:
                show_error(exc)
