"""The reports (issue 5) on a real database, SQLite and PostgreSQL.

A small history with chosen states and timestamps, including the edges of Japan-time
months and days, checked number by number; then a million seeded messages, checked
against the seed's own counts, with every statement the reports run counted: none may
return rows in proportion to the messages. Rules: R15 (states), R17 (Japan months), R20.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import event, insert

from sms_core import reports
from sms_core.demo.seed import SEED_TEMPLATES, seed_history
from sms_core.errors import InputError, StateError
from sms_core.reports.activity import HANDED_OVER_STATES
from sms_core.sending.contract import set_contract
from sms_core.store.db import transaction
from sms_core.store.models import MESSAGE_STATES, Campaign, Message, QuotaMonth

# 12:00 on 10 December 2026 in Japan.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def z(text: str) -> datetime:
    """A UTC instant from ``2026-11-30 14:59:59``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Campaigns, inserted in this order (ids 1-4): (name, state, quota month, created).
CAMPAIGNS = [
    ("january", "finished", date(2026, 1, 1), z("2025-12-30 00:00:00")),
    ("november", "finished", date(2026, 11, 1), z("2026-11-29 00:00:00")),
    ("december", "sending", date(2026, 12, 1), z("2026-12-09 00:00:00")),
    ("scheduled", "scheduled", date(2026, 12, 1), z("2026-12-10 00:00:00")),
]
JAN_C, NOV_C, DEC_C, SCHED_C = 1, 2, 3, 4
# The template each campaign was loaded from (None: written by hand).
TEMPLATE_OF = {"january": "面接案内", "november": "面接案内", "december": "説明会"}
INVALID = ("invalid_number", "the number does not exist")
BLOCKED = ("blocked", "the carrier blocked the message")
UNREACHABLE = (None, "unreachable: handset off or out of coverage")

# (campaign, state, kind, units, accepted_at, delivered/failed at, (code, message))
MESSAGES = [
    # 14:59:59Z on the last day of November is 23:59:59 JST: November.
    (NOV_C, "delivered", "new_grad", 1, "2026-11-30 14:59:59", "2026-11-30 15:00:04", None),
    # 15:00:00Z is 00:00 JST on 1 December: December.
    (NOV_C, "delivered", "mid_career", 2, "2026-11-30 15:00:00", "2026-11-30 15:00:05", None),
    (NOV_C, "accepted", "new_grad", 1, "2026-11-30 14:00:00", None, None),
    (NOV_C, "failed", "new_grad", 1, None, "2026-11-30 14:00:01", INVALID),
    (NOV_C, "failed", "mid_career", 1, "2026-11-30 14:00:02", "2026-11-30 14:05:00", UNREACHABLE),
    (NOV_C, "cancelled", "new_grad", 1, None, None, (None, "an earlier part failed")),
    (DEC_C, "delivered", "mid_career", 2, "2026-12-09 01:00:00", "2026-12-09 01:00:09", None),
    (DEC_C, "queued", "new_grad", 1, None, None, None),
    (DEC_C, "sending", "new_grad", 1, None, None, None),
    (DEC_C, "unknown", "mid_career", 1, None, None, None),
    (DEC_C, "failed", "new_grad", 1, None, "2026-12-09 01:00:01", INVALID),
    # 15:30Z on 9 December is 00:30 JST on the 10th.
    (DEC_C, "failed", "new_grad", 1, None, "2026-12-09 15:30:00", BLOCKED),
    (DEC_C, "accepted", "new_grad", 1, "2026-12-09 01:00:05", None, None),
    (SCHED_C, "queued", "new_grad", 1, None, None, None),
    (SCHED_C, "queued", "mid_career", 1, None, None, None),
    (JAN_C, "delivered", "mid_career", 1, "2026-01-15 01:00:00", "2026-01-15 01:00:03", None),
    # 31 December 2025 23:59:59 JST: outside the 12 months up to December 2026.
    (JAN_C, "delivered", "new_grad", 1, "2025-12-31 14:59:59", "2025-12-31 15:00:02", None),
    # 1 January 2026 00:00 JST: the first of the 12 months.
    (JAN_C, "accepted", "new_grad", 1, "2025-12-31 15:00:00", None, None),
]


def phone(i: int) -> str:
    return f"0901234{i:04d}"


