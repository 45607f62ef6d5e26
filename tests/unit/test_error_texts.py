"""Issue 15: the product's errors carry a stable code and parameters and are rendered in
the user's language; Japanese never shows an internal id or a rule id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sms_core.error_texts import ERRORS, GENERIC
from sms_core.errors import (
    AccessError,
    ConfigError,
    InputError,
    ProviderPermanent,
    ProviderTransient,
    QuotaError,
    RosterError,
    SmsError,
    StateError,
    TemplateError,
)
from sms_core.i18n import error_text

ROOT = Path(__file__).resolve().parents[2]
RAISED_KEY = re.compile(r"""\bkey=["']([a-z0-9_.]+)["']""")


def test_every_class_has_a_stable_code_and_a_japanese_text():
    for cls in (SmsError, InputError, RosterError, TemplateError, ConfigError, QuotaError):
        assert cls.key in GENERIC and GENERIC[cls.key]["ja"]
    for cls in (AccessError, StateError, ProviderPermanent, ProviderTransient):
        assert cls.key in GENERIC


def test_a_code_given_where_it_is_raised_wins_and_keeps_its_params():
    err = InputError("the file is empty", key="roster.empty", name="a.csv")
    assert (err.key, err.params) == ("roster.empty", {"name": "a.csv"})
    assert str(err) == "the file is empty"
    assert InputError("x").key == "input"


def test_a_provider_error_passes_a_code_given_where_raised_and_its_params_on():
    """Provider errors add their own keywords (code, retry_after) and still hand ``key``
    and the params to SmsError, as every other error does."""
    err = ProviderTransient("busy", code="429", retry_after=2.0, key="provider.busy", status=429)
    assert (err.key, err.code, err.retry_after) == ("provider.busy", "429", 2.0)
    assert err.params == {"status": 429}
    assert ProviderPermanent("no", key="provider.refused").key == "provider.refused"
    assert ProviderPermanent("no", code="21211").key == ProviderPermanent.key


def test_english_is_the_errors_own_text_and_japanese_comes_from_the_catalogue():
    err = QuotaError("this send needs 30 units but 10 remain", needed=30, remaining=10)
    assert error_text(err, "en") == str(err)
    assert error_text(err) == (
        "この送信には30通が必要ですが、残りは10通です（20通不足）。送信は行われていません。"
    )
    assert err.params["shortfall"] == 20


def test_a_roster_error_names_its_row_and_column_in_japanese():
    err = RosterError("not a phone number", row=12, column="携帯電話番号")
    ja = error_text(err)
    assert ja.startswith("12行目・「携帯電話番号」列: ")
    assert error_text(err, "en").startswith("row 12, column '携帯電話番号'")
    assert error_text(RosterError("x", row=3)).startswith("3行目: ")


def test_missing_params_never_break_a_text_and_unknown_codes_fall_back_to_their_class():
    assert (
        error_text(TemplateError("unknown tag {{x}}", key="no.such.code"))
        == GENERIC["template"]["ja"]
    )
    assert error_text(QuotaError("short")).startswith("この送信には0通")


def test_an_unexpected_exception_is_never_shown_as_its_trace_or_text():
    assert "Traceback" not in error_text(RuntimeError("boom"))
    assert "boom" not in error_text(RuntimeError("boom"))


@pytest.mark.parametrize("lang", ["ja"])
def test_every_code_raised_in_sms_core_has_a_text(lang):
    raised = set()
    for path in (ROOT / "sms_core").rglob("*.py"):
        raised.update(RAISED_KEY.findall(path.read_text(encoding="utf-8")))
    missing = sorted(code for code in raised if lang not in ERRORS.get(code, {}))
    assert not missing, f"codes without a {lang} text in sms_core/error_texts.py: {missing}"


def test_no_japanese_text_leaks_a_rule_id_or_an_internal_name():
    for entry in [*ERRORS.values(), *GENERIC.values()]:
        text = entry["ja"]
        assert not re.search(r"\bR\d+\b", text), text
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text  # snake_case ids
