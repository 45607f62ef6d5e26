"""SMS providers: the interface the dispatch worker uses, and its adapters.

``get_provider()`` returns the provider chosen by ``SMS_PROVIDER`` (``sandbox`` by default,
``karaden`` or ``twilio``), configured from the environment or ``.streamlit/secrets.toml``.
See :mod:`sms_core.providers.base` for the interface and the meaning of each error.
"""

from __future__ import annotations

from sms_core.providers.base import (
    ACCEPTED,
    DELIVERED,
    FAILED,
    STATES,
    Outbound,
    Provider,
    Receipt,
)
from sms_core.providers.factory import get_provider

__all__ = [
    "ACCEPTED",
    "DELIVERED",
    "FAILED",
    "STATES",
    "Outbound",
    "Provider",
    "Receipt",
    "get_provider",
]
