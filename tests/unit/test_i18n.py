"""Every UI string exists in Japanese and English; every reason code has words (R3)."""

from __future__ import annotations

from sms_core import i18n
from sms_core.rules.preview import REASONS


def test_every_key_has_both_languages():
    assert i18n.missing_translations() == []


def test_r3_every_reason_code_is_shown_as_words():
    for code in REASONS:
        assert i18n.t(f"reason.{code}", "ja") != code
        assert i18n.t(f"reason.{code}", "en") != code