@pytest.fixture
def history(engine):
    """The small history above, a contract from February 2026 and its ledger."""
    campaigns = []
    for name, state, month, created in CAMPAIGNS:
        units = sum(m[3] for m in MESSAGES if CAMPAIGNS[m[0] - 1][0] == name)
        count = sum(1 for m in MESSAGES if CAMPAIGNS[m[0] - 1][0] == name)
        campaigns.append(
            {
                "name": name,
                "body": "本文",
                "state": state,
                "scheduled_at": created + timedelta(days=1),
                "quota_month": month,
                "units_reserved": units,
                "recipients": count,
                "sender_mode": "shared",
                "sender_number": "05055271265",
                "provider": "sandbox",
                "template_name": TEMPLATE_OF.get(name),
                "created_by": "test",
                "created_at": created,
            }
        )
    rows = []
    for i, (cid, state, kind, units, accepted, later, error) in enumerate(MESSAGES, start=1):
        created = CAMPAIGNS[cid - 1][3]
        code, reason = error or (None, None)
        rows.append(
            {
                "campaign_id": cid,
                "recipient_row": i,
                "part_index": 1,
                "part_count": 1,
                "candidate_id": f"C{i}",
                "name": f"候補者{i}",
                "kind": kind,
                "phone": phone(i),
                "body": f"候補者{i}様 本文",
                "units": units,
                "state": state,
                "client_ref": f"ref-{i}",
                "provider": "sandbox",
                "error_code": code,
                "error_message": reason,
                "attempts": 1,
                "created_at": created,
                "accepted_at": z(accepted) if accepted else None,
                "delivered_at": z(later) if state == "delivered" else None,
                "failed_at": z(later) if state == "failed" else None,
                "updated_at": created,
            }
        )
    with transaction(engine) as session:
        set_contract(session, 1000, date(2026, 2, 1), 12, actor="test", now=NOW)
        session.execute(insert(Campaign), campaigns)
        session.execute(insert(Message), rows)
        session.execute(
            insert(QuotaMonth),
            [
                {"month": date(2026, 1, 1), "cap": 1000, "used": 3, "reserved": 0},
                {"month": date(2026, 11, 1), "cap": 1000, "used": 5, "reserved": 0},
                {"month": date(2026, 12, 1), "cap": 1000, "used": 3, "reserved": 5},
            ],
        )
    return engine


def months_of(df: pd.DataFrame, column: str) -> dict[date, int]:
    return {m: int(v) for m, v in zip(df["month"], df[column], strict=True) if v}


# --- monthly successes (R20) ------------------------------------------------------------


def test_r20_monthly_success_counts_japan_months_with_the_edges(history):
    df = reports.monthly_success(history, now=NOW)
    assert list(df["month"]) == [date(2026, m, 1) for m in range(1, 13)]
    assert list(df.columns) == ["month", "successful", "delivered", "awaiting_receipt"]
    # November: 14:59:59Z on the 30th and the accepted one; the failure after acceptance
    # is not a success. December: 15:00:00Z on 30 November, and two on 9 December.
    assert months_of(df, "successful") == {
        date(2026, 1, 1): 2,
        date(2026, 11, 1): 2,
        date(2026, 12, 1): 3,
    }
    assert months_of(df, "delivered") == {
        date(2026, 1, 1): 1,
        date(2026, 11, 1): 1,
        date(2026, 12, 1): 2,
    }
    assert months_of(df, "awaiting_receipt") == {
        date(2026, 1, 1): 1,
        date(2026, 11, 1): 1,
        date(2026, 12, 1): 1,
    }
    assert (df["successful"] == 0).sum() == 9  # months without sends are there, as 0
    assert str(df["successful"].dtype) == "int64"


def test_r20_monthly_success_filters_and_window(history):
    by_kind = reports.monthly_success(history, now=NOW, kind="中途")
    assert months_of(by_kind, "successful") == {date(2026, 1, 1): 1, date(2026, 12, 1): 2}
    assert reports.monthly_success(history, now=NOW, kind="mid_career").equals(by_kind)
    by_campaign = reports.monthly_success(history, now=NOW, campaign_id=NOV_C)
    assert months_of(by_campaign, "successful") == {
        date(2026, 11, 1): 2,
        date(2026, 12, 1): 1,
    }
    # Three months up to January 2026: the message of 31 December 2025 JST is there now.
    jan = reports.monthly_success(history, months=3, now=z("2026-01-20 00:00:00"))
    assert months_of(jan, "successful") == {date(2025, 12, 1): 1, date(2026, 1, 1): 2}
    one = reports.monthly_success(history, months=1, now=NOW)
    assert months_of(one, "successful") == {date(2026, 12, 1): 3}
    with pytest.raises(InputError):
        reports.monthly_success(history, months=0)
    with pytest.raises(InputError):
        reports.monthly_success(history, kind="intern")


