"""``get_provider()``: the provider named by ``SMS_PROVIDER``, built from its settings.

========  ==============================================================================
sandbox   ``path`` (SMS_SANDBOX_PATH), ``delivery_delay`` (SMS_SANDBOX_DELIVERY_DELAY)
karaden   ``token`` (SMS_KARADEN_TOKEN, secret), ``tenant_id`` (SMS_KARADEN_TENANT_ID),
          ``service_id`` (SMS_KARADEN_SERVICE_ID), ``dedicated_service_id``
          (SMS_KARADEN_DEDICATED_SERVICE_ID), ``base_url`` (SMS_KARADEN_BASE_URL)
twilio    ``account_sid`` (SMS_TWILIO_ACCOUNT_SID), ``auth_token`` (SMS_TWILIO_AUTH_TOKEN,
          secret), ``from_number`` (SMS_TWILIO_FROM), ``messaging_service_sid``
          (SMS_TWILIO_MESSAGING_SERVICE_SID), ``status_callback``
          (SMS_TWILIO_STATUS_CALLBACK), ``base_url`` (SMS_TWILIO_BASE_URL)
========  ==============================================================================

Karaden and Twilio also take ``connect_timeout`` and ``read_timeout`` in seconds
(SMS_PROVIDER_CONNECT_TIMEOUT, SMS_PROVIDER_READ_TIMEOUT; default 5 and 30). Each setting may
also be given in ``[providers.<name>]`` of ``.streamlit/secrets.toml``; see
:mod:`sms_core.providers.settings` for the order and for why credentials cannot be passed as
arguments.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from sms_core.errors import ConfigError
from sms_core.providers.base import Provider
from sms_core.providers.settings import DEFAULT_TIMEOUT, Setting, Timeout, load_settings

__all__ = ["DEFAULT_PROVIDER", "PROVIDERS", "get_provider"]

DEFAULT_PROVIDER = "sandbox"
ENV_PROVIDER = "SMS_PROVIDER"

_TIMEOUTS = (
    Setting(
        "connect_timeout", "SMS_PROVIDER_CONNECT_TIMEOUT", default=str(DEFAULT_TIMEOUT.connect)
    ),
    Setting("read_timeout", "SMS_PROVIDER_READ_TIMEOUT", default=str(DEFAULT_TIMEOUT.read)),
)
PROVIDERS: dict[str, tuple[Setting, ...]] = {
    "sandbox": (
        Setting("path", "SMS_SANDBOX_PATH"),
        Setting("delivery_delay", "SMS_SANDBOX_DELIVERY_DELAY"),
    ),
    "karaden": (
        Setting("token", "SMS_KARADEN_TOKEN", required=True, secret=True),
        Setting("tenant_id", "SMS_KARADEN_TENANT_ID", required=True),
        Setting("service_id", "SMS_KARADEN_SERVICE_ID", required=True),
        Setting("dedicated_service_id", "SMS_KARADEN_DEDICATED_SERVICE_ID"),
        Setting("base_url", "SMS_KARADEN_BASE_URL"),
        *_TIMEOUTS,
    ),
    "twilio": (
        Setting("account_sid", "SMS_TWILIO_ACCOUNT_SID", required=True),
        Setting("auth_token", "SMS_TWILIO_AUTH_TOKEN", required=True, secret=True),
        Setting("from_number", "SMS_TWILIO_FROM"),
        Setting("messaging_service_sid", "SMS_TWILIO_MESSAGING_SERVICE_SID"),
        Setting("status_callback", "SMS_TWILIO_STATUS_CALLBACK"),
        Setting("base_url", "SMS_TWILIO_BASE_URL"),
        *_TIMEOUTS,
    ),
}


def provider_name(environ: Mapping[str, str] | None = None) -> str:
    """The configured provider's name (``$SMS_PROVIDER``, else ``sandbox``), checked."""
    environ = os.environ if environ is None else environ
    chosen = (environ.get(ENV_PROVIDER, "").strip() or DEFAULT_PROVIDER).lower()
    if chosen not in PROVIDERS:
        raise ConfigError(
            f"unknown SMS provider '{chosen}' ({ENV_PROVIDER}); choose one of: "
            f"{', '.join(PROVIDERS)}"
        )
    return chosen


def get_provider(
    name: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    secrets_path: Path | str | None = None,
    **overrides: object,
) -> Provider:
    """The provider ``name`` (default ``$SMS_PROVIDER``, else ``sandbox``), ready to use.

    ``overrides`` replace non-secret settings (e.g. ``base_url`` in tests). Raises
    :class:`~sms_core.errors.ConfigError` for an unknown provider or a missing or malformed
    setting; the message names the setting, never its value.
    """
    environ = os.environ if environ is None else environ
    chosen = (name or environ.get(ENV_PROVIDER, "").strip() or DEFAULT_PROVIDER).lower()
    if chosen not in PROVIDERS:
        raise ConfigError(
            f"unknown SMS provider '{chosen}' ({ENV_PROVIDER}); choose one of: "
            f"{', '.join(PROVIDERS)}"
        )
    s = load_settings(
        chosen, PROVIDERS[chosen], overrides, environ=environ, secrets_path=secrets_path
    )
    if chosen == "sandbox":
        from sms_core.providers.sandbox import DEFAULT_DELIVERY_DELAY, SandboxProvider

        delay = s["delivery_delay"]
        return SandboxProvider(
            s["path"],  # type: ignore[arg-type]
            delivery_delay=DEFAULT_DELIVERY_DELAY
            if delay is None
            else _seconds(chosen, "delivery_delay", delay, zero_ok=True),
        )
    timeout = Timeout(
        _seconds(chosen, "connect_timeout", s["connect_timeout"]),
        _seconds(chosen, "read_timeout", s["read_timeout"]),
    )
    extra = {"base_url": s["base_url"]} if s["base_url"] else {}
    if chosen == "karaden":
        from sms_core.providers.karaden import KaradenProvider

        return KaradenProvider(
            token=s["token"],  # type: ignore[arg-type]
            tenant_id=str(s["tenant_id"]),
            service_id=str(s["service_id"]),
            dedicated_service_id=s["dedicated_service_id"],  # type: ignore[arg-type]
            timeout=timeout,
            **extra,  # type: ignore[arg-type]
        )
    from sms_core.providers.twilio import TwilioProvider

    return TwilioProvider(
        account_sid=str(s["account_sid"]),
        auth_token=s["auth_token"],  # type: ignore[arg-type]
        from_number=s["from_number"],  # type: ignore[arg-type]
        messaging_service_sid=s["messaging_service_sid"],  # type: ignore[arg-type]
        status_callback=s["status_callback"],  # type: ignore[arg-type]
        timeout=timeout,
        **extra,  # type: ignore[arg-type]
    )


def _seconds(provider: str, key: str, value: object, *, zero_ok: bool = False) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and (seconds > 0 or (zero_ok and seconds == 0))):
        least = "≥ 0" if zero_ok else "> 0"
        raise ConfigError(
            f"the {provider} setting '{key}' must be a number of seconds {least}",
            key="provider.seconds",
            provider=provider,
        )
    return seconds
