"""History: campaigns and their states, one campaign's messages, charts, cancel, export."""

from __future__ import annotations

import secrets

import streamlit as st

from sms_core.errors import SmsError
from sms_core.i18n import format_yen
from ui import actor, lang, service, show_error, t

PAGE_SIZE = 20
MESSAGE_PAGE = 100
CANCELLABLE = ("scheduled", "sending", "paused")

svc = service()
st.title(t("history.title"))

template = st.selectbox(
    t("history.template"),
    svc.campaign_templates(),
    index=None,
    placeholder=t("history.all"),
)
total = svc.campaign_count(template=template)
pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
page = st.number_input(t("history.page", pages=pages), min_value=1, max_value=pages, value=1)
campaigns = svc.campaign_page(PAGE_SIZE, (page - 1) * PAGE_SIZE, template=template)
st.dataframe(svc.labelled(campaigns, "campaigns", lang()), hide_index=True)
if campaigns.empty:
    st.caption(t("overview.none"))
    st.stop()

choice = st.selectbox(
    t("history.campaign"),
    campaigns["campaign_id"].tolist(),
    format_func=lambda i: f"#{i} {campaigns.set_index('campaign_id').at[i, 'name']}",
)
row = campaigns.set_index("campaign_id").loc[choice]
can_cancel = svc.principal.can("send") and row["state"] in CANCELLABLE
done = st.session_state.pop("history_cancelled", None)
if done is not None:
    st.success(t("history.cancelled", id=done))
if can_cancel:
    # Cancelling cannot be undone: the button stays off until the user ticks the box.
    st.warning(t("history.cancel_confirm", id=choice, name=row["name"]))
    sure = st.checkbox(t("history.cancel_sure"), key=f"cancel_sure:{choice}")
    if st.button(t("history.cancel", id=choice), disabled=not sure):
        try:
            svc.cancel(int(choice), actor=actor())
        except SmsError as exc:
            show_error(exc)
        else:
            st.session_state["history_cancelled"] = int(choice)
            st.rerun()

if row["state"] == "held":
    # A held send resumes by itself once its month has a contract with room; say which.
    reason = svc.hold_reason(int(choice)) or "quota"
    st.warning(t(f"history.held_{reason}", id=choice))

# Issue 16: pause/resume, resend to the unreached, edit a scheduled send (operators act).
if svc.principal.can("send"):
    # The state shown may be stale (another user, the worker): a refusal is said, not raised.
    move = None
    if row["state"] in ("scheduled", "sending") and st.button(t("history.pause", id=choice)):
        move = svc.pause
    if row["state"] == "paused" and st.button(t("history.resume", id=choice)):
        move = svc.resume
    if move is not None:
        try:
            move(int(choice))
        except SmsError as exc:
            show_error(exc)
        else:
            st.rerun()
    if row["state"] in ("finished", "cancelled"):
        plan = svc.resend_plan(int(choice))
        if plan.recipients:
            with st.expander(t("history.resend")):
                st.caption(
                    t(
                        "history.resend_plan",
                        yen=format_yen(svc.cost_yen(plan.units)),
                        **{k: getattr(plan, k) for k in plan.__slots__},
                    )
                )
                # One nonce per campaign and session: a double click resends once.
                nonce = st.session_state.setdefault(f"resend:{choice}", secrets.token_hex(8))
                if st.button(t("history.resend_button"), key="resend", type="primary"):
                    try:
                        info = svc.resend(int(choice), key=nonce)
                        st.success(t("history.resent", id=info.id))
                    except SmsError as exc:
                        show_error(exc)
    if row["state"] == "scheduled":
        send = svc.editable_send(int(choice))
        with st.expander(t("history.edit")), st.form("edit_send"):
            day_col, time_col = st.columns(2)
            day = day_col.date_input(t("history.edit_date"), value=send.send_at.date())
            at = time_col.time_input(
                t("history.edit_time"), value=send.send_at.time().replace(tzinfo=None), step=300
            )
            new_name = st.text_input(t("history.edit_name"), value=send.name)
            new_body = st.text_area(t("history.edit_body"), value=send.body, height=100)
            st.caption(t("history.edit_help"))
            if st.form_submit_button(t("history.edit_save"), type="primary"):
                try:
                    svc.reschedule(
                        int(choice),
                        send_at=svc.japan_datetime(day, at),
                        name=new_name,
                        body=new_body if new_body != send.body else None,
                    )
                    st.success(t("history.edited", id=choice))
                except SmsError as exc:
                    show_error(exc)