def test_reports_accept_a_session_as_well_as_an_engine(history):
    with transaction(history) as session:
        via_session = reports.monthly_success(session, now=NOW)
        summary = reports.campaign_summary(session)
    assert via_session.equals(reports.monthly_success(history, now=NOW))
    assert summary.equals(reports.campaign_summary(history))
    with history.connect() as conn:
        via_connection = reports.funnel(conn)
    assert via_connection.equals(reports.funnel(history))


# --- daily sends, funnel, failures ------------------------------------------------------


def test_daily_sends_count_only_messages_handed_to_the_provider_by_japan_day(history):
    """Sends today / daily chart: a message counts on the Japan-time day the provider was
    handed it (accepted, else refused). Queued ones (also scheduled for later), sending,
    unknown and cancelled ones are not sends."""
    df = reports.daily_sends(history, now=NOW)
    assert len(df) == 30
    assert df["day"].iloc[0] == date(2026, 11, 11) and df["day"].iloc[-1] == date(2026, 12, 10)
    assert list(df.columns) == ["day", *MESSAGE_STATES, "total"]
    rows = {
        d: {s: int(n) for s, n in row.items() if n and s not in ("day", "total")}
        for d, (_, row) in zip(df["day"], df.iterrows(), strict=True)
        if row["total"]
    }
    assert rows == {
        date(2026, 11, 30): {"delivered": 1, "accepted": 1, "failed": 2},
        date(2026, 12, 1): {"delivered": 1},
        date(2026, 12, 9): {"delivered": 1, "failed": 1, "accepted": 1},
        date(2026, 12, 10): {"failed": 1},
    }
    assert int(df["total"].sum()) == 9  # the three January messages are older

    one = reports.daily_sends(history, days=1, campaign_id=DEC_C, now=NOW)
    assert one["day"].tolist() == [date(2026, 12, 10)]
    assert (int(one["failed"].iloc[0]), int(one["total"].iloc[0])) == (1, 1)
    kinds = reports.daily_sends(history, now=NOW, kind="mid_career")
    assert int(kinds["total"].sum()) == 3
    # 10 December: the campaign scheduled for later (two queued messages) is no send.
    assert reports.sends_today(history, now=NOW) == 1


def funnel_of(df: pd.DataFrame) -> dict[str, int]:
    return dict(zip(df["stage"], df["messages"].astype(int), strict=True))


def test_funnel_counts_every_stage_a_message_reached(history):
    df = reports.funnel(history)
    assert funnel_of(df) == {"queued": 18, "accepted": 9, "delivered": 5, "failed": 4}
    assert df["share"].round(4).tolist() == [1.0, 0.5, round(5 / 18, 4), round(4 / 18, 4)]
    nov = reports.funnel(history, campaign_id=NOV_C)
    assert funnel_of(nov) == {"queued": 6, "accepted": 4, "delivered": 2, "failed": 2}
    # Queued since 1 December (Japan time): the December and scheduled campaigns.
    since = reports.funnel(history, since=date(2026, 12, 1))
    assert funnel_of(since) == {"queued": 9, "accepted": 2, "delivered": 1, "failed": 2}
    until = reports.funnel(history, until=date(2026, 12, 1))
    assert funnel_of(until)["queued"] == 9
    mid = reports.funnel(history, kind="mid_career")
    assert funnel_of(mid) == {"queued": 6, "accepted": 4, "delivered": 3, "failed": 1}
    empty = reports.funnel(history, campaign_id=999)
    assert funnel_of(empty) == dict.fromkeys(reports.FUNNEL_STAGES, 0)
    assert empty["share"].tolist() == [0.0] * 4


def reasons_of(df: pd.DataFrame) -> list[tuple]:
    return [
        (None if pd.isna(c) else c, m, int(n))
        for c, m, n in zip(df["error_code"], df["error_message"], df["messages"], strict=True)
    ]


def test_failure_reasons_grouped_most_frequent_first(history):
    df = reports.failure_reasons(history)
    assert reasons_of(df) == [(*INVALID, 2), (*UNREACHABLE, 1), (*BLOCKED, 1)]
    assert df["share"].tolist() == [0.5, 0.25, 0.25]
    top = reports.failure_reasons(history, limit=1)
    assert reasons_of(top) == [(*INVALID, 2)] and top["share"].tolist() == [0.5]
    dec = reports.failure_reasons(history, campaign_id=DEC_C)
    assert reasons_of(dec) == [(*BLOCKED, 1), (*INVALID, 1)]
    # Failed on or after 10 December, Japan time: only the blocked one (00:30 JST).
    late = reports.failure_reasons(history, since=date(2026, 12, 10))
    assert reasons_of(late) == [(*BLOCKED, 1)]
    assert reports.failure_reasons(history, campaign_id=SCHED_C).empty
    # The keys History filters messages by: a missing code is None, not pandas' NaN, and
    # each key finds exactly the messages its row counts.
    everything = reports.failure_reasons(history)
    keys = reports.failure_reason_keys(everything)
    assert UNREACHABLE in keys and INVALID in keys
    for (code, text), n in zip(keys, everything["messages"], strict=True):
        found = sum(
            reports.campaign_message_count(history, c, error_code=code, error_message=text)
            for c in (JAN_C, NOV_C, DEC_C, SCHED_C)
        )
        assert found == n


