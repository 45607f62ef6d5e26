"""Overview and History on the demo history: figures, pagination, cancel, safe export."""

from __future__ import annotations

from datetime import timedelta

from sms_core.demo import seed_demo
from sms_core.preview import preview


def test_overview_shows_this_months_units_and_the_12_month_chart(database, run_app):
    seed_demo(database.engine)
    status = database.quota()
    at = run_app()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["残り"] == f"{status.remaining:,}"
    assert shown["送信済み"] == f"{status.used:,}"
    assert len(at.get("plotly_chart")) >= 2  # the gauge and the R20 chart


def test_history_lists_campaigns_and_cancels_a_scheduled_one(database, run_app, data_dir):
    seed_demo(database.engine)
    p = preview(data_dir / "roster_sample_cp932.csv", "明日の説明会のご案内です。")
    info = database.confirm(
        p,
        name="予約テスト",
        key="k",
        actor="test",
        send_at=database.now() + timedelta(days=1),
        quiet_policy="defer",
    )
    assert info.state == "scheduled"
    at = run_app("history")
    assert not at.exception
    assert at.selectbox[0].value == info.id  # newest first
    cancel = next(b for b in at.button if b.label == f"送信 #{info.id} を取り消す")
    cancel.click().run()
    assert not at.exception
    assert database.progress(info.id).state == "cancelled"
    assert database.progress(info.id).counts == {"cancelled": info.messages}


def test_history_messages_are_masked(database, run_app):
    seed_demo(database.engine)
    at = run_app("history")
    messages = at.dataframe[-1].value
    assert len(messages) > 0
    assert all(str(phone).startswith("*******") for phone in messages["phone"])


def test_history_shows_a_campaigns_clicks(database, run_app, data_dir):
    """Issue 3: clicks per campaign and per recipient, click rate in the funnel."""
    from sms_core.linkserver.clicks import follow
    from sms_core.models import ShortLink

    seed_demo(database.engine)
    p = preview(data_dir / "roster_sample_cp932.csv", "詳細: {{url:https://example.jp/e}}")
    info = database.confirm(p, name="リンク付き", key="links", actor="test", quiet_policy="defer")
    with database.engine.connect() as conn:
        code = (
            conn.execute(
                ShortLink.__table__.select().where(ShortLink.campaign_id == info.id).limit(1)
            )
            .first()
            .code
        )
    assert follow(database.engine, code, "test-agent") is not None
    at = run_app("history")
    assert not at.exception
    assert at.selectbox[0].value == info.id
    shown = {m.label: m.value for m in at.metric}
    assert shown["クリックした宛先"] == "1"
    assert shown["短縮URLの宛先"] == f"{info.recipients:,}"
    assert shown["最初のクリック"] != "—"
