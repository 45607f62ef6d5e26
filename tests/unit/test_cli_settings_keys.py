"""The command line lists the settings' keys itself (building its parser must not import
the store); they are exactly the store's settings, in the same order."""

from __future__ import annotations

from sms_core.cli.settings import KEYS
from sms_core.store.app_settings import SETTINGS


def test_the_cli_offers_every_setting_and_no_other():
    assert tuple(SETTINGS) == KEYS
