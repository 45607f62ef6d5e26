"""Issue 15: times, failure reasons, audit events, table labels and chart labels as people
read them, in Japanese by default and English when chosen."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from sms_core.errors import AccessError
from sms_core.i18n import (
    audit_action,
    audit_detail,
    display_time,
    error_text,
    failure_reason,
)
from sms_core.reports import figure_daily_sends, figure_failure_reasons, figure_quota_gauge
from sms_core.reports.labels import labelled


def test_times_are_japan_time_with_slashes_and_missing_ones_are_empty():
    # 15:00 UTC on the month's last day is already the next day and month in Japan.
    assert display_time(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == "2026/12/01 00:00"
    assert display_time(datetime(2026, 12, 1, 1, 0)) == "2026/12/01 10:00"  # naive = UTC
    assert display_time(pd.Timestamp("2026-12-01 10:00", tz="Asia/Tokyo")) == "2026/12/01 10:00"
    assert display_time(None) == display_time(pd.NaT) == ""


@pytest.mark.parametrize(
    ("code", "text", "ja", "en"),
    [
        (None, "absent subscriber", "圏外・電源オフ", "Out of area or switched off"),
        (None, "unreachable number", "宛先不明", "Unknown number"),
        (None, "carrier rejected the message", "受信拒否", "Refused by the recipient"),
        ("unreachable", "unreachable number", "宛先不明", "Unknown number"),
        ("30003", "undelivered (30003): Unreachable destination handset", "圏外・電源オフ", None),
        ("21610", "failed", "受信拒否", None),
        (None, "Karaden could not send it; out of service area (圏外)", "圏外・電源オフ", None),
        ("x9", "something new", "その他", "Other"),
    ],
)  # fmt: skip
def test_providers_reasons_map_to_one_word_in_the_catalogue(code, text, ja, en):
    assert failure_reason(code, text) == ja
    if en:
        assert failure_reason(code, text, "en") == en


def test_a_message_without_a_reason_has_an_empty_one():
    assert failure_reason(None, None) == failure_reason(float("nan"), float("nan")) == ""


def test_audit_events_read_as_words_with_japan_times():
    detail = json.dumps(
        {"campaign": 8, "send_at": "2026-12-01T01:00:00+00:00", "urgent_reason": None}
    )
    assert audit_action("campaign.confirm") == "送信を確定"
    assert audit_action("campaign.confirm", "en") == "Send confirmed"
    assert audit_detail(detail) == "送信番号: 8、送信日時: 2026/12/01 10:00"
    contract = {"after": {"sender_mode": "shared", "months": 12}, "before": None}
    assert audit_detail(json.dumps(contract)) == (
        "変更後: （送信元: 共通番号（無料）、契約期間（か月）: 12）"
    )
    assert audit_detail('{"key": "quiet_hours", "value": "21:00-08:00"}') == (
        "項目: 送信停止時間帯、値: 21:00-08:00"
    )


def test_one_sign_in_refusal_in_both_languages():
    """Unknown name, wrong password and a locked account read the same (no hint)."""
    locked = AccessError("too many failed attempts; try again in 30 s", key="login.refused")
    wrong = AccessError("wrong name or password", key="login.refused")
    assert error_text(locked) == error_text(wrong)
    assert error_text(locked, "en") == error_text(wrong, "en")
    assert "30 s" not in error_text(locked, "en")


def test_a_message_table_has_catalogue_headers_and_words_and_empty_cells():
    frame = pd.DataFrame(
        {
            "message_id": [1, 2],
            "recipient_row": [0, 1],
            "part_index": [1, 1],
            "part_count": [1, 2],
            "candidate_id": ["A1", "A2"],
            "name": [None, "佐藤"],
            "kind": ["new_grad", "mid_career"],
            "phone": ["*******1234", "*******5678"],
            "state": ["failed", "delivered"],
            "error_code": [None, None],
            "error_message": ["absent subscriber", float("nan")],
            "created_at": pd.to_datetime(["2026-12-01 01:00Z", "2026-12-01 01:00Z"]),
            "delivered_at": pd.to_datetime([None, "2026-12-01 01:00Z"], utc=True),
        }
    )
    ja = labelled(frame, "messages")
    assert list(ja.columns) == [
        "メッセージ番号", "応募者ID", "氏名", "区分", "電話番号", "分割", "状態", "失敗理由",
        "作成日時", "到達日時",
    ]  # fmt: skip
    assert ja.to_dict("records")[0] == {
        "メッセージ番号": "#1", "応募者ID": "A1", "氏名": "", "区分": "新卒",
        "電話番号": "*******1234", "分割": "", "状態": "失敗", "失敗理由": "圏外・電源オフ",
        "作成日時": "2026/12/01 10:00", "到達日時": "",
    }  # fmt: skip
    assert ja["分割"].iloc[1] == "1/2"
    en = labelled(frame, "messages", "en")
    assert list(en["Kind"]) == ["New graduate", "Mid-career"]


def test_a_campaign_table_shows_months_and_campaign_states_as_words():
    frame = pd.DataFrame(
        {"campaign_id": [7], "name": ["説明会"], "state": ["scheduled"],
         "quota_month": [date(2026, 12, 1)], "units_reserved": [3]}
    )  # fmt: skip
    assert labelled(frame, "upcoming").to_dict("records") == [
        {"送信番号": "#7", "送信名": "説明会", "予約通数": 3}
    ]
    assert labelled(frame, "campaigns")["対象月"].iloc[0] == "2026-12"
    assert labelled(frame, "campaigns")["状態"].iloc[0] == "予約済み"


def test_the_failure_chart_counts_reasons_under_their_word():
    df = pd.DataFrame(
        {"error_code": [None, "unreachable", None], "error_message":
         ["unreachable number", None, "absent subscriber"], "messages": [3, 2, 4]}
    )  # fmt: skip
    bars = figure_failure_reasons(df).data[0]
    assert dict(zip(bars.y, bars.x, strict=True)) == {"宛先不明": 5, "圏外・電源オフ": 4}
    assert figure_failure_reasons(df, "en").data[0].y[-1] == "Unknown number"


def test_the_daily_chart_has_numeric_date_ticks_and_no_english_hover():
    df = pd.DataFrame({"day": [date(2026, 12, 1)], "delivered": [3]})
    fig = figure_daily_sends(df)
    assert fig.layout.xaxis.tickformat == "%m/%d"
    assert "到達" in fig.data[0].hovertemplate


def test_the_gauge_leaves_room_for_the_caps_label():
    """Issue 15: with 20px margins the cap's "5000" was cut to "50"."""
    fig = figure_quota_gauge(SimpleNamespace(cap=5000, used=1200, reserved=300))
    assert fig.layout.margin.l >= 40 and fig.layout.margin.r >= 40
    assert fig.data[0].gauge.axis.tickformat == ","


