"""Issue 15: the product's errors carry a stable code and parameters and are rendered in
the user's language; Japanese never shows an internal id or a rule id."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
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


# The modules a person reaches from the dashboard (pages → sms_core/service*.py) or from
# the command line in Japanese (SMS_LANG=ja): each error raised there says what is wrong.
PERSON_FACING = (
    "sms_core/rules/text.py",
    "sms_core/rules/plan.py",
    "sms_core/rules/preview.py",
    "sms_core/rules/schedule.py",
    "sms_core/sending/campaigns.py",
    "sms_core/sending/quota.py",
    "sms_core/sending/reschedule.py",
    "sms_core/sending/resend.py",
    "sms_core/sending/retention.py",
    "sms_core/sending/contract.py",
    "sms_core/sending/send_case.py",
    "sms_core/sending/ratelimit.py",
    "sms_core/store/app_settings.py",
    "sms_core/store/suppression.py",
    "sms_core/reports/lookup.py",
    "sms_core/service.py",
    "sms_core/service_ops.py",
    "sms_core/roles.py",
)
# Raised in those modules only when the calling code is wrong, never by what a person
# types or chooses, so their class's generic text is enough: each call's start, by module.
PROGRAMMER_ONLY = {
    # Unreachable: the URL length check before it makes every end reachable.
    "sms_core/rules/text.py": ('InputError("The message cannot be split',),
    "sms_core/sending/campaigns.py": (
        'InputError(f"the quiet-hours choice',  # pages and CLI offer only the choices
        'InputError("a send time needs its time zone',  # both pass aware times
        'InputError("a deadline needs its time zone',
    ),
    # The ledger's own arguments and bookkeeping, not a person's request.
    "sms_core/sending/quota.py": (
        'InputError(f"a quota month is the first day',
        'InputError(f"units to reserve must be',
        'InputError(f"units must not be negative',
        'StateError( f"cannot {action}',
    ),
    "sms_core/roles.py": ('InputError(f"unknown permission',),
    "sms_core/service.py": ('InputError(f"no chart called',),
    "sms_core/store/suppression.py": ('InputError(f"an opt-out comes from one of',),
}


def test_every_error_a_person_can_meet_has_its_own_code():
    """A Japanese user is told what is wrong with the time, the body, the quota, a setting
    or a lookup, not only that something is: no InputError, StateError or QuotaError of a
    person-facing module falls back to its class's generic text (「入力内容に誤りが…」, or
    a shortfall for a month that is simply outside the contract)."""
    generic, allowed_seen = [], set()
    for module in PERSON_FACING:
        source = (ROOT / module).read_text(encoding="utf-8")
        for name in ("InputError", "StateError", "QuotaError"):
            for call in _calls(source, name):
                if "key=" in call:
                    continue
                flat = " ".join(call.split())
                allowed = [a for a in PROGRAMMER_ONLY.get(module, ()) if flat.startswith(a)]
                if allowed:
                    allowed_seen.update((module, a) for a in allowed)
                else:
                    generic.append(f"{module}: {flat[:90]}")
    assert not generic, generic
    listed = {(module, a) for module, starts in PROGRAMMER_ONLY.items() for a in starts}
    assert listed == allowed_seen, f"allowed but no longer raised: {listed - allowed_seen}"


def _ja(exc: SmsError) -> str:
    """``exc`` in Japanese, checked not to be its class's generic text."""
    text = error_text(exc)
    for entry in GENERIC.values():
        assert entry["ja"] not in text, text
    assert "この送信には0通" not in text and "残りは0通です（" not in text, text
    return text


def test_send_times_read_in_japanese_with_the_time_as_pages_show_it():
    from sms_core.rules.schedule import JST, QuietHours
    from sms_core.sending.campaigns import check_deadline, resolve_send_time

    now = datetime(2026, 11, 30, 12, 0, tzinfo=JST)
    quiet = QuietHours.parse("21:00-08:00")
    with pytest.raises(InputError) as past:
        resolve_send_time(datetime(2026, 11, 30, 9, 0, tzinfo=JST), now=now, quiet=quiet)
    assert str(past.value) == "2026-11-30 09:00 (Japan time) has already passed"
    assert _ja(past.value) == (
        "2026/11/30 09:00（日本時間）はすでに過ぎています。これから先の日時を指定してください。"
    )
    with pytest.raises(InputError) as night:
        resolve_send_time(datetime(2026, 11, 30, 22, 0, tzinfo=JST), now=now, quiet=quiet)
    assert _ja(night.value).startswith(
        "2026/11/30 22:00は送信停止時間帯（21:00–08:00、日本時間）に入っています。"
    )
    with pytest.raises(InputError) as deadline:
        check_deadline(
            datetime(2026, 12, 1, 9, 0, tzinfo=JST), datetime(2026, 12, 1, 10, 0, tzinfo=JST)
        )
    assert _ja(deadline.value) == (
        "送信期限（2026/12/01 09:00）は送信開始（2026/12/01 10:00、日本時間）より後にしてください。"
    )


