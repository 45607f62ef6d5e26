"""The preview page through Streamlit's AppTest: what a user sees for a roster and a body."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sms_core.preview import preview

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "roster_sample_cp932.csv"


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_sample_roster_shows_the_right_counts(app):
    assert not app.exception
    body = app.text_area[0].value
    expected = preview(SAMPLE, body).summary
    shown = metrics(app)
    assert shown["名簿の行数"] == f"{expected.rows:,}"
    assert shown["送信可能"] == f"{expected.eligible:,}"
    assert shown["合計通数"] == f"{expected.total_units:,}"
    assert shown["キャリア分割数"] == f"{expected.total_segments:,}"


def test_editing_the_body_updates_the_cost(app):
    eligible = int(metrics(app)["送信可能"].replace(",", ""))
    app.text_area[0].set_value("{{氏名}}様" + "あ" * 140).run()
    units = int(metrics(app)["合計通数"].replace(",", ""))
    assert units > 2 * eligible  # every recipient now needs three units (R7)
    app.text_area[0].set_value("短い").run()
    assert metrics(app)["合計通数"] == f"{eligible:,}"


def test_unknown_tag_shows_an_error_listing_the_tags(app):
    app.text_area[0].set_value("{{名前}}様").run()
    assert not app.exception
    assert app.error and "{{氏名}}" in app.error[0].value


def test_language_switch_to_english(app):
    app.selectbox[0].set_value("en").run()
    assert "Can receive" in metrics(app)