# --- campaigns --------------------------------------------------------------------------


def test_campaign_summary_counts_units_and_pagination(history):
    df = reports.campaign_summary(history)
    assert df["campaign_id"].tolist() == [4, 3, 2, 1]  # newest first
    by_id = df.set_index("campaign_id")
    nov = by_id.loc[NOV_C]
    assert nov["name"] == "november" and nov["state"] == "finished"
    assert nov["quota_month"] == date(2026, 11, 1)
    assert (nov["recipients"], nov["messages"], nov["units_reserved"], nov["units_used"]) == (
        6,
        6,
        7,
        5,
    )
    assert {s: int(nov[s]) for s in MESSAGE_STATES} == {
        "queued": 0,
        "sending": 0,
        "accepted": 1,
        "delivered": 2,
        "failed": 2,
        "unknown": 0,
        "cancelled": 1,
        "expired": 0,  # issue 12: not handed over by the deadline
        "withheld": 0,  # issue 12: stopped at hand-over (opt-out, frequency cap)
    }
    dec = by_id.loc[DEC_C]
    assert (dec["messages"], dec["units_used"], dec["queued"], dec["unknown"]) == (7, 3, 1, 1)
    assert by_id.loc[SCHED_C, "units_used"] == 0 and by_id.loc[SCHED_C, "queued"] == 2
    # Japan time, aware: the January campaign was created 09:00 JST on 30 December.
    created = by_id.loc[JAN_C, "created_at"]
    assert str(created.tz) == "Asia/Tokyo" and (created.hour, created.day) == (9, 30)
    assert df[[*MESSAGE_STATES]].to_numpy().sum() == len(MESSAGES)

    assert reports.campaign_summary(history, limit=2)["campaign_id"].tolist() == [4, 3]
    assert reports.campaign_summary(history, limit=2, offset=2)["campaign_id"].tolist() == [2, 1]
    assert reports.campaign_summary(history, limit=2, offset=4).empty
    finished = reports.campaign_summary(history, state="finished")
    assert finished["campaign_id"].tolist() == [2, 1]
    december = reports.campaign_summary(history, month_from=date(2026, 12, 15))
    assert december["campaign_id"].tolist() == [4, 3]
    assert reports.campaign_summary(history, month_to=date(2026, 1, 1))["name"].tolist() == [
        "january"
    ]
    assert reports.campaign_count(history) == 4
    assert reports.campaign_count(history, "finished") == 2
    assert reports.campaign_count(history, month_from=date(2026, 11, 1)) == 3
    with pytest.raises(InputError):
        reports.campaign_summary(history, state="done")
    with pytest.raises(InputError):
        reports.campaign_summary(history, limit=0)


def test_campaign_messages_are_masked_filtered_and_paginated(history):
    df = reports.campaign_messages(history, NOV_C)
    assert df["recipient_row"].tolist() == [1, 2, 3, 4, 5, 6]
    assert df["phone"].tolist() == [f"*******{phone(i)[-4:]}" for i in range(1, 7)]
    assert all(len(p) == 11 for p in df["phone"])
    assert df["state"].tolist() == [m[1] for m in MESSAGES[:6]]
    first = df.iloc[0]
    assert first["accepted_at"] == pd.Timestamp("2026-11-30 23:59:59", tz="Asia/Tokyo")
    assert pd.isna(first["failed_at"]) and first["units"] == 1

    plain = reports.campaign_messages(history, NOV_C, mask=False)
    assert plain["phone"].tolist() == [phone(i) for i in range(1, 7)]
    failed = reports.campaign_messages(history, NOV_C, state="failed")
    assert failed["recipient_row"].tolist() == [4, 5]
    assert failed["error_code"].iloc[0] == "invalid_number"
    page = reports.campaign_messages(history, NOV_C, limit=4, offset=4)
    assert page["recipient_row"].tolist() == [5, 6]
    by_code = reports.campaign_messages(history, DEC_C, error_code="blocked")
    assert by_code["recipient_row"].tolist() == [12]
    by_text = reports.campaign_messages(history, NOV_C, error_message=UNREACHABLE[1])
    assert by_text["recipient_row"].tolist() == [5]
    mid = reports.campaign_messages(history, NOV_C, kind="中途")
    assert mid["recipient_row"].tolist() == [2, 5]
    everything = reports.campaign_messages(history, DEC_C, limit=None, offset=1)  # export
    assert everything["recipient_row"].tolist() == list(range(8, 14))
    assert reports.campaign_messages(history, 999).empty
    assert reports.campaign_message_count(history, NOV_C) == 6
    assert reports.campaign_message_count(history, NOV_C, "failed") == 2
    assert reports.campaign_message_count(history, DEC_C, kind="new_grad") == 5
    with pytest.raises(InputError):
        reports.campaign_messages(history, NOV_C, state="lost")