def test_yen_reads_as_people_write_it():
    """Whole yen without decimals (never 0.00円); sen only when a fractional price leaves
    them: the preview, the confirmation, Overview and History all say the same."""
    from decimal import Decimal

    from sms_core.i18n import format_yen

    cases = {
        Decimal("0.00"): "0",
        Decimal("8"): "8",
        Decimal("22.50"): "22.5",
        Decimal("7.25"): "7.25",
        Decimal("1234567.00"): "1,234,567",
        22.5: "22.5",
    }
    assert {k: format_yen(k) for k in cases} == cases


def test_count_axes_tick_whole_numbers():
    """Two failures must not be drawn on a 0, 0.5, 1, 1.5, 2 axis."""
    df = pd.DataFrame({"error_code": ["30005"], "error_message": [""], "messages": [2]})
    fig = figure_failure_reasons(df, "ja")
    assert (fig.layout.xaxis.dtick, fig.layout.xaxis.tickformat) == (1, ",d")
    many = pd.DataFrame({"error_code": ["30005"], "error_message": [""], "messages": [500]})
    assert figure_failure_reasons(many, "ja").layout.xaxis.dtick is None


def test_an_empty_chart_says_so_and_draws_no_made_up_axes():
    empty = pd.DataFrame({"error_code": [], "error_message": [], "messages": []})
    fig = figure_failure_reasons(empty, "ja")
    assert fig.layout.annotations[0].text == "データがありません"
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
