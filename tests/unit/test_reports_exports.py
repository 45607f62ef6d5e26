"""sms_core.reports imports each report on first use (a lookup needs neither pandas nor
plotly): every name it exports is found, in the module its table names."""

from __future__ import annotations

import importlib

import sms_core.reports as reports


def test_every_export_is_found_where_the_table_says():
    assert set(reports._HOME_OF) | {"is_missing", "MESSAGE_STATES"} == set(reports.__all__)
    for name, module in reports._HOME_OF.items():
        home = importlib.import_module(f"sms_core.reports.{module}")
        assert getattr(reports, name) is getattr(home, name), name


def test_an_unknown_name_is_an_attribute_error():
    try:
        reports.no_such_report  # noqa: B018
    except AttributeError as exc:
        assert "no_such_report" in str(exc)
    else:
        raise AssertionError("an unknown report name must not be found")