def test_quota_by_month_fills_months_from_the_contract(history):
    df = reports.quota_by_month(history, now=NOW, ahead=2)
    assert len(df) == 14
    rows = {m: tuple(int(v) for v in r) for m, *r in df.itertuples(index=False)}
    # January 2026 has a ledger row but lies before the contract: nothing remains.
    assert rows[date(2026, 1, 1)] == (1000, 3, 0, 0)
    assert rows[date(2026, 2, 1)] == (1000, 0, 0, 1000)
    assert rows[date(2026, 11, 1)] == (1000, 5, 0, 995)
    assert rows[date(2026, 12, 1)] == (1000, 3, 5, 992)
    assert rows[date(2027, 1, 1)] == (1000, 0, 0, 1000)
    assert rows[date(2027, 2, 1)] == (0, 0, 0, 0)  # after the contract
    assert list(df.columns) == ["month", "cap", "used", "reserved", "remaining"]


def test_units_and_clicks_per_campaign(history):
    df = reports.units_per_campaign(history)
    got = {
        int(r.campaign_id): (r.units_planned, r.units_used, r.units_pending, r.units_released)
        for r in df.itertuples()
    }
    assert got == {4: (2, 0, 2, 0), 3: (8, 3, 3, 2), 2: (7, 5, 0, 2), 1: (3, 3, 0, 0)}
    assert df["campaign_id"].tolist() == [4, 3, 2, 1]
    mid = reports.units_per_campaign(history, kind="mid_career", limit=2)
    assert [tuple(r) for r in mid[["campaign_id", "units_planned", "units_used"]].values] == [
        (4, 1, 0),
        (3, 3, 2),
    ]
    nov = reports.units_per_campaign(
        history, month_from=date(2026, 11, 1), month_to=date(2026, 11, 1)
    )
    assert nov["campaign_id"].tolist() == [NOV_C]

    clicks = reports.clicks_per_campaign(history)
    assert clicks.empty and tuple(clicks.columns) == reports.CLICK_COLUMNS


def test_reports_slice_by_template(history):
    """Issue 5: every report of messages or campaigns takes ``template``; the per-template
    summary counts campaigns, recipients and messages without multiplying them."""
    df = reports.template_summary(history)
    rows = [
        (None if pd.isna(r.template_name) else r.template_name, *r[2:9]) for r in df.itertuples()
    ]
    assert rows == [
        ("面接案内", 2, 9, 9, 6, 4, 2, 8),
        ("説明会", 1, 7, 7, 2, 1, 2, 3),
        (None, 1, 2, 2, 0, 0, 0, 0),
    ]
    assert df["success_rate"].tolist() == pytest.approx([6 / 9, 2 / 7, 0.0])
    nov = reports.template_summary(
        history, month_from=date(2026, 11, 1), month_to=date(2026, 11, 1)
    )
    assert nov["template_name"].tolist() == ["面接案内"] and nov["messages"].tolist() == [6]

    assert funnel_of(reports.funnel(history, template="面接案内")) == {
        "queued": 9,
        "accepted": 7,
        "delivered": 4,
        "failed": 2,
    }
    monthly = reports.monthly_success(history, now=NOW, template="説明会")
    assert months_of(monthly, "successful") == {date(2026, 12, 1): 2}
    assert int(reports.daily_sends(history, now=NOW, template="説明会")["total"].sum()) == 4
    assert int(reports.failure_reasons(history, template="説明会")["messages"].sum()) == 2
    summary = reports.campaign_summary(history, template="面接案内")
    assert summary["campaign_id"].tolist() == [NOV_C, JAN_C]
    assert summary["template_name"].tolist() == ["面接案内", "面接案内"]
    assert reports.campaign_count(history, template=" 面接案内 ") == 2
    units = reports.units_per_campaign(history, template="説明会")
    assert units["campaign_id"].tolist() == [DEC_C]
    assert reports.campaign_count(history, template="no such template") == 0
    with pytest.raises(InputError):
        reports.funnel(history, template="  ")


