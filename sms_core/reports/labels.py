"""Report frames as people read them: catalogue headers, words for codes, Japan times.

The reports keep stable English column names and codes (R3: codes stay in data); the
dashboard's tables and the exports in Japanese or English go through :func:`labelled`.
Times become ``2026/12/01 10:00`` Japan time (Excel reads that as a date), kinds
新卒/中途, states and failure reasons words, and a missing value an empty cell.
"""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from sms_core.i18n import display_time, failure_reason, t
from sms_core.sending.quota import format_month

# Which columns each table shows, in order; a column the frame lacks is skipped.
TABLES: dict[str, tuple[str, ...]] = {
    "campaigns": (
        "campaign_id", "name", "template_name", "state", "scheduled_at", "created_at",
        "quota_month", "recipients", "units_used", "units_reserved", "delivered", "failed",
        "unknown", "cancelled",
    ),
    "upcoming": ("campaign_id", "name", "scheduled_at", "recipients", "units_reserved"),
    "messages": (
        "message_id", "candidate_id", "name", "kind", "phone", "body", "units", "part",
        "state", "reason", "attempts", "created_at", "accepted_at", "delivered_at",
        "failed_at",
    ),
    # The export keeps the provider's own code and text next to the reason in words.
    "messages_export": (
        "message_id", "recipient_row", "candidate_id", "name", "kind", "phone", "body",
        "units", "part", "state", "reason", "error_code", "error_message", "attempts",
        "created_at", "accepted_at", "delivered_at", "failed_at", "clicks",
        "first_click_at", "last_click_at",
    ),
    "clicks": ("candidate_id", "name", "links", "clicks", "first_click_at", "last_click_at"),
}  # fmt: skip

# A column whose header is not ``col.<column>`` in this table.
_HEADERS = {
    ("campaigns", "name"): "col.send_name",
    ("upcoming", "name"): "col.send_name",
    ("messages", "name"): "col.person",
    ("messages_export", "name"): "col.person",
    ("clicks", "name"): "col.person",
}
_CAMPAIGN_TABLES = ("campaigns", "upcoming")


def _cell(value: object, convert) -> object:
    # pd.isna is typed per kind of value; here any scalar a report cell can hold.
    if value is None or (not isinstance(value, str) and pd.isna(cast(Any, value))):
        return ""
    return convert(value)


def labelled(frame: pd.DataFrame, table: str, lang: str = "ja") -> pd.DataFrame:
    """``frame`` (a report's DataFrame) as the ``table`` people see, in ``lang``."""
    df = frame.copy()
    if "part_index" in df and "part_count" in df:
        df["part"] = [
            f"{i}/{n}" if n and n > 1 else ""
            for i, n in zip(df["part_index"], df["part_count"], strict=True)
        ]
    if "error_message" in df or "error_code" in df:
        codes = df["error_code"] if "error_code" in df else [None] * len(df)
        texts = df["error_message"] if "error_message" in df else [None] * len(df)
        df["reason"] = [failure_reason(c, m, lang) for c, m in zip(codes, texts, strict=True)]
    out = pd.DataFrame(index=df.index)
    for column in TABLES[table]:
        if column not in df:
            continue
        values = df[column]
        if column == "campaign_id" or column == "message_id":
            values = values.map(lambda v: _cell(v, lambda x: f"#{int(x)}"))
        elif column == "kind":
            values = values.map(lambda v: _cell(v, lambda x: t(f"kind.{x}", lang)))
        elif column == "state":
            prefix = "campaign" if table in _CAMPAIGN_TABLES else "message"
            values = values.map(lambda v, p=prefix: _cell(v, lambda x: t(f"{p}.{x}", lang)))
        elif column == "quota_month":
            values = values.map(lambda v: _cell(v, format_month))
        elif column == "recipient_row":
            # The spreadsheet row people see: the header is row 1, the first candidate 2.
            values = values.map(lambda v: _cell(v, lambda x: int(x) + 2))
        elif column.endswith("_at"):
            values = values.map(lambda v: _cell(v, display_time))
        elif values.dtype == object or str(values.dtype) in ("str", "string"):
            values = values.map(lambda v: _cell(v, str))
        header = _HEADERS.get((table, column), f"col.{column}")
        out[t(header, lang)] = values
    return out.reset_index(drop=True)
