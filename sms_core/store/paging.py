"""Validated pagination, shared by every listing (reports, audit trail, history)."""

from __future__ import annotations

from sms_core.errors import InputError


def page(limit: int, offset: int) -> tuple[int, int]:
    """Validated pagination: 1 ≤ limit ≤ 10,000 and offset ≥ 0."""
    for name, value, low in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be a whole number ≥ {low}, not {value!r}")
    if limit > 10_000:
        raise InputError(f"limit is at most 10,000 rows a page, not {limit}")
    return limit, offset