# --- figures ----------------------------------------------------------------------------


def test_figures_have_the_right_points_and_titles_in_both_languages(history):
    monthly = reports.monthly_success(history, now=NOW)
    ja = reports.figure_monthly_success(monthly)
    en = reports.figure_monthly_success(monthly, lang="en")
    assert ja.layout.title.text == "月別SMS送信成功数（過去12か月）"
    assert en.layout.title.text == "Successful SMS sends per month (past 12 months)"
    assert len(ja.data) == 1 and len(ja.data[0].x) == 12
    assert list(ja.data[0].x)[-2:] == ["2026-11", "2026-12"]
    assert list(ja.data[0].y)[-2:] == [2, 3]
    assert (ja.layout.xaxis.title.text, en.layout.yaxis.title.text) == ("月", "Messages")

    daily = reports.figure_daily_sends(reports.daily_sends(history, now=NOW))
    # Only what was handed to the provider: accepted, delivered, failed.
    assert {t.name for t in daily.data} == {"受付済み", "到達", "失敗"}
    assert all(len(t.x) == 30 for t in daily.data) and daily.layout.barmode == "stack"
    assert daily.layout.title.text == "日別送信数（過去30日）"

    funnel = reports.figure_funnel(reports.funnel(history), lang="en")
    assert list(funnel.data[0].x) == [18, 9, 5, 4]
    assert funnel.data[0].y[0] == "Queued" and funnel.layout.title.text == "Delivery funnel"
    assert reports.figure_funnel(reports.funnel(history)).data[0].y[2] == "到達"

    failures = reports.figure_failure_reasons(reports.failure_reasons(history))
    assert list(failures.data[0].x) == [1, 1, 2]  # most frequent drawn on top
    # Issue 15: the providers' codes and texts as the catalogue's words.
    assert failures.data[0].y[-1] == "無効な番号"
    assert set(failures.data[0].y) == {"無効な番号", "圏外・電源オフ", "受信拒否"}
    assert failures.layout.title.text == "失敗理由"

    quota = reports.figure_quota_by_month(reports.quota_by_month(history, now=NOW), lang="en")
    assert [len(t.x) for t in quota.data] == [12, 12, 12]
    assert [t.name for t in quota.data] == ["Used", "Reserved", "Cap"]

    december = reports.quota_by_month(history, now=NOW).iloc[-1]
    gauge = reports.figure_quota_gauge(december)
    assert gauge.data[0].value == 8 and gauge.data[0].gauge.axis.range == (0, 1000)
    assert gauge.layout.title.text == "今月の通数（使用＋予約 / 上限 1,000）"
    assert reports.figure_quota_gauge(december, "en").layout.title.text.startswith("Units")

    units = reports.figure_units_per_campaign(reports.units_per_campaign(history))
    assert [len(t.x) for t in units.data] == [4, 4, 4]
    assert units.data[0].x[0] == "#1 january"  # oldest on the left

    clicks = reports.figure_clicks_per_campaign(reports.clicks_per_campaign(history))
    assert len(clicks.data[0].x) == 0
    assert clicks.layout.annotations[0].text == "データがありません"
    assert clicks.layout.title.text == "キャンペーン別クリック率"
    with pytest.raises(InputError):
        reports.figure_funnel(reports.funnel(history), lang="fr")


def test_figures_of_an_empty_database_say_so(engine):
    fig = reports.figure_monthly_success(reports.monthly_success(engine), lang="en")
    assert len(fig.data[0].x) == 12 and fig.layout.annotations[0].text == "No data"
    assert reports.figure_daily_sends(reports.daily_sends(engine)).layout.annotations
    assert reports.figure_failure_reasons(reports.failure_reasons(engine)).layout.annotations
    assert reports.quota_by_month(engine)["cap"].sum() == 0  # no contract


# --- seeded histories -------------------------------------------------------------------


def test_a_small_seeded_history_matches_its_summary(engine):
    seeded = seed_history(engine, 2_000, campaigns=8, now=NOW)
    assert seeded.messages == 2_000 and seeded.campaigns == 8
    monthly = reports.monthly_success(engine, now=NOW)
    assert months_of(monthly, "successful") == dict(seeded.successful_by_month)
    assert funnel_of(reports.funnel(engine))["accepted"] == seeded.reached_acceptance
    summary = reports.campaign_summary(engine)
    assert int(summary["messages"].sum()) == 2_000
    assert int(summary["units_used"].sum()) == seeded.units_used
    assert summary["state"].tolist() == ["sending"] + ["finished"] * 7
    quota = reports.quota_by_month(engine, now=NOW)
    assert int(quota["used"].sum()) == seeded.units_used
    assert (quota["remaining"] >= 0).all() and (quota["cap"] > 0).all()
    with pytest.raises(StateError):
        seed_history(engine, 10, campaigns=1, now=NOW)  # only into a history-free database


