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


def _calls(source: str, name: str):
    """Each ``name(...)`` call in ``source`` with its arguments, as text."""
    for match in re.finditer(rf"\b{name}\(", source):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        yield source[match.start() : end]


def test_every_roster_and_body_error_has_its_own_code():
    """A Japanese user is told what is wrong with the file or the body, not only that
    something is: no roster or template error falls back to its class's generic text."""
    generic = []
    for path in (ROOT / "sms_core").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for name in ("RosterError", "TemplateError"):
            for call in _calls(source, name):
                if "key=" not in call and not call.startswith(f"{name}(InputError)"):
                    generic.append(f"{path.relative_to(ROOT)}: {call[:80]}")
    assert not generic, generic


def test_roster_errors_read_in_japanese_with_row_column_and_reason():
    from sms_core.rules.roster import load_roster

    def ja(data: bytes) -> str:
        with pytest.raises(RosterError) as caught:
            load_roster(data)
        text = error_text(caught.value)
        assert text != GENERIC["roster"]["ja"] and GENERIC["roster"]["ja"] not in text
        return text

    header = "応募者ID,氏名,区分,携帯電話番号\n"
    ragged = header + "C1,山田,新卒,09011112222,余分\nC2,佐藤,新卒,09022223333,余分\n"
    assert ja(ragged.encode()) == (
        "2行目・E列: この行は5列ありますが、見出しは4列です。（ほかに同様の行が1行あります）"
    )
    assert ja((header + "C1,山田,正社員,09011112222\n").encode()) == (
        "2行目・「区分」列: 候補者区分が「正社員」です。「新卒」か「中途」を入れてください。"
    )
    assert ja("氏名,携帯電話番号\n山田,09011112222\n".encode("cp932")).startswith(
        "候補者区分の列（区分 / kind。「新卒」か「中途」）がありません。このファイルの列: 氏名、"
    )
    assert ja(b"") == "ファイルが空です。"
    titled = "応募者一覧（11月30日出力）\n\n" + header + "C1,山田,新卒,09011112222\n"
    assert ja(titled.encode()).startswith("3行目: 見出し（列名）が3行目にあります。")


def test_body_errors_read_in_japanese():
    from sms_core.rules.preview import preview
    from sms_core.rules.roster import load_roster

    roster = load_roster("区分,携帯電話番号\n新卒,09011112222\n".encode())
    for body, expected in (
        ("{{氏名", "差し込みタグが「{{」で始まっていますが「}}」で閉じられていません。"),
        ("{{}}", "本文に中身のない差し込みタグ「{{}}」があります。"),
        ("{{url:ftp://x}}", "URLタグ「{{url:ftp://x}}」には http:// または https://"),
        ("あ" * 20_000, "本文が20,000文字あります。"),
    ):
        with pytest.raises(TemplateError) as caught:
            preview(roster, body)
        assert error_text(caught.value).startswith(expected), error_text(caught.value)
