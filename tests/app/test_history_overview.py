"""Overview and History on the demo history: figures, pagination, cancel, safe export."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from sms_core import clock
from sms_core.demo.seed import seed_history
from sms_core.demo.showcase import _CAMPAIGNS, seed_demo
from sms_core.i18n import failure_reason

# 12:00 on 10 December 2026 in Japan.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def message_table(at):
    """History's table of one campaign's messages (by its Japanese headers)."""
    return next(d.value for d in at.dataframe if "電話番号" in d.value.columns)


def select(at, label: str):
    return next(s for s in at.selectbox if s.label == label)


def test_overview_shows_this_months_units_and_the_12_month_chart(database, run_app):
    seed_demo(database.database_engine())
    status = database.quota()
    at = run_app()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["残り"] == f"{status.remaining:,}"
    assert shown["送信済み"] == f"{status.used:,}"
    assert len(at.get("plotly_chart")) >= 2  # the gauge and the R20 chart


def chart(at, title: str) -> dict[str, int]:
    """The bars of the plotly chart titled ``title``: x label -> y value."""
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        if spec["layout"]["title"]["text"] == title:
            trace = spec["data"][0]
            y = trace["y"]
            if isinstance(y, dict):  # a typed array: base64 bytes and their dtype
                y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
            return dict(zip(trace["x"], (int(v) for v in y), strict=True))
    raise AssertionError(f"no chart titled {title}")


@pytest.mark.parametrize("page", [None, "settings"])
def test_r20_the_12_month_chart_shows_the_seeded_successes_per_month(database, run_app, page):
    """R20 on Overview and Settings: the chart's bars are the successful sends of each
    Japan-time month of the seeded history (one single-part message per recipient), for
    the 12 months up to this one on the product clock; months without sends are 0."""
    seeded = seed_history(database.database_engine(), 600, campaigns=12, months=14, now=NOW)
    expected = {
        f"2026-{m:02d}": seeded.successful_by_month.get(date(2026, m, 1), 0) for m in range(1, 13)
    }
    # Only months the seed left without successes are 0: the chart is not trivially equal.
    assert sum(v > 0 for v in expected.values()) >= 6
    with clock.frozen(NOW):
        at = run_app(page)
        assert not at.exception
        assert chart(at, "月別SMS送信成功数（過去12か月）") == expected


def test_sends_today_leaves_out_scheduled_and_cancelled_messages(with_contract, run_app, data_dir):
    """本日の送信数 counts messages handed to the provider today (Japan time): a send
    scheduled for tomorrow and a cancelled one were created today but are no sends."""
    svc, roster = with_contract, data_dir / "roster_sample_cp932.csv"
    body = "明日の説明会のご案内です。"
    with clock.frozen(NOW):
        tomorrow, later_on = NOW + timedelta(days=1), NOW + timedelta(days=2)
        later = svc.confirm_send(
            svc.draft_send(roster, body=body, name="明日", key="a", send_at=tomorrow),
            actor="test",
        )
        cancelled = svc.confirm_send(
            svc.draft_send(roster, body=body, name="取消", key="b", send_at=later_on),
            actor="test",
        )
        with_contract.cancel(cancelled.id, actor="test")
        assert later.messages > 0
        at = run_app()
        assert not at.exception
        shown = {m.label: m.value for m in at.metric}
        assert shown["本日の送信数"] == "0"


def test_history_lists_campaigns_and_cancels_a_scheduled_one(database, run_app, data_dir):
    seed_demo(database.database_engine())
    draft = database.draft_send(
        data_dir / "roster_sample_cp932.csv",
        body="明日の説明会のご案内です。",
        name="予約テスト",
        key="k",
        send_at=database.now() + timedelta(days=1),
        quiet_policy="defer",
    )
    info = database.confirm_send(draft, actor="test")
    assert info.state == "scheduled"
    at = run_app("history")
    assert not at.exception
    assert select(at, "詳細を見る送信").value == info.id  # newest first
    cancel = next(b for b in at.button if b.label == f"送信 #{info.id} を取り消す")
    # Issue 15: cancelling asks first: the button is off until the box is ticked.
    assert cancel.disabled
    next(c for c in at.checkbox if c.label == "取り消してよろしいですか").check().run()
    cancel = next(b for b in at.button if b.label == f"送信 #{info.id} を取り消す")
    assert not cancel.disabled
    cancel.click().run()
    assert not at.exception
    assert database.progress(info.id).state == "cancelled"
    assert database.progress(info.id).counts == {"cancelled": info.messages}
    # ...and says it is done, on the list that now shows the send as cancelled.
    assert [s.value for s in at.success] == [f"送信 #{info.id} を取り消しました。"]
    assert at.dataframe[0].value["状態"].iloc[0] == "取消"


def test_history_messages_are_masked(database, run_app):
    seed_demo(database.database_engine())
    at = run_app("history")
    messages = message_table(at)
    assert len(messages) > 0
    assert all(str(phone).startswith("*******") for phone in messages["電話番号"])


def test_history_filters_campaigns_by_template_and_messages_by_reason(database, run_app):
    """Issue 5/6: the list narrows to one template's campaigns; a campaign's messages to
    one failure reason, and the export follows the same filters."""
    from sms_core import reports

    seed_demo(database.database_engine())
    at = run_app("history")
    everything = len(at.dataframe[0].value)
    name = _CAMPAIGNS[0][0]
    select(at, "テンプレートで絞り込み").set_value(name).run()
    assert not at.exception
    listed = at.dataframe[0].value
    assert 0 < len(listed) < everything
    assert set(listed["テンプレート"]) == {name}

    campaign = select(at, "詳細を見る送信").value
    failures = reports.failure_reasons(database.database_engine(), campaign_id=campaign)
    assert not failures.empty  # the demo fails about 4 % of its messages
    code, text = failures["error_code"].iloc[0], failures["error_message"].iloc[0]
    select(at, "失敗理由で絞り込み").set_value((code, text)).run()
    assert not at.exception
    messages = message_table(at)
    assert len(messages) == int(failures["messages"].iloc[0])
    # Issue 15: the provider's text as the catalogue's word, the state as a word.
    assert set(messages["失敗理由"]) == {failure_reason(code, text)}
    assert set(messages["状態"]) == {"失敗"}


def test_history_shows_a_campaigns_clicks(database, run_app, data_dir):
    """Issue 3: clicks per campaign and per recipient, click rate in the funnel."""
    from sms_core.linkserver.clicks import follow
    from sms_core.store.models import ShortLink

    seed_demo(database.database_engine())
    draft = database.draft_send(
        data_dir / "roster_sample_cp932.csv",
        body="詳細: {{url:https://example.jp/e}}",
        name="リンク付き",
        key="links",
        quiet_policy="defer",
    )
    info = database.confirm_send(draft, actor="test")
    with database.database_engine().connect() as conn:
        code = (
            conn.execute(
                ShortLink.__table__.select().where(ShortLink.campaign_id == info.id).limit(1)
            )
            .first()
            .code
        )
    assert follow(database.database_engine(), code, "test-agent") is not None
    at = run_app("history")
    assert not at.exception
    assert select(at, "詳細を見る送信").value == info.id
    shown = {m.label: m.value for m in at.metric}
    assert shown["クリックした宛先"] == "1"
    assert shown["短縮URLの宛先"] == f"{info.recipients:,}"
    assert shown["最初のクリック"] != "—"