# --- a million messages -----------------------------------------------------------------


class StatementLog:
    """Every statement an engine runs, to re-count the rows each one returned."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[tuple[str, object]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # Queries only: SQLite's BEGIN IMMEDIATE goes through here too.
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.statements.append((statement, parameters))

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def row_counts(self, since: int) -> list[int]:
        """How many rows each statement after the ``since``-th returned."""
        recorded = self.statements[since:]
        counts = []
        with self.engine.connect() as conn:
            for statement, parameters in recorded:
                counts.append(
                    conn.exec_driver_sql(
                        f"SELECT COUNT(*) FROM ({statement}) AS q", parameters
                    ).scalar()
                )
        del self.statements[since:]  # the re-counts themselves
        return counts


MILLION = 1_000_000


@pytest.mark.slow
def test_a_million_messages_aggregate_in_sql(engine):
    """Each report's totals match the seed's, and no statement returns more rows than a
    page or a calendar holds (250; a row per day and state for 400 days), with 1,000,000
    messages in the table."""
    started = time.perf_counter()
    seeded = seed_history(engine, MILLION, campaigns=200, now=NOW)
    seed_seconds = time.perf_counter() - started
    assert seeded.messages == MILLION
    log = StatementLog(engine)
    timings: dict[str, float] = {}

    def run(name, call, *args, bound=250, **kwargs):
        mark = len(log.statements)
        started = time.perf_counter()
        result = call(engine, *args, **kwargs)
        timings[name] = time.perf_counter() - started
        counts = log.row_counts(mark)
        assert 1 <= len(counts) <= 3, (name, counts)
        assert max(counts) <= bound, f"{name} returned {counts} rows from {MILLION:,} messages"
        return result

    try:
        monthly = run("monthly_success", reports.monthly_success, now=NOW)
        assert months_of(monthly, "successful") == dict(seeded.successful_by_month)
        assert months_of(monthly, "delivered") == dict(seeded.delivered_by_month)
        assert (
            monthly["successful"].sum()
            == seeded.by_state["accepted"] + seeded.by_state["delivered"]
        )

        # The whole history fits in 400 days (12 months, queued a day before sending); at
        # most a row per day and state.
        bound = 400 * len(MESSAGE_STATES)
        daily = run("daily_sends", reports.daily_sends, days=400, now=NOW, bound=bound)
        # Only messages handed to the provider count on a day (issue 11): accepted,
        # delivered or failed; never queued or cancelled ones.
        handed = {s: n for s, n in seeded.by_state.items() if s in HANDED_OVER_STATES}
        assert int(daily["total"].sum()) == sum(handed.values())
        assert {s: int(daily[s].sum()) for s in MESSAGE_STATES if daily[s].sum()} == handed

        funnel = funnel_of(run("funnel", reports.funnel))
        assert funnel == {
            "queued": MILLION,
            "accepted": seeded.reached_acceptance,
            "delivered": seeded.by_state["delivered"],
            "failed": seeded.by_state["failed"],
        }

        failures = run("failure_reasons", reports.failure_reasons)
        assert {(c, m): n for c, m, n in reasons_of(failures)} == dict(seeded.failures)

        pages = [
            run("campaign_summary", reports.campaign_summary, limit=50, offset=o)
            for o in range(0, 200, 50)
        ]
        summary = pd.concat(pages)
        assert summary["campaign_id"].tolist() == list(range(200, 0, -1))
        assert int(summary["messages"].sum()) == MILLION
        assert int(summary["units_used"].sum()) == seeded.units_used
        assert {s: int(summary[s].sum()) for s in MESSAGE_STATES if summary[s].sum()} == dict(
            seeded.by_state
        )
        assert run("campaign_count", reports.campaign_count) == 200

        page = run("campaign_messages", reports.campaign_messages, 17, limit=100, offset=200)
        assert page["recipient_row"].tolist() == list(range(201, 301))
        assert page["phone"].str.startswith("*******").all()

        units = run("units_per_campaign", reports.units_per_campaign, limit=200)
        assert int(units["units_planned"].sum()) == seeded.units
        assert int(units["units_used"].sum()) == seeded.units_used

        quota = run("quota_by_month", reports.quota_by_month, now=NOW)
        assert int(quota["used"].sum()) == seeded.units_used
        assert int(quota["reserved"].sum()) == sum(r for _, r in seeded.ledger.values())

        by_kind = run("monthly_success kind", reports.monthly_success, now=NOW, kind="新卒")
        assert 0 < by_kind["successful"].sum() < monthly["successful"].sum()

        templates = run("template_summary", reports.template_summary)
        assert {
            (None if pd.isna(n) else n): int(m)
            for n, m in zip(templates["template_name"], templates["messages"], strict=True)
        } == dict(seeded.by_template)
        assert int(templates["campaigns"].sum()) == 200
        assert int(templates["units_used"].sum()) == seeded.units_used
        name = SEED_TEMPLATES[0]
        by_template = run("funnel template", reports.funnel, template=name)
        assert funnel_of(by_template)["queued"] == seeded.by_template[name]
    finally:
        log.close()
    backend = engine.dialect.name
    print(f"\n{backend}: seeded {MILLION:,} messages in {seed_seconds:.1f} s")
    for name, seconds in timings.items():
        print(f"  {name:24s} {seconds * 1000:8.1f} ms")


# --- one definition of a successful send (R20) and sends today on the product clock ----


def test_r20_a_successful_send_is_a_recipients_whole_message_not_a_part(engine):
    """R20 (成功件数): one success per recipient's message, counted when its last part was
    accepted and no part failed; the chart, template summary and notebook share it."""
    from sms_core import clock

    at = z("2026-12-09 01:00:00")
    with transaction(engine) as session:
        set_contract(session, 1000, date(2026, 12, 1), 3, actor="test", now=at)
        session.execute(
            insert(Campaign),
            [
                {
                    "name": "parts",
                    "body": "本文",
                    "state": "finished",
                    "scheduled_at": at,
                    "quota_month": date(2026, 12, 1),
                    "units_reserved": 0,
                    "recipients": 4,
                    "sender_mode": "shared",
                    "sender_number": "05055271265",
                    "provider": "sandbox",
                    "template_name": "分割",
                    "created_by": "test",
                    "created_at": at,
                }
            ],
        )
        # (recipient, part, of, state, accepted?)
        parts = [
            (1, 1, 3, "delivered", True),  # three parts, all delivered: 1 success, delivered
            (1, 2, 3, "delivered", True),
            (1, 3, 3, "delivered", True),
            (2, 1, 2, "delivered", True),  # two parts, last accepted: 1 success, awaiting
            (2, 2, 2, "accepted", True),
            (3, 1, 2, "failed", True),  # first part failed after acceptance: no success
            (3, 2, 2, "accepted", True),
            (4, 1, 2, "accepted", True),  # last part not sent yet: no success
            (4, 2, 2, "queued", False),
        ]
        session.execute(
            insert(Message),
            [
                {
                    "campaign_id": 1,
                    "recipient_row": row,
                    "part_index": part,
                    "part_count": count,
                    "kind": "new_grad",
                    "phone": phone(row),
                    "body": "本文",
                    "units": 10,
                    "state": state,
                    "client_ref": f"ref-{row}-{part}",
                    "provider": "sandbox",
                    "attempts": 1,
                    "created_at": at,
                    "accepted_at": at + timedelta(seconds=part) if accepted else None,
                    "failed_at": at if state == "failed" else None,
                    "delivered_at": at if state == "delivered" else None,
                    "updated_at": at,
                }
                for row, part, count, state, accepted in parts
            ],
        )
    with clock.frozen(z("2026-12-10 03:00:00")):
        monthly = reports.monthly_success(engine, 3)
    assert months_of(monthly, "successful") == {date(2026, 12, 1): 2}
    assert months_of(monthly, "delivered") == {date(2026, 12, 1): 1}
    assert months_of(monthly, "awaiting_receipt") == {date(2026, 12, 1): 1}
    summary = reports.template_summary(engine)
    row = summary[summary["template_name"] == "分割"].iloc[0]
    assert (int(row["successful"]), int(row["delivered"]), int(row["messages"])) == (2, 1, 9)
    assert row["success_rate"] == pytest.approx(2 / 4)


def test_sends_today_follows_the_product_clock_in_japan_time(history):
    """本日の送信数 on the product clock: 00:30 JST on 10 December sees the refusal of
    15:30Z on the 9th (Japan's 10th), not the scheduled campaign's queued messages; one
    minute before Japan's midnight it is still the 9th (three sends)."""
    from sms_core import clock

    with clock.frozen(z("2026-12-09 15:31:00")):  # 00:31 on 10 December in Japan
        assert reports.sends_today(history) == 1
        assert reports.daily_sends(history, days=1)["day"].tolist() == [date(2026, 12, 10)]
    with clock.frozen(z("2026-12-09 14:59:00")):  # 23:59 on 9 December in Japan
        assert reports.sends_today(history) == 3