left, right = st.columns(2)
left.plotly_chart(svc.figure("funnel", svc.funnel(int(choice)), lang()), width="stretch")
right.plotly_chart(
    svc.figure("daily_sends", svc.daily_sends(30, campaign_id=int(choice)), lang()),
    width="stretch",
)
reasons = svc.failure_reasons(int(choice))
if not reasons.empty:
    st.plotly_chart(svc.figure("failure_reasons", reasons, lang()), width="stretch")

# Short-link clicks (R11): who clicked, how many, since when
st.subheader(t("history.clicks"))
clicks = svc.campaign_click_summary(int(choice))
if clicks.empty:
    st.caption(t("history.clicks_none"))
else:
    summary = clicks.iloc[0]
    first = summary["first_click_at"]
    cols = st.columns(4)
    cols[0].metric(t("history.click_recipients"), f"{summary['recipients']:,}")
    cols[1].metric(t("history.clicked_recipients"), f"{summary['clicked_recipients']:,}")
    cols[2].metric(t("history.click_rate"), f"{summary['click_rate']:.1%}")
    cols[3].metric(
        t("history.first_click"),
        "—" if svc.is_missing(first) else svc.japan_time(first),
    )
    with st.expander(t("history.clicks_by_recipient")):
        clicks_by_recipient = svc.campaign_clicks(int(choice), limit=MESSAGE_PAGE)
        st.dataframe(svc.labelled(clicks_by_recipient, "clicks", lang()), hide_index=True)

st.subheader(t("history.messages"))
state_col, reason_col = st.columns(2)
state_filter = state_col.selectbox(
    t("history.state"),
    [None, *svc.MESSAGE_STATES],
    format_func=lambda s: t("history.all") if s is None else t(f"message.{s}"),
)
# Reasons as failure_reasons groups them: (code, text); a code alone or a text alone.
reason_filter = reason_col.selectbox(
    t("history.reason"),
    [None, *svc.failure_reason_keys(reasons)],
    format_func=lambda r: t("history.all") if r is None else svc.failure_reason_text(r, lang()),
)
code, text = reason_filter or (None, None)
filters = {"state": state_filter, "error_code": code, "error_message": text}
count = svc.campaign_message_count(int(choice), **filters)
message_pages = max((count + MESSAGE_PAGE - 1) // MESSAGE_PAGE, 1)
message_page = st.number_input(
    t("history.page", pages=message_pages),
    min_value=1,
    max_value=message_pages,
    value=1,
    key="message_page",
)
messages = svc.campaign_messages(
    int(choice), limit=MESSAGE_PAGE, offset=(message_page - 1) * MESSAGE_PAGE, **filters
)
st.dataframe(svc.labelled(messages, "messages", lang()), hide_index=True)
if not reasons.empty:
    # The words above group the providers' own reasons; their text stays at hand here.
    with st.expander(t("history.raw_reasons")):
        st.dataframe(
            [
                {
                    t("col.reason"): svc.failure_reason_text(key, lang()),
                    t("history.raw_code"): key[0] or "",
                    t("history.raw_text"): key[1] or "",
                }
                for key in svc.failure_reason_keys(reasons)
            ],
            hide_index=True,
        )
csv_col, xlsx_col = st.columns(2)
csv_col.download_button(
    t("history.export"),
    # Built when clicked, not on every rerun; the service audits each export.
    data=lambda: svc.export_messages(int(choice), lang=lang(), **filters),
    file_name=f"campaign_{choice}.csv",
    mime="text/csv",
    on_click="ignore",
)
xlsx_col.download_button(
    t("history.export_xlsx"),
    data=lambda: svc.export_messages_xlsx(int(choice), **filters),
    file_name=f"campaign_{choice}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    on_click="ignore",
)
