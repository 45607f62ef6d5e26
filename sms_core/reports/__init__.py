"""The reports of send history: plain functions returning pandas DataFrames, and the
plotly figures drawn from them (issue 5). The dashboard's charts and the analysts'
notebook call exactly these.

Every report takes an Engine, a Connection or a Session first, then its filters, and
aggregates in SQL: what comes back is at most one row per month, day, state, reason or
campaign of a page, never the messages themselves (:func:`campaign_messages` returns one
page of them). Months and days are Japan-time calendar periods (R17); timestamps come
back as timezone-aware Japan time.

Common filters: ``campaign_id``, ``kind`` (新卒 / 中途, or new_grad / mid_career),
``template`` (the name of the template campaigns were loaded from), and months or
instants where a report has a time axis.

Figures: ``figure_<report>(df, lang="ja")``, titles and labels in Japanese by default,
English with ``lang="en"``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sms_core.reports.activity import (
        FUNNEL_STAGES,
        HANDED_OVER_STATES,
        SUCCESSFUL_STATES,
        daily_sends,
        failure_reason_keys,
        failure_reasons,
        fully_delivered,
        funnel,
        monthly_success,
        quota_by_month,
        sends_today,
        successful_recipient,
    )
    from sms_core.reports.campaigns import (
        CLICK_COLUMNS,
        RECIPIENT_CLICK_COLUMNS,
        campaign_clicks,
        campaign_count,
        campaign_message_count,
        campaign_messages,
        campaign_summary,
        clicks_per_campaign,
        units_per_campaign,
    )
    from sms_core.reports.figures import (
        figure_clicks_per_campaign,
        figure_daily_sends,
        figure_failure_reasons,
        figure_funnel,
        figure_monthly_success,
        figure_quota_by_month,
        figure_quota_gauge,
        figure_units_per_campaign,
        label,
    )
    from sms_core.reports.templates import TEMPLATE_COLUMNS, campaign_templates, template_summary

from sms_core.store.models import MESSAGE_STATES as _MESSAGE_STATES

# Where each report lives. They are imported on first use (PEP 562): a process that only
# looks a candidate up (sms_core.reports.lookup) loads neither pandas nor plotly.
_HOMES = {
    "activity": "FUNNEL_STAGES HANDED_OVER_STATES SUCCESSFUL_STATES daily_sends "
    "failure_reason_keys failure_reasons fully_delivered funnel monthly_success "
    "quota_by_month sends_today successful_recipient",
    "campaigns": "CLICK_COLUMNS RECIPIENT_CLICK_COLUMNS campaign_clicks campaign_count "
    "campaign_message_count campaign_messages campaign_summary clicks_per_campaign "
    "units_per_campaign",
    "figures": "figure_clicks_per_campaign figure_daily_sends figure_failure_reasons "
    "figure_funnel figure_monthly_success figure_quota_by_month figure_quota_gauge "
    "figure_units_per_campaign label",
    "templates": "TEMPLATE_COLUMNS campaign_templates template_summary",
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names.split()}


def __getattr__(name: str) -> object:
    """A report, imported from its module the first time it is asked for."""
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups do not come here again
    return value


def is_missing(value: object) -> bool:
    """Whether a report cell holds no value (None, NaN or NaT), for pages to test."""
    import pandas as pd

    return bool(pd.isna(value))  # type: ignore[call-overload]  # any cell value


# The message states, in the order the reports' columns use (re-exported for pages).
MESSAGE_STATES = _MESSAGE_STATES

__all__ = [
    "CLICK_COLUMNS",
    "FUNNEL_STAGES",
    "HANDED_OVER_STATES",
    "MESSAGE_STATES",
    "RECIPIENT_CLICK_COLUMNS",
    "SUCCESSFUL_STATES",
    "TEMPLATE_COLUMNS",
    "campaign_clicks",
    "campaign_count",
    "campaign_message_count",
    "campaign_messages",
    "campaign_summary",
    "campaign_templates",
    "clicks_per_campaign",
    "daily_sends",
    "failure_reason_keys",
    "failure_reasons",
    "figure_clicks_per_campaign",
    "figure_daily_sends",
    "figure_failure_reasons",
    "figure_funnel",
    "figure_monthly_success",
    "figure_quota_by_month",
    "figure_quota_gauge",
    "figure_units_per_campaign",
    "fully_delivered",
    "funnel",
    "is_missing",
    "label",
    "monthly_success",
    "quota_by_month",
    "sends_today",
    "successful_recipient",
    "template_summary",
    "units_per_campaign",
]
