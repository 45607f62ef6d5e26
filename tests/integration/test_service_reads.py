"""Issue 11: every read a page shows is a service method that checks the role, on both
databases; and R16's "contract in force" is one function the dashboard and CLI share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

import pytest

from sms_core import clock
from sms_core.demo.seed import seed_history
from sms_core.roles import Principal
from sms_core.sending.contract import active_contract, contract_has_ended
from sms_core.service import SmsService
from sms_core.store.db import transaction
from sms_core.store.models import CONTRACT_ID, Contract

# 12:00 on 10 December 2026 in Japan.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


class Recorder(Principal):
    """An analyst who notes every permission the service asks it for."""

    __slots__ = ()
    asked: ClassVar[list[str]] = []

    def require(self, permission: str) -> None:
        Recorder.asked.append(permission)
        super().require(permission)


def page_reads(svc: SmsService, campaign: int) -> dict[str, object]:
    """Every read the pages make (overview, history, settings, templates, admin, audit)."""
    return {
        "quota": svc.quota,
        "contract": svc.contract,
        "active_contract": svc.active_contract,
        "has_active_contract": svc.has_active_contract,
        "sends_today": svc.sends_today,
        "monthly_success": lambda: svc.monthly_success(12),
        "daily_sends": lambda: svc.daily_sends(30, campaign_id=campaign),
        "recent_failures": svc.recent_failures,
        "failure_reasons": lambda: svc.failure_reasons(campaign),
        "funnel": lambda: svc.funnel(campaign),
        "campaign_templates": svc.campaign_templates,
        "campaign_count": svc.campaign_count,
        "campaign_page": lambda: svc.campaign_page(20, 0),
        "campaign_click_summary": lambda: svc.campaign_click_summary(campaign),
        "campaign_clicks": lambda: svc.campaign_clicks(campaign),
        "campaign_message_count": lambda: svc.campaign_message_count(campaign, state=None),
        "campaign_messages": lambda: svc.campaign_messages(campaign, limit=5),
        "templates": svc.templates,
        "settings": svc.settings,
        "progress": lambda: svc.progress(campaign),
    }


def test_every_page_read_checks_the_role(engine):
    seeded = seed_history(engine, 200, campaigns=4, months=3, now=NOW)
    base = SmsService(engine)
    analyst = base.for_user(Recorder("ana", "analyst"))
    with clock.frozen(NOW):
        for name, read in page_reads(analyst, seeded.campaign_ids[-1]).items():
            Recorder.asked.clear()
            read()
            assert "read" in Recorder.asked, f"{name} reads without checking the role"
        # Analysts see numbers masked but the last 4 digits, whatever the page asks.
        messages = analyst.campaign_messages(seeded.campaign_ids[-1], limit=5)
        assert len(messages) and all(str(p).startswith("*******") for p in messages["phone"])
        assert analyst.sends_today() >= 0


def test_the_engine_is_private():
    assert not hasattr(SmsService, "engine") and not hasattr(SmsService, "reader")


def test_r16_a_contract_that_has_ended_counts_as_none(engine):
    """R16: a 3-month contract from September 2026 ends with November: on 30 November at
    23:59 Japan time it is in force, one minute later (1 December) it is not."""
    svc = SmsService(engine)
    with clock.frozen(datetime(2026, 9, 1, tzinfo=UTC)):
        svc.set_contract(1000, date(2026, 9, 1), 3, "shared", None, actor="test")
    last_minute = datetime(2026, 11, 30, 14, 59, tzinfo=UTC)  # 23:59 JST, 30 November
    with clock.frozen(last_minute):
        assert svc.has_active_contract() and svc.active_contract() is not None
        assert not svc.contract().ended
    with clock.frozen(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)):  # 00:00 JST, 1 December
        assert not svc.has_active_contract()
        assert svc.active_contract() is None
        view = svc.contract()
        assert view is not None and view.ended and view.end_month == date(2026, 11, 1)
        with transaction(engine) as s:
            assert active_contract(s) is None
            assert contract_has_ended(s.get(Contract, CONTRACT_ID))
            assert active_contract(s, last_minute) is not None
    # A contract that starts next month has not ended: it can take scheduled sends.
    with clock.frozen(datetime(2026, 11, 30, 15, 0, tzinfo=UTC)):
        svc.set_contract(1000, date(2027, 1, 1), 3, "shared", None, actor="test")
        assert svc.has_active_contract()


@pytest.mark.parametrize("role", ["admin", "operator", "analyst"])
def test_figures_come_from_the_service(engine, role):
    svc = SmsService(engine).for_user(Principal(f"{role}-1", role))
    figure = svc.figure("monthly_success", svc.monthly_success(12), "en")
    assert len(figure.data[0].x) == 12
