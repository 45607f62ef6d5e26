"""Plotly figures of the reports, titled and labelled in Japanese (default) or English.

Every chart of the dashboard and the analysts' notebook is built here from a report's
DataFrame; pages only place the figure. An empty report gives an empty chart that says so.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from sms_core.errors import InputError
from sms_core.i18n import failure_reason, t
from sms_core.sending.quota import format_month
from sms_core.store.models import MESSAGE_STATES

LANGUAGES = ("ja", "en")


def label(key: str, lang: str = "ja", **values: object) -> str:
    """The chart label ``key`` in ``lang`` (``ja`` or ``en``), from the one UI catalogue."""
    if lang not in LANGUAGES:
        raise InputError(f"lang is 'ja' or 'en', not {lang!r}")
    return t(f"chart.{key}", lang, **values)


def _layout(fig: go.Figure, title: str, x: str, y: str, lang: str, empty: bool) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        xaxis_title=x,
        yaxis_title=y,
        legend_title_text="",
        margin={"t": 60, "l": 10, "r": 10, "b": 10},
    )
    if empty:
        fig.add_annotation(
            text=label("empty", lang), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
        # No data: Plotly's made-up ranges (-1 to 4, 0 to 6) would read as data.
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def _counts_axis(fig: go.Figure, axis: str, top: float) -> None:
    """Ticks of a count axis are whole numbers: Plotly would put 0.5 steps on a chart of
    one or two failures, and there is no half a message."""
    whole = {"tickformat": ",d", **({"dtick": 1} if top <= 5 else {})}
    (fig.update_xaxes if axis == "x" else fig.update_yaxes)(**whole)


def _month_labels(months: pd.Series) -> list[str]:
    return [format_month(m) for m in months]


def figure_monthly_success(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Bars of successful sends per month (R20), from :func:`monthly_success`."""
    fig = go.Figure(
        go.Bar(
            x=_month_labels(df["month"]),
            y=df["successful"],
            name=label("series.successful", lang),
            customdata=df[["delivered"]],
            hovertemplate="%{x}: %{y:,}<br>"
            + label("series.delivered", lang)
            + ": %{customdata[0]:,}<extra></extra>",
        )
    )
    fig.update_xaxes(type="category")
    _counts_axis(fig, "y", float(df["successful"].max()) if len(df) else 0)
    title = label("monthly_success.title", lang, n=len(df))
    empty = len(df) == 0 or int(df["successful"].sum()) == 0
    return _layout(fig, title, label("axis.month", lang), label("axis.messages", lang), lang, empty)