def test_body_length_errors_of_the_splitter_read_in_japanese():
    from sms_core.rules import text

    with pytest.raises(InputError) as long:
        text.cost("あ" * (text.MAX_BODY_CHARS + 1))
    assert _ja(long.value) == "本文が6,601文字あります。1回の送信で送れるのは6,600文字までです。"
    with pytest.raises(InputError) as empty:
        text.cost("")
    assert _ja(empty.value) == "本文が空です。空のSMSは送信できません。"
    with pytest.raises(InputError) as url:
        text.split_message("ご案内 https://example.com/" + "a" * 700)
    assert _ja(url.value).startswith(
        "URLが720文字あり、1通（660文字）に収まりません。URLを短くしてください: https://example.com/aaa"
    )


@pytest.fixture
def sqlite_engine(migrated_sqlite_url):
    from sms_core.store.db import make_engine

    engine = make_engine(migrated_sqlite_url)
    yield engine
    engine.dispose()


NOV, JAN, FEB = date(2026, 11, 1), date(2027, 1, 1), date(2027, 2, 1)
IN_NOVEMBER = datetime(2026, 11, 10, 3, 0, tzinfo=UTC)


def _quota_error(engine, action) -> QuotaError:
    from sms_core.store.db import transaction

    with pytest.raises(QuotaError) as caught, transaction(engine) as session:
        action(session)
    return caught.value


def test_quota_refusals_read_in_japanese_and_outside_the_contract_is_no_shortfall(
    sqlite_engine,
):
    """A month outside the contract is said to be outside it, also through the reservation
    every send and edit makes (reserve_units), never as 'N needed but 0 remain'."""
    from sms_core.sending import quota
    from sms_core.sending.campaigns import reserve_units
    from sms_core.sending.contract import set_contract
    from sms_core.store.db import transaction

    no_contract = _quota_error(sqlite_engine, lambda s: quota.reserve(s, NOV, 1))
    assert _ja(no_contract).startswith("SMSの契約が登録されていません。")
    with transaction(sqlite_engine) as session:
        set_contract(session, 50, NOV, 3, actor="test", now=IN_NOVEMBER)  # Nov to Jan
    outside = (
        "2027-02はSMSの契約期間（2026-11〜2027-01）外のため、送信できません。"
        "契約期間内の日時を選ぶか、「設定」で契約を見直してください。"
    )
    direct = _quota_error(sqlite_engine, lambda s: quota.reserve(s, FEB, 30))
    assert _ja(direct) == outside
    via_send = _quota_error(sqlite_engine, lambda s: reserve_units(s, FEB, 30, what="this send"))
    assert str(via_send).startswith("2027-02 is outside the SMS contract (2026-11 to 2027-01)")
    assert _ja(via_send) == outside
    with transaction(sqlite_engine) as session:
        quota.reserve(session, JAN, 45)
    short = _quota_error(sqlite_engine, lambda s: reserve_units(s, JAN, 8, what="this send"))
    assert "3 short. Nothing was sent." in str(short)
    assert _ja(short) == (
        "2027-01の残りは5通で、この送信に必要な8通に3通足りません。送信は行われていません。"
    )
    edit = _quota_error(
        sqlite_engine,
        lambda s: reserve_units(
            s, JAN, 8, what="the edited send", nothing="changed", key="quota.short_edit"
        ),
    )
    assert _ja(edit).endswith("変更は保存されていません。")
    fewer = _quota_error(
        sqlite_engine, lambda s: set_contract(s, 40, NOV, 3, actor="t", now=IN_NOVEMBER)
    )
    assert _ja(fewer) == (
        "月間通数を40通にはできません。2027-01はすでに45通が使用済みまたは予約済みです。"
    )
    shorter = _quota_error(
        sqlite_engine, lambda s: set_contract(s, 50, FEB, 3, actor="t", now=IN_NOVEMBER)
    )
    assert _ja(shorter).startswith(
        "新しい契約期間（2027-02〜2027-04）には2027-01が含まれませんが、"
        "2027-01にはすでに45通の使用または予約があります。"
    )


def test_settings_refusals_read_in_japanese(sqlite_engine):
    from sms_core.store.app_settings import set_setting
    from sms_core.store.db import transaction

    def refused(key: str, value: str) -> str:
        with pytest.raises(InputError) as caught, transaction(sqlite_engine) as session:
            set_setting(session, key, value, actor="admin")
        return _ja(caught.value)

    assert refused("unit_price_yen", "八円") == (
        "単価は1通あたりの円で、「8」や「7.5」のように数字で入力してください（入力: 八円）。"
    )
    assert refused("unit_price_yen", "7.555") == (
        "単価は0〜10,000円、小数点以下2桁までで入力してください（入力: 7.555）。"
    )
    assert refused("frequency_cap", "0") == (
        "1日あたりの送信上限は1〜100の整数で入力してください（入力: 0）。"
    )
    assert refused("notify_quota_ratio", "150%").startswith("しきい値は0〜1（0%〜100%）")
    assert refused("notify_format", "email").startswith("通知の形式は Slack か Teams")


def test_lookup_and_recipient_choices_read_in_japanese():
    from sms_core.reports.lookup import lookup_phone
    from sms_core.rules.plan import plan_send
    from sms_core.rules.preview import preview

    with pytest.raises(InputError) as caught:
        lookup_phone("山田")
    assert _ja(caught.value) == "「山田」は検索できる電話番号ではありません。"
    draft = preview("区分,携帯電話番号\n新卒,09011112222\n新卒,0312345678\n".encode(), "こんにちは")
    with pytest.raises(InputError) as blocked:
        plan_send(draft, rows=[1])
    assert _ja(blocked.value) == "3行目の宛先にはSMSを送れません。"
