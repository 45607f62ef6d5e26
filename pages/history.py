"""History: campaigns and their states, one campaign's messages, charts, cancel, export."""

from __future__ import annotations

import streamlit as st

from sms_core import reports
from sms_core.errors import SmsError
from sms_core.export import frame_csv_bytes
from ui import actor, lang, service, t

PAGE_SIZE = 20
MESSAGE_PAGE = 100
CANCELLABLE = ("scheduled", "sending", "paused")

svc = service()
st.title(t("history.title"))

total = reports.campaign_count(svc.reader)
pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
page = st.number_input(t("history.page", pages=pages), min_value=1, max_value=pages, value=1)
campaigns = reports.campaign_summary(svc.reader, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
shown = campaigns.assign(state=campaigns["state"].map(lambda s: t(f"campaign.{s}")))
st.dataframe(shown, hide_index=True)
if campaigns.empty:
    st.caption(t("overview.none"))
    st.stop()

choice = st.selectbox(
    t("history.campaign"),
    campaigns["campaign_id"].tolist(),
    format_func=lambda i: f"#{i} {campaigns.set_index('campaign_id').at[i, 'name']}",
)
row = campaigns.set_index("campaign_id").loc[choice]
if row["state"] in CANCELLABLE and st.button(t("history.cancel", id=choice)):
    try:
        svc.cancel(int(choice), actor=actor())
        st.rerun()
    except SmsError as exc:
        st.error(str(exc))

left, right = st.columns(2)
left.plotly_chart(
    reports.figure_funnel(reports.funnel(svc.reader, campaign_id=int(choice), clicks=True), lang()),
    width="stretch",
)
right.plotly_chart(
    reports.figure_daily_sends(
        reports.daily_sends(svc.reader, days=30, campaign_id=int(choice)), lang()
    ),
    width="stretch",
)
reasons = reports.failure_reasons(svc.reader, campaign_id=int(choice))
if not reasons.empty:
    st.plotly_chart(reports.figure_failure_reasons(reasons, lang()), width="stretch")

# Short-link clicks (R11): who clicked, how many, since when
st.subheader(t("history.clicks"))
clicks = reports.clicks_per_campaign(svc.reader, campaign_id=int(choice))
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
        "—" if reports.is_missing(first) else f"{first:%Y-%m-%d %H:%M}",
    )
    with st.expander(t("history.clicks_by_recipient")):
        st.dataframe(
            reports.campaign_clicks(svc.reader, int(choice), limit=MESSAGE_PAGE), hide_index=True
        )

st.subheader(t("history.messages"))
state_filter = st.selectbox(
    t("history.state"),
    [None, *reports.MESSAGE_STATES],
    format_func=lambda s: t("history.all") if s is None else t(f"message.{s}"),
)
count = reports.campaign_message_count(svc.reader, int(choice), state=state_filter)
message_pages = max((count + MESSAGE_PAGE - 1) // MESSAGE_PAGE, 1)
message_page = st.number_input(
    t("history.page", pages=message_pages),
    min_value=1,
    max_value=message_pages,
    value=1,
    key="message_page",
)
messages = reports.campaign_messages(
    svc.reader,
    int(choice),
    state=state_filter,
    limit=MESSAGE_PAGE,
    offset=(message_page - 1) * MESSAGE_PAGE,
)
st.dataframe(messages, hide_index=True)
st.download_button(
    t("history.export"),
    data=lambda: frame_csv_bytes(
        reports.campaign_messages(
            svc.reader, int(choice), state=state_filter, limit=None, clicks=True
        )
    ),
    file_name=f"campaign_{choice}.csv",
    mime="text/csv",
    on_click="ignore",
)
