"""Overview: this month's units, today's sends, what is scheduled, recent failures (R20)."""

from __future__ import annotations

import streamlit as st

from sms_core.i18n import format_yen
from ui import lang, service, t

svc = service()
st.title(t("overview.title"))

status = svc.quota()
st.subheader(t("settings.quota", month=svc.format_month(svc.this_month())))
left, right = st.columns([2, 3])
left.plotly_chart(svc.figure("quota_gauge", status, lang()), width="stretch")
with right:
    cols = st.columns(2)
    cols[0].metric(t("quota.cap"), f"{status.cap:,}")
    cols[1].metric(t("quota.remaining"), f"{status.remaining:,}")
    cols = st.columns(2)
    cols[0].metric(t("quota.used"), f"{status.used:,}")
    cols[1].metric(t("quota.reserved"), f"{status.reserved:,}")
    # Issue 16: this month's spend in yen (used and reserved units × the unit price).
    spend = svc.month_spend()
    cols = st.columns(2)
    cols[0].metric(t("yen.month_spend"), t("yen.amount", yen=format_yen(spend.used_yen)))
    cols[1].metric(t("yen.month_reserved"), t("yen.amount", yen=format_yen(spend.reserved_yen)))
    if not spend.unit_price_yen:
        st.caption(t("yen.unset"))
    # Messages handed to the provider today (Japan time): not scheduled, not cancelled.
    st.metric(t("overview.today"), f"{svc.sends_today():,}")

st.plotly_chart(svc.figure("monthly_success", svc.monthly_success(12), lang()), width="stretch")

st.subheader(t("overview.upcoming"))
upcoming = svc.campaign_page(10, state="scheduled")
if upcoming.empty:
    st.caption(t("overview.none"))
else:
    st.dataframe(svc.labelled(upcoming, "upcoming", lang()), hide_index=True)

st.subheader(t("overview.failures"))
failures = svc.recent_failures(days=7)
if failures.empty:
    st.caption(t("overview.none"))
else:
    st.plotly_chart(svc.figure("failure_reasons", failures, lang()), width="stretch")
