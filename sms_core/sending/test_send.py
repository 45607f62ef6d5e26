"""A test send: one message to one number, to check the provider and the sender end to end.

It is an ordinary campaign of one recipient, so everything a send guarantees holds for it
too: the number is judged by the same rules (a landline or an opted-out number is refused
with its reason), its units come out of the month's quota (R18), confirming twice with the
same key creates it once, the worker hands it to the provider in use, and it appears in the
history with its delivery state. Quiet hours do not apply: it goes to the team's own phone,
not to a candidate.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from sqlalchemy.engine import Engine

from sms_core.errors import InputError
from sms_core.rules.preview import preview
from sms_core.rules.schedule import QuietHours
from sms_core.sending.campaigns import CampaignInfo, confirm_campaign
from sms_core.store.app_settings import provider_in_use, short_url_base_in_use
from sms_core.store.db import transaction
from sms_core.store.suppression import suppressed_numbers

TEST_SEND_NAME = "テスト送信"
# The one-row roster's candidate: merge tags of templates ({{氏名}}) render with it.
TEST_NAME = "テスト"
_NO_QUIET_HOURS = QuietHours.parse("00:00-00:00")


def confirm_test_send(
    engine: Engine, number: str, body: str, *, key: str, actor: str
) -> CampaignInfo:
    """Confirm a test send of ``body`` to the mobile ``number`` now, through the provider
    in use. Raises InputError naming the reason when the number cannot receive it, and
    QuotaError / StateError as any send does. Idempotent on ``key``."""
    if not number or not number.strip():
        raise InputError("give the mobile number to send the test message to")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["応募者ID", "氏名", "区分", "携帯電話番号"])
    writer.writerow(["TEST", TEST_NAME, "新卒", number.strip()])
    with transaction(engine) as session:
        blocked = suppressed_numbers(session)
    result = preview(
        buffer.getvalue().encode("utf-8"),
        body,
        suppressed=blocked,
        short_url_base=short_url_base_in_use(engine),
    )
    if not result.summary.eligible:
        reason = next(code for code, n in result.summary.reasons.items() if n)
        raise InputError(f"{number.strip()} cannot receive a test send (reason: {reason})")
    return confirm_campaign(
        engine,
        result,
        name=f"{TEST_SEND_NAME} ****{_digits(number)[-4:]}",
        idempotency_key=key,
        actor=actor,
        provider=provider_in_use(engine),
        quiet=_NO_QUIET_HOURS,
    )


def _digits(number: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", number) if c.isdigit())