def figure_daily_sends(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Stacked bars per day, one series per message state that occurs, from
    :func:`daily_sends`."""
    fig = go.Figure()
    for state in MESSAGE_STATES:
        if state in df and int(df[state].sum()) > 0:
            name = t(f"message.{state}", lang)
            fig.add_trace(
                go.Bar(
                    x=df["day"],
                    y=df[state],
                    name=name,
                    hovertemplate="%{x|%Y/%m/%d} " + name + ": %{y:,}<extra></extra>",
                )
            )
    fig.update_layout(barmode="stack")
    # Plotly's date ticks speak English ("Nov 15"); numbers read the same in both.
    fig.update_xaxes(tickformat="%m/%d")
    states = [s for s in MESSAGE_STATES if s in df]
    _counts_axis(fig, "y", float(df[states].sum(axis=1).max()) if len(df) and states else 0)
    title = label("daily_sends.title", lang, n=len(df))
    empty = not fig.data
    return _layout(fig, title, label("axis.day", lang), label("axis.messages", lang), lang, empty)


def figure_funnel(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """The delivery funnel (queued → accepted → delivered / failed), from :func:`funnel`.

    Each stage shows its count and its ``share``: of queued messages, and for the
    ``clicked`` stage (recipients) the click rate of recipients given a link.
    """
    fig = go.Figure(
        go.Funnel(
            y=[label(f"stage.{stage}", lang) for stage in df["stage"]],
            x=df["messages"],
            text=[
                f"{int(n):,} ({share:.0%})"
                for n, share in zip(df["messages"], df["share"], strict=True)
            ],
            textinfo="text",
        )
    )
    empty = len(df) == 0 or int(df["messages"].max()) == 0
    return _layout(fig, label("funnel.title", lang), "", "", lang, empty)


def _reason(code: object, message: object, lang: str) -> str:
    """The reason as a word of the catalogue (宛先不明, 圏外・電源オフ…)."""
    return failure_reason(code, message, lang) or label("reason.none", lang)


def figure_failure_reasons(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Horizontal bars of failed messages per reason, from :func:`failure_reasons`; the
    providers' codes and texts are counted under their word in ``lang``."""
    counts: dict[str, int] = {}
    for c, m, n in zip(df["error_code"], df["error_message"], df["messages"], strict=True):
        word = _reason(c, m, lang)
        counts[word] = counts.get(word, 0) + int(n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    # Plotly draws the first category at the bottom; the most frequent belongs on top.
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in ranked][::-1],
            y=[w for w, _ in ranked][::-1],
            orientation="h",
            name=t("message.failed", lang),
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    _counts_axis(fig, "x", max(counts.values(), default=0))
    x, y = label("axis.messages", lang), label("axis.reason", lang)
    return _layout(fig, label("failure_reasons.title", lang), x, y, lang, len(df) == 0)


def figure_quota_by_month(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Used and reserved units stacked per month, with the cap as a line, from
    :func:`quota_by_month`."""
    months = _month_labels(df["month"])
    fig = go.Figure(
        [
            go.Bar(x=months, y=df["used"], name=label("series.used", lang)),
            go.Bar(x=months, y=df["reserved"], name=label("series.reserved", lang)),
            go.Scatter(x=months, y=df["cap"], name=label("series.cap", lang), mode="lines+markers"),
        ]
    )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    x, y = label("axis.month", lang), label("axis.units", lang)
    return _layout(fig, label("quota_by_month.title", lang), x, y, lang, len(df) == 0)


def figure_quota_gauge(status, lang: str = "ja") -> go.Figure:
    """A gauge of this month's units: used and reserved against the cap (Overview).

    ``status`` is anything with ``cap``, ``used`` and ``reserved`` (a
    :class:`sms_core.sending.quota.QuotaStatus`, or a row of :func:`quota_by_month`).
    """
    cap, used, reserved = int(status.cap), int(status.used), int(status.reserved)
    taken = used + reserved
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=taken,
            number={"valueformat": ",", "font": {"size": 40}},
            gauge={
                # A cap of 0 (no contract this month) still needs a non-empty axis; the
                # ticks carry thousands separators and few enough to fit ("5,000").
                "axis": {"range": [0, max(cap, 1)], "tickformat": ",", "nticks": 5},
                "bar": {"thickness": 0},
                "steps": [
                    {"range": [0, used], "color": "#1f77b4", "name": label("series.used", lang)},
                    {
                        "range": [used, taken],
                        "color": "#aec7e8",
                        "name": label("series.reserved", lang),
                    },
                ],
                "threshold": {"value": cap, "line": {"color": "#d62728", "width": 3}},
            },
        )
    )
    fig.update_layout(
        title={"text": label("quota_gauge.title", lang, cap=cap)},
        # Room at both sides for the end ticks: with 20px the cap's "5000" was cut to "50".
        margin={"t": 70, "l": 50, "r": 50, "b": 10},
        height=300,
    )
    return fig


def figure_units_per_campaign(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Units per campaign, stacked by used / pending / released, oldest campaign on the
    left, from :func:`units_per_campaign`."""
    ordered = df.iloc[::-1]
    names = [f"#{i} {n}" for i, n in zip(ordered["campaign_id"], ordered["name"], strict=True)]
    fig = go.Figure(
        [
            go.Bar(x=names, y=ordered[part], name=label(f"series.{part}", lang))
            for part in ("units_used", "units_pending", "units_released")
        ]
    )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    parts = ["units_used", "units_pending", "units_released"]
    _counts_axis(fig, "y", float(df[parts].sum(axis=1).max()) if len(df) else 0)
    x, y = label("axis.campaign", lang), label("axis.units", lang)
    return _layout(fig, label("units_per_campaign.title", lang), x, y, lang, len(df) == 0)


def figure_clicks_per_campaign(df: pd.DataFrame, lang: str = "ja") -> go.Figure:
    """Click rate per campaign, from :func:`clicks_per_campaign` (campaigns with links)."""
    ordered = df.iloc[::-1]
    names = [f"#{i} {n}" for i, n in zip(ordered["campaign_id"], ordered["name"], strict=True)]
    fig = go.Figure(go.Bar(x=names, y=ordered["click_rate"], name=label("axis.click_rate", lang)))
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickformat=".0%")
    x, y = label("axis.campaign", lang), label("axis.click_rate", lang)
    return _layout(fig, label("clicks_per_campaign.title", lang), x, y, lang, len(df) == 0)
